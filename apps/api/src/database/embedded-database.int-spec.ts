import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/app-config.js';
import { databaseOptions, entities } from './database.options.js';
import { EmbeddedDatabase } from './embedded-database.js';
import { migrations } from './migrations/index.js';

async function connect(url: string): Promise<DataSource> {
  const options = databaseOptions(loadConfig({}), { url, embedded: true });
  const db = new DataSource({ ...(options as object), type: 'postgres', url, entities, migrations });
  await db.initialize();
  await db.runMigrations();
  return db;
}

/** PGlite behind the wire protocol: the same migrations and queries as real PostgreSQL, files kept across restarts. */
describe('embedded database (PGlite)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('runs the migrations and full-text search, and keeps data in DATA_DIR across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chat-data-'));
    dirs.push(dir);

    let embedded = await EmbeddedDatabase.start(dir);
    let db = await connect(embedded.url);
    await db.query(`INSERT INTO users (id, name, api_key_hash, created_at) VALUES (gen_random_uuid(), 'p', repeat('a', 64), now())`);
    await db.query(
      `INSERT INTO conversations (id, user_id, model, created_at, updated_at) SELECT gen_random_uuid(), id, 'local', now(), now() FROM users`,
    );
    await db.query(
      `INSERT INTO messages (id, conversation_id, user_id, role, content, created_at)
       SELECT gen_random_uuid(), c.id, c.user_id, 'user', 'persisted carrots', now() FROM conversations c`,
    );
    await db.destroy();
    await embedded.stop();

    embedded = await EmbeddedDatabase.start(dir);
    db = await connect(embedded.url);
    try {
      const rows = await db.query(`SELECT content FROM messages WHERE search_vector @@ websearch_to_tsquery('english', 'carrot')`);
      expect(rows).toEqual([{ content: 'persisted carrots' }]);
    } finally {
      await db.destroy();
      await embedded.stop();
    }
  });

  it('keeps nothing with DATA_DIR=memory', async () => {
    const embedded = await EmbeddedDatabase.start('memory');
    const db = await connect(embedded.url);
    try {
      const [{ n }] = await db.query('SELECT count(*)::int AS n FROM users');
      expect(n).toBe(0);
    } finally {
      await db.destroy();
      await embedded.stop();
    }
  });
});
