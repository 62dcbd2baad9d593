import { createTestDatabase, type TestDatabase } from '@chat/testing';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ExplainConnection } from './explain-connection.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('monitoring_explain_conn');
});

afterAll(async () => {
  await db?.drop();
});

it('a connection killed in the middle of a session rejects that session, raises nothing uncaught, and the next session works', async () => {
  const connection = new ExplainConnection({ connectionString: db.url, applicationName: 'explain-kill-test' });
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    const killed = connection.session({ readOnly: true }, async (session) => {
      const [me] = await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [me?.pid]);
      // The server closed this session: the next statement fails (and the drop also reaches the
      // client as an 'error' event, which must not escape).
      await session.query('SELECT pg_sleep(0.2)');
    });
    await expect(killed).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [row] = await connection.session({ readOnly: true }, (session) => session.query<{ one: number }>('SELECT 1 AS one'));
    expect(row?.one).toBe(1);
  } finally {
    await admin.end();
    await connection.close();
  }
});
