import { ConversationCache } from '@chat/cache';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { QueryFailedError, type DataSource, type Repository } from 'typeorm';
import { AiService } from '../ai/ai.service.js';
import type { ModelMessage, ModelRequest, ModelResponse, ModelToolCall } from '../ai/model-provider.js';
import type { OwnerId } from '../auth/owner.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { AppError, invalidInput, notFound } from '../common/app-error.js';
import { ConversationService } from '../conversations/conversation.service.js';
import { ConversationEntity } from '../database/entities/conversation.entity.js';
import { MessageEntity, type MessageRole, type StoredToolCall } from '../database/entities/message.entity.js';
import { ToolService } from '../tools/tool.service.js';

/** How many earlier messages the model is shown. */
const HISTORY_WINDOW = 100;
/** The newest messages kept in the conversation cache: the largest page (200) plus one to know if there is more. */
const NEWEST_DEPTH = 201;

export interface MessagePage {
  items: MessageEntity[];
  nextCursor: string | null;
}

export interface ReplyOptions {
  content: string;
  /** `false`: bypass the AI-response cache. */
  cache?: boolean;
  /** Cancels the model call (e.g. the client disconnected from a stream). */
  signal?: AbortSignal;
}

/** What a streaming caller hears while the reply is produced. */
export interface ReplyListener {
  /** The user message is stored (durable) and the model is about to be called. */
  onUserMessage?(message: MessageEntity): void;
  onDelta?(text: string): void;
  onToolCall?(call: ModelToolCall): void;
  onToolResult?(result: { toolCallId: string; name: string; content: string }): void;
}

export interface Reply {
  userMessage: MessageEntity;
  assistantMessage: MessageEntity;
  cached: boolean;
}

interface MessageDraft {
  role: MessageRole;
  content: string;
  toolCalls?: StoredToolCall[];
  toolCallId?: string;
  model?: string;
  cached?: boolean;
}

/**
 * A conversation's messages, and the reply loop: store the user message first (it is durable before
 * any answer is attempted), ask the model, run the tools it calls, store calls and results as
 * messages, and stop after a bounded number of rounds.
 */
@Injectable()
export class MessageService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(MessageEntity) private readonly messages: Repository<MessageEntity>,
    private readonly conversations: ConversationService,
    private readonly ai: AiService,
    private readonly tools: ToolService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cache: ConversationCache,
  ) {}

  /** The newest messages, oldest first, through the conversation cache (a write anywhere drops it). */
  private async newest(owner: OwnerId, conversationId: string): Promise<MessageEntity[]> {
    const { value } = await this.cache.newestMessages(owner, conversationId, async () => {
      const rows = await this.messages.find({
        where: { conversationId, userId: owner },
        order: { seq: 'DESC' },
        take: NEWEST_DEPTH,
      });
      return rows.reverse();
    });
    return value;
  }

  /** A page of messages, oldest first, ending just before `before` (or at the newest). */
  async page(owner: OwnerId, conversationId: string, limit: number, before?: string): Promise<MessagePage> {
    const conversation = await this.conversations.get(owner, conversationId);
    if (before === undefined) {
      // The first page, the one every client opens with, comes from the cache.
      const newest = await this.newest(owner, conversation.id);
      const items = newest.slice(-limit);
      return { items, nextCursor: newest.length > limit ? (items[0]?.id ?? null) : null };
    }
    const anchor = await this.messages.findOne({
      where: { id: before, conversationId: conversation.id, userId: owner },
      select: { seq: true },
    });
    if (anchor === null) throw invalidInput('before must be the id of a message in this conversation');
    const rows = await this.messages
      .createQueryBuilder('m')
      .where('m.conversation_id = :conversationId AND m.user_id = :owner', { conversationId: conversation.id, owner })
      .andWhere('m.seq < :seq', { seq: anchor.seq })
      .orderBy('m.seq', 'DESC')
      .limit(limit + 1)
      .getMany();
    const items = rows.slice(0, limit).reverse();
    return { items, nextCursor: rows.length > limit ? (items[0]?.id ?? null) : null };
  }

  async reply(owner: OwnerId, conversationId: string, options: ReplyOptions, listener: ReplyListener = {}): Promise<Reply> {
    const conversation = await this.conversations.get(owner, conversationId);
    this.ai.assertAvailable(conversation.model);
    const [userMessage] = await this.append(owner, conversation.id, [{ role: 'user', content: options.content }]);
    if (userMessage === undefined) throw new Error('insert returned no row');
    listener.onUserMessage?.(userMessage);
    try {
      const { assistantMessage, cached } = await this.answer(owner, conversation, options, listener);
      return { userMessage, assistantMessage, cached };
    } catch (error) {
      // The user message stays; say which one so the client can retry the answer, not the question.
      throw error instanceof AppError ? error.withBody({ userMessageId: userMessage.id }) : error;
    }
  }

  private async answer(
    owner: OwnerId,
    conversation: ConversationEntity,
    options: ReplyOptions,
    listener: ReplyListener,
  ): Promise<{ assistantMessage: MessageEntity; cached: boolean }> {
    const history = await this.history(owner, conversation);
    const tools = this.tools.specs();
    const maxRounds = this.config.toolMaxRounds;

    for (let round = 0; ; round++) {
      const lastRound = round >= maxRounds;
      const request: ModelRequest = {
        model: conversation.model,
        messages: history,
        tools,
        // Past the bound the model must answer in words.
        toolChoice: lastRound ? 'none' : 'auto',
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      };
      const { response, cached } = await this.generate(request, owner, options, listener);

      if (response.toolCalls.length === 0 || lastRound) {
        const content =
          response.toolCalls.length > 0 && !response.content
            ? `Stopped after ${maxRounds} rounds of tool calls without a final answer.`
            : (response.content ?? '');
        const [assistantMessage] = await this.append(owner, conversation.id, [
          { role: 'assistant', content, model: response.model, cached },
        ]);
        if (assistantMessage === undefined) throw new Error('insert returned no row');
        return { assistantMessage, cached };
      }

      const drafts: MessageDraft[] = [
        { role: 'assistant', content: response.content ?? '', toolCalls: response.toolCalls, model: response.model, cached },
      ];
      history.push({ role: 'assistant', content: response.content, toolCalls: response.toolCalls });
      for (const call of response.toolCalls) {
        listener.onToolCall?.(call);
        const result = await this.tools.runModelCall(owner, call);
        listener.onToolResult?.({ toolCallId: call.id, name: call.function.name, content: result });
        drafts.push({ role: 'tool', content: result, toolCallId: call.id });
        history.push({ role: 'tool', content: result, toolCallId: call.id });
      }
      await this.append(owner, conversation.id, drafts);
    }
  }

  private async generate(
    request: ModelRequest,
    owner: OwnerId,
    options: ReplyOptions,
    listener: ReplyListener,
  ): Promise<{ response: ModelResponse; cached: boolean }> {
    const generateOptions = { owner, ...(options.cache === undefined ? {} : { cache: options.cache }) };
    if (listener.onDelta === undefined) return this.ai.complete(request, generateOptions);
    const { cached, events } = await this.ai.stream(request, generateOptions);
    for await (const event of events) {
      if (event.type === 'delta') listener.onDelta(event.content);
      else return { response: event.response, cached };
    }
    throw new AppError('model_bad_response', 'The model stream ended without an answer');
  }

  /** The conversation as the model sees it: system prompt, then the newest messages in order. */
  private async history(owner: OwnerId, conversation: ConversationEntity): Promise<ModelMessage[]> {
    const rows = (await this.newest(owner, conversation.id)).slice(-HISTORY_WINDOW);
    // A window must not start inside a tool exchange: results without their call are rejected upstream.
    while (rows[0] !== undefined && rows[0].role !== 'user') rows.shift();
    const history: ModelMessage[] = [];
    if (conversation.systemPrompt) history.push({ role: 'system', content: conversation.systemPrompt });
    for (const m of rows) {
      if (m.role === 'user') history.push({ role: 'user', content: m.content });
      else if (m.role === 'tool') history.push({ role: 'tool', content: m.content, toolCallId: m.toolCallId ?? '' });
      else history.push({ role: 'assistant', content: m.content, ...(m.toolCalls ? { toolCalls: m.toolCalls } : {}) });
    }
    return history;
  }

  /** Stores messages and bumps the conversation's count and `updatedAt`, in one transaction. */
  private async append(owner: OwnerId, conversationId: string, drafts: MessageDraft[]): Promise<MessageEntity[]> {
    const now = new Date();
    const rows = drafts.map((d) =>
      this.messages.create({
        id: randomUUID(),
        conversationId,
        userId: owner,
        role: d.role,
        content: d.content,
        toolCalls: d.toolCalls ?? null,
        toolCallId: d.toolCallId ?? null,
        model: d.model ?? null,
        cached: d.cached ?? false,
        createdAt: now,
      }),
    );
    try {
      await this.db.transaction(async (em) => {
        await em.insert(MessageEntity, rows);
        await em
          .createQueryBuilder()
          .update(ConversationEntity)
          .set({ messageCount: () => `message_count + ${rows.length}`, updatedAt: now })
          .where('id = :conversationId AND user_id = :owner', { conversationId, owner })
          .execute();
      });
    } catch (error) {
      // The conversation was deleted while its reply was being produced.
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23503') {
        throw notFound('Conversation');
      }
      throw error;
    }
    await this.cache.messagesChanged(owner, conversationId);
    return rows;
  }
}
