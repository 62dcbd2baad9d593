import { createTestDatabase, type TestDatabase } from '@chat/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExplainConnection } from './explain-connection.js';
import { PgStatStatementsReader } from './pg-stat-statements.js';

/**
 * The "not available" paths for real. This server does not preload pg_stat_statements
 * (`shared_preload_libraries` is empty), so the available path is covered by the unit test on
 * fixture rows (pg-stat-statements.spec.ts).
 */
let database: TestDatabase;
let admin: pg.Client;
let connection: ExplainConnection;

beforeAll(async () => {
  database = await createTestDatabase('monitoring_pgss');
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  connection = new ExplainConnection({ connectionString: database.url });
});

afterAll(async () => {
  await connection?.close();
  await admin?.end();
  await database?.drop();
});

describe('PgStatStatementsReader (real PostgreSQL)', () => {
  it('reports not-installed, and reads nothing, when the extension is not created', async () => {
    const reader = new PgStatStatementsReader(connection);
    const availability = await reader.availability();
    expect(availability).toMatchObject({ available: false, reason: 'not-installed' });
    const installable = await admin.query("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'");
    expect(availability).toMatchObject({ installable: installable.rowCount === 1 });
    expect(await reader.top()).toEqual([]);
  });

  it('reports not-loaded when the extension exists but the library is not preloaded', async (context) => {
    const preload = await admin.query<{ shared_preload_libraries: string }>('SHOW shared_preload_libraries');
    const available = await admin.query("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'");
    if (preload.rows[0].shared_preload_libraries.includes('pg_stat_statements') || available.rowCount === 0) {
      // Not this server's situation; the assertions below would not mean anything.
      context.skip();
    }
    await admin.query('CREATE EXTENSION pg_stat_statements');
    const reader = new PgStatStatementsReader(connection, { recheckAfterMs: 0 });
    const availability = await reader.availability();
    expect(availability).toMatchObject({ available: false, reason: 'not-loaded' });
    expect(availability.available === false && availability.detail).toMatch(/shared_preload_libraries/);
    expect(await reader.top({ by: 'mean', limit: 5 })).toEqual([]);
    // The failed read happened inside the rolled-back transaction: the connection still works.
    const [row] = await connection.session({ readOnly: true }, (s) => s.query<{ ok: number }>('SELECT 1 AS ok'));
    expect(row).toEqual({ ok: 1 });
  });

  it('reports an error, never rejects, when the database cannot be reached', async () => {
    const reader = new PgStatStatementsReader({ connectionString: 'postgres://nobody@127.0.0.1:1/nowhere', connectTimeoutMs: 1000 });
    await expect(reader.availability()).resolves.toMatchObject({ available: false, reason: 'error' });
    await expect(reader.top()).resolves.toEqual([]);
    await reader.close();
  });
});
