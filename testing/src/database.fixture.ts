import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { TEST_PG_URL } from './config.constants.js';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Runs one statement on the admin connection; CREATE/DROP DATABASE cannot run inside a pool transaction. */
async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Identifiers cannot be bound as parameters, so the name is restricted to a safe alphabet instead. */
function databaseName(prefix: string): string {
  const safePrefix = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40);
  return `${safePrefix}_${randomBytes(6).toString('hex')}`;
}

/** CREATE DATABASE <prefix>_<random> on TEST_PG_URL's server; drop() terminates its sessions and drops it. */
export async function createTestDatabase(prefix = 'chat_test'): Promise<TestDatabase> {
  const name = databaseName(prefix);
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    name,
    // Memoised so that a test's afterAll and StartedApi.stop() can both call it.
    drop: () => (dropped ??= adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
  };
}
