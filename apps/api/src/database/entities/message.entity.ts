import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type MessageRole = 'user' | 'assistant' | 'tool';

/** A call the model asked for, in OpenAI's shape (arguments are a JSON string, as the model wrote them). */
export interface StoredToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

@Entity({ name: 'messages' })
@Index('messages_conversation_seq_idx', ['conversationId', 'seq'], { unique: true })
export class MessageEntity {
  @PrimaryColumn('uuid')
  id!: string;

  /**
   * Insertion order, strictly increasing (an identity column the database fills): pages are index
   * range scans on (conversation_id, seq). bigint arrives from `pg` as a string.
   */
  @Column({ type: 'bigint', insert: false, update: false })
  seq!: string;

  @Column('uuid', { name: 'conversation_id' })
  conversationId!: string;

  /** The owner, kept on the row so every message query is scoped to a user by construction. */
  @Column('uuid', { name: 'user_id' })
  userId!: string;

  @Column('varchar', { length: 16 })
  role!: MessageRole;

  @Column('text')
  content!: string;

  @Column('jsonb', { name: 'tool_calls', nullable: true })
  toolCalls!: StoredToolCall[] | null;

  @Column('varchar', { name: 'tool_call_id', length: 200, nullable: true })
  toolCallId!: string | null;

  /** Which model produced an assistant message (null for user and tool messages). */
  @Column('varchar', { length: 100, nullable: true })
  model!: string | null;

  @Column('boolean', { default: false })
  cached!: boolean;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;
}
