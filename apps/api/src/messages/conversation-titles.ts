import { PermanentTaskError, type TaskContext } from '@chat/async';
import { PerformanceIntegrationService } from '@chat/integration';
import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { AiService } from '../ai/ai.service.js';
import type { OwnerId } from '../auth/owner.js';
import { AppError } from '../common/app-error.js';
import { ConversationService } from '../conversations/conversation.service.js';
import { ConversationEntity } from '../database/entities/conversation.entity.js';
import { MessageEntity } from '../database/entities/message.entity.js';

export const CONVERSATION_TITLE_TASK = 'conversation.title';

export interface TitlePayload {
  conversationId: string;
}

export interface TitleResult {
  title: string | null;
  /** `false`: the conversation had a title by the time the task ran (the user's wins). */
  applied: boolean;
}

const TITLE_PROMPT = 'Write a title of at most six words for a conversation that starts with the next message. Answer with the title only.';
const TITLE_MAX = 80;

/** A model's answer as a one-line title: no quotes, no trailing period, at most 80 characters. */
export function cleanTitle(text: string | null | undefined): string | null {
  if (!text) return null;
  const line = text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^(title\s*:\s*)/i, '')
    .replace(/^["'“”«»`]+|["'“”«»`]+$/g, '')
    .replace(/[.。]+$/, '')
    .trim();
  if (line === '') return null;
  if (line.length <= TITLE_MAX) return line;
  const cut = line.slice(0, TITLE_MAX - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > TITLE_MAX / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/**
 * Titles untitled conversations after their first exchange, in the background: a low-priority
 * `conversation.title` task, one per conversation (its idempotency key), that asks the
 * conversation's model for a title and sets it only if the conversation is still untitled.
 */
@Injectable()
export class ConversationTitles {
  private readonly logger = new Logger('ConversationTitles');

  constructor(
    private readonly performance: PerformanceIntegrationService,
    private readonly ai: AiService,
    private readonly conversations: ConversationService,
    @InjectRepository(MessageEntity) private readonly messages: Repository<MessageEntity>,
  ) {}

  /** Best effort: a full or unreachable queue must not fail the reply that asked for a title. */
  async request(owner: OwnerId, conversationId: string): Promise<void> {
    try {
      await this.performance.submitTask<TitlePayload>(
        CONVERSATION_TITLE_TASK,
        { conversationId },
        { ownerId: owner, priority: 'low', idempotencyKey: `title:${conversationId}` },
      );
    } catch (error) {
      this.logger.warn(`no title task for conversation ${conversationId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async generate(context: TaskContext<TitlePayload>): Promise<TitleResult> {
    const owner = context.task.ownerId as OwnerId | null;
    if (owner === null) throw new PermanentTaskError('a conversation.title task needs an owner');
    let conversation: ConversationEntity;
    try {
      conversation = await this.conversations.get(owner, context.task.payload.conversationId);
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') throw new PermanentTaskError('the conversation no longer exists');
      throw error;
    }
    if (conversation.title !== null) return { title: conversation.title, applied: false };
    const first = await this.messages.findOne({
      where: { conversationId: conversation.id, userId: owner, role: 'user' },
      order: { seq: 'ASC' },
    });
    if (first === null) throw new PermanentTaskError('the conversation has no message to title it by');

    let title: string | null = null;
    try {
      const { response } = await this.ai.complete(
        {
          model: conversation.model,
          messages: [
            { role: 'system', content: TITLE_PROMPT },
            { role: 'user', content: first.content.slice(0, 4_000) },
          ],
          maxTokens: 16,
          signal: context.signal,
        },
        { owner },
      );
      title = cleanTitle(response.content);
    } catch (error) {
      // A model that rejects the request will keep rejecting it: fall back to the question itself.
      if (!(error instanceof AppError && error.code === 'model_rejected')) throw error;
    }
    title ??= cleanTitle(first.content) ?? 'Untitled';

    const result = await context.complete(async (manager) => {
      const updated = await manager
        .createQueryBuilder()
        .update(ConversationEntity)
        .set({ title })
        .where('id = :id AND user_id = :owner AND title IS NULL', { id: conversation.id, owner })
        .execute();
      const applied = (updated.affected ?? 0) > 0;
      // Before the commit too, as for answers: whoever sees the task completed reads the title.
      if (applied) await this.performance.conversationChanged(owner, conversation.id, null);
      return { title, applied };
    });
    if (result.applied) await this.performance.conversationChanged(owner, conversation.id, null);
    return result;
  }
}
