import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'users' })
export class UserEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('varchar', { length: 100 })
  name!: string;

  /** SHA-256 of the API key (hex). The key itself is shown once at creation and never stored. */
  @Column('char', { name: 'api_key_hash', length: 64, unique: true })
  apiKeyHash!: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;
}
