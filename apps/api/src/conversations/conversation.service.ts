import { PerformanceIntegrationService } from '@chat/integration';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { ModelRegistry } from '../ai/model-registry.js';
import type { OwnerId } from '../auth/owner.js';
import { notFound } from '../common/app-error.js';
import { isUuid } from '../common/ids.js';
import { ConversationEntity } from '../database/entities/conversation.entity.js';
import { decodeConversationCursor, encodeConversationCursor } from './conversation.cursor.js';

export interface CreateConversation {
  title?: string | null;
  systemPrompt?: string | null;
  model?: string;
}

export interface UpdateConversation {
  title?: string | null;
  systemPrompt?: string | null;
}

export interface ConversationPage {
  items: ConversationEntity[];
  nextCursor: string | null;
}

/** Conversations, always read and written within their owner's scope. */
@Injectable()
export class ConversationService {
  constructor(
    @InjectRepository(ConversationEntity) private readonly conversations: Repository<ConversationEntity>,
    private readonly models: ModelRegistry,
    private readonly performance: PerformanceIntegrationService,
  ) {}

  async create(owner: OwnerId, input: CreateConversation): Promise<ConversationEntity> {
    const model = input.model ?? this.models.defaultModel;
    this.models.assertAvailable(model);
    const now = new Date();
    const conversation = this.conversations.create({
      id: randomUUID(),
      userId: owner,
      title: input.title ?? null,
      systemPrompt: input.systemPrompt ?? null,
      model,
      messageCount: 0,
      createdAt: now,
      updatedAt: now,
    });
    await this.conversations.insert(conversation);
    return conversation;
  }

  async list(owner: OwnerId, limit: number, cursor?: string): Promise<ConversationPage> {
    const query = this.conversations
      .createQueryBuilder('c')
      .where('c.user_id = :owner', { owner })
      .orderBy('c.updated_at', 'DESC')
      .addOrderBy('c.id', 'DESC')
      .limit(limit + 1);
    if (cursor !== undefined) {
      const after = decodeConversationCursor(cursor);
      query.andWhere('(c.updated_at, c.id) < (:updatedAt, :id)', after);
    }
    const rows = await query.getMany();
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > limit && last !== undefined ? encodeConversationCursor(last) : null,
    };
  }

  /** The owner's conversation, or `not_found` (for someone else's id too). Read through the cache. */
  async get(owner: OwnerId, id: string): Promise<ConversationEntity> {
    if (!isUuid(id)) throw notFound('Conversation');
    const { value } = await this.performance.conversation(owner, id, () => this.conversations.findOneBy({ id, userId: owner }));
    if (value === null) throw notFound('Conversation');
    return value;
  }

  async update(owner: OwnerId, id: string, changes: UpdateConversation): Promise<ConversationEntity> {
    const conversation = await this.get(owner, id);
    const patch: Partial<ConversationEntity> = { updatedAt: new Date() };
    if (changes.title !== undefined) patch.title = changes.title;
    if (changes.systemPrompt !== undefined) patch.systemPrompt = changes.systemPrompt;
    await this.conversations.update({ id: conversation.id, userId: owner }, patch);
    // Dropped, not overwritten: a message appended meanwhile elsewhere may have changed the row too.
    await this.performance.conversationChanged(owner, conversation.id, null);
    return { ...conversation, ...patch };
  }

  /** Deletes the conversation; its messages go with it (ON DELETE CASCADE). */
  async remove(owner: OwnerId, id: string): Promise<void> {
    const result = isUuid(id) ? await this.conversations.delete({ id, userId: owner }) : { affected: 0 };
    if (!result.affected) throw notFound('Conversation');
    await this.performance.conversationRemoved(owner, id);
  }
}
