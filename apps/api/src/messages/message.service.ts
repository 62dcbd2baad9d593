import { PermanentTaskError, type Priority, type Task, type TaskContext } from '@chat/async';
import { PerformanceIntegrationService } from '@chat/integration';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { LessThanOrEqual, QueryFailedError, type DataSource, type EntityManager, type Repository } from 'typeorm';
import { AiService } from '../ai/ai.service.js';
import type { ModelMessage, ModelRequest, ModelResponse, ModelToolCall } from '../ai/model-provider.js';
import type { OwnerId } from '../auth/owner.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { AppError, invalidInput, notFound } from '../common/app-error.js';
import { ConversationService } from '../conversations/conversation.service.js';
import { ConversationEntity } from '../database/entities/conversation.entity.js';
import { MessageEntity, type MessageRole, type StoredToolCall } from '../database/entities/message.entity.js';
import { ToolService } from '../tools/tool.service.js';
import { ConversationTitles } from './conversation-titles.js';
import { MessageView } from './message.views.js';

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

export interface AsyncReplyOptions {
  content: string;
  cache?: boolean;
  priority?: Priority;
  /** Same key from the same user: the first request's user message and task come back; nothing new is stored. */
  idempotencyKey?: string;
}

/** `mode: "async"`: the user message is stored and its answer is a task. */
export interface AcceptedReply {
  userMessage: MessageEntity;
  task: Task;
}

/** The payload of a `chat.reply` task. */
export interface ChatReplyPayload {
  conversationId: string;
  userMessageId: string;
  cache?: boolean;
}

/** What a `chat.reply` task stores as its result. */
export interface ChatReplyResult {
  assistantMessage: MessageView;
  cached: boolean;
}

export const CHAT_REPLY_TASK = 'chat.reply';

/** Writes the messages one reply produces: at once (sync, stream), or held until the end (async). */
type MessageSink = (drafts: MessageDraft[]) => Promise<MessageEntity[]>;

/** An idempotency key matched an earlier request inside the outbox transaction: undo this one. */
class ReplayOf extends Error {
  constructor(readonly task: Task) {
    super('idempotent replay');
  }
}

/** Model failures that retrying the same request cannot fix. */
const PERMANENT_CODES = new Set(['model_rejected', 'invalid_input', 'not_found', 'forbidden']);

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
    private readonly performance: PerformanceIntegrationService,
    private readonly titles: ConversationTitles,
  ) {}

  /** The newest messages, oldest first, through the conversation cache (a write anywhere drops it). */
  private async newest(owner: OwnerId, conversationId: string): Promise<MessageEntity[]> {
    const { value } = await this.performance.newestMessages(owner, conversationId, async () => {
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
      const history = await this.history(owner, conversation);
      const sink: MessageSink = (drafts) => this.append(owner, conversation.id, drafts);
      const { assistantMessage, cached } = await this.answer(owner, conversation, history, options, listener, sink);
      if (conversation.title === null && conversation.messageCount === 0) await this.titles.request(owner, conversation.id);
      return { userMessage, assistantMessage, cached };
    } catch (error) {
      // The user message stays; say which one so the client can retry the answer, not the question.
      throw error instanceof AppError ? error.withBody({ userMessageId: userMessage.id }) : error;
    }
  }

  /**
   * Submits the answer as a task (`mode: "async"`): the user message and the task row are written
   * in one transaction, and the task is queued only once they are committed (an outbox). When the
   * queue is down nothing is written and the caller gets a 503; when the queue is full likewise.
   */
  async submitReply(owner: OwnerId, conversationId: string, options: AsyncReplyOptions): Promise<AcceptedReply> {
    const conversation = await this.conversations.get(owner, conversationId);
    this.ai.assertAvailable(conversation.model);
    const [userMessage] = this.draftRows(owner, conversation.id, [{ role: 'user', content: options.content }]);
    if (userMessage === undefined) throw new Error('no row drafted');
    const payload: ChatReplyPayload = {
      conversationId: conversation.id,
      userMessageId: userMessage.id,
      ...(options.cache === undefined ? {} : { cache: options.cache }),
    };
    let accepted: AcceptedReply;
    try {
      accepted = await this.performance.inTransaction(async (manager, submit) => {
        await this.insert(owner, conversation.id, [userMessage], manager);
        const { task, created } = await submit(CHAT_REPLY_TASK, payload, {
          ownerId: owner,
          ...(options.priority === undefined ? {} : { priority: options.priority }),
          ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
        });
        if (!created) throw new ReplayOf(task);
        return { userMessage, task };
      });
    } catch (error) {
      if (error instanceof ReplayOf) return this.replayed(owner, error.task);
      throw error;
    }
    await this.performance.messagesChanged(owner, conversation.id);
    return accepted;
  }

  /** The first request's answer to a repeated idempotency key. */
  private async replayed(owner: OwnerId, task: Task): Promise<AcceptedReply> {
    const payload = task.payload as Partial<ChatReplyPayload>;
    const userMessage =
      task.type === CHAT_REPLY_TASK && typeof payload.userMessageId === 'string'
        ? await this.messages.findOneBy({ id: payload.userMessageId, userId: owner })
        : null;
    if (userMessage === null) {
      throw new AppError('conflict', 'This Idempotency-Key was already used for another request');
    }
    return { userMessage, task };
  }

  /**
   * The `chat.reply` task: answers the user message as the sync mode would, but keeps every message
   * it produces (tool calls, results, the answer) in memory and writes them in the transaction that
   * completes the task. An attempt that crashed or was taken over wrote nothing, so a retried task
   * never leaves a second answer.
   */
  async answerTask(context: TaskContext<ChatReplyPayload>): Promise<ChatReplyResult> {
    const { task, signal } = context;
    const owner = task.ownerId as OwnerId | null;
    if (owner === null) throw new PermanentTaskError('a chat.reply task needs an owner');
    try {
      const conversation = await this.conversations.get(owner, task.payload.conversationId);
      const userMessage = await this.messages.findOneBy({ id: task.payload.userMessageId, conversationId: conversation.id, userId: owner });
      if (userMessage === null) throw new PermanentTaskError('the user message no longer exists');
      // The conversation as it was when the question was asked, not what was posted since.
      const rows = (
        await this.messages.find({
          where: { conversationId: conversation.id, userId: owner, seq: LessThanOrEqual(userMessage.seq) },
          order: { seq: 'DESC' },
          take: HISTORY_WINDOW,
        })
      ).reverse();
      const firstExchange = rows.length < HISTORY_WINDOW && rows.filter((m) => m.role === 'user').length === 1;
      const held: MessageEntity[] = [];
      const sink: MessageSink = (drafts) => {
        const drafted = this.draftRows(owner, conversation.id, drafts);
        held.push(...drafted);
        return Promise.resolve(drafted);
      };
      const options: ReplyOptions = { content: userMessage.content, signal, ...(task.payload.cache === undefined ? {} : { cache: task.payload.cache }) };
      const { assistantMessage, cached } = await this.answer(owner, conversation, this.toModelHistory(conversation, rows), options, {}, sink);
      const result = await context.complete(async (manager) => {
        await this.insert(owner, conversation.id, held, manager);
        // Dropped before the commit too: a client that sees the task completed and reads the
        // conversation from another process must not get that process's copy from before the
        // answer (it could still be there for the few ms between the commit and the drop after it).
        await this.performance.messagesChanged(owner, conversation.id);
        return { assistantMessage: MessageView.of(assistantMessage), cached };
      });
      await this.performance.messagesChanged(owner, conversation.id);
      if (firstExchange && conversation.title === null) await this.titles.request(owner, conversation.id);
      return result;
    } catch (error) {
      if (error instanceof AppError && PERMANENT_CODES.has(error.code)) throw new PermanentTaskError(error.message);
      throw error;
    }
  }

  private async answer(
    owner: OwnerId,
    conversation: ConversationEntity,
    history: ModelMessage[],
    options: ReplyOptions,
    listener: ReplyListener,
    sink: MessageSink,
  ): Promise<{ assistantMessage: MessageEntity; cached: boolean }> {
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
        const [assistantMessage] = await sink([{ role: 'assistant', content, model: response.model, cached }]);
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
      await sink(drafts);
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
    return this.toModelHistory(conversation, (await this.newest(owner, conversation.id)).slice(-HISTORY_WINDOW));
  }

  private toModelHistory(conversation: ConversationEntity, window: MessageEntity[]): ModelMessage[] {
    const rows = [...window];
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
    const rows = this.draftRows(owner, conversationId, drafts);
    await this.db.transaction((manager) => this.insert(owner, conversationId, rows, manager));
    await this.performance.messagesChanged(owner, conversationId);
    return rows;
  }

  private draftRows(owner: OwnerId, conversationId: string, drafts: MessageDraft[]): MessageEntity[] {
    const now = new Date();
    return drafts.map((d) =>
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
  }

  /** Inside the caller's transaction; the caller drops the cache once it has committed. */
  private async insert(owner: OwnerId, conversationId: string, rows: MessageEntity[], manager: EntityManager): Promise<void> {
    if (rows.length === 0) return;
    try {
      await manager.insert(MessageEntity, rows);
      await manager
        .createQueryBuilder()
        .update(ConversationEntity)
        .set({ messageCount: () => `message_count + ${rows.length}`, updatedAt: rows[0]?.createdAt ?? new Date() })
        .where('id = :conversationId AND user_id = :owner', { conversationId, owner })
        .execute();
    } catch (error) {
      // The conversation was deleted while its reply was being produced.
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23503') {
        throw notFound('Conversation');
      }
      throw error;
    }
  }
}
