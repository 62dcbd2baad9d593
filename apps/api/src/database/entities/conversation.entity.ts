import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ name: 'conversations' })
@Index('conversations_user_updated_idx', ['userId', 'updatedAt', 'id'])
export class ConversationEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'user_id' })
  userId!: string;

  @Column('varchar', { length: 200, nullable: true })
  title!: string | null;

  @Column('text', { name: 'system_prompt', nullable: true })
  systemPrompt!: string | null;

  @Column('varchar', { length: 100 })
  model!: string;

  @Column('integer', { name: 'message_count', default: 0 })
  messageCount!: number;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
