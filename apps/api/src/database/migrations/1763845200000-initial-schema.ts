import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Users, conversations and messages, with the indexes of their access paths:
 * - a user's conversations newest first: (user_id, updated_at DESC, id DESC), keyset pagination;
 * - a conversation's messages in order: (conversation_id, seq), so a page costs the same at any length;
 * - full-text search over a user's messages: a GIN index on a generated tsvector.
 */
export class InitialSchema1763845200000 implements MigrationInterface {
  name = 'InitialSchema1763845200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        name varchar(100) NOT NULL,
        api_key_hash char(64) NOT NULL,
        created_at timestamptz NOT NULL,
        CONSTRAINT users_api_key_hash_key UNIQUE (api_key_hash)
      )`);
    await q.query(`
      CREATE TABLE conversations (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        title varchar(200),
        system_prompt text,
        model varchar(100) NOT NULL,
        message_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    await q.query(
      `CREATE INDEX conversations_user_updated_idx ON conversations (user_id, updated_at DESC, id DESC)`,
    );
    await q.query(`
      CREATE TABLE messages (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role varchar(16) NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
        content text NOT NULL,
        tool_calls jsonb,
        tool_call_id varchar(200),
        model varchar(100),
        cached boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        search_vector tsvector GENERATED ALWAYS AS (
          CASE WHEN role = 'tool' THEN NULL ELSE to_tsvector('english', content) END
        ) STORED
      )`);
    await q.query(`CREATE UNIQUE INDEX messages_conversation_seq_idx ON messages (conversation_id, seq)`);
    await q.query(`CREATE INDEX messages_search_idx ON messages USING gin (search_vector)`);
    await q.query(`CREATE INDEX messages_user_idx ON messages (user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE messages`);
    await q.query(`DROP TABLE conversations`);
    await q.query(`DROP TABLE users`);
  }
}
