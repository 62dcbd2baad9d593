import { createTestDatabase, createUser, startApi, type StartApiOptions, type StartedApi, type TestDatabase } from '@chat/testing';

/**
 * The API build the bench starts: `BENCH_API_ENTRY` (the `main.js` of another build, e.g. a
 * checkout of an older commit) or, by default, this checkout's apps/api/dist/main.js.
 */
export const BENCH_API_ENTRY: string | undefined = process.env.BENCH_API_ENTRY || undefined;
const entry = (): { entry?: string } => (BENCH_API_ENTRY === undefined ? {} : { entry: BENCH_API_ENTRY });

/**
 * Extra environment for every API process the bench starts, as JSON (`BENCH_API_ENV='{"DB_POOL_MAX":"30"}'`):
 * to see what a setting is worth under the same load. Applied over each scenario's own variables.
 */
export const BENCH_API_ENV: Record<string, string> = parseApiEnv(process.env.BENCH_API_ENV);

function parseApiEnv(text: string | undefined): Record<string, string> {
  if (text === undefined || text.trim() === '') return {};
  const value = JSON.parse(text) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new Error('BENCH_API_ENV must be a JSON object of strings, e.g. {"DB_POOL_MAX":"30"}');
  }
  return value as Record<string, string>;
}

export interface BenchApi {
  api: StartedApi;
  /** Headers of a freshly created user's bearer key. */
  userHeaders: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The API as it runs in production for one client: real PostgreSQL (a fresh
 * database), warn-level logs, and no rate limit, since the bench is one client
 * sending far more than any per-user quota.
 */
export async function startBenchApi(options: StartApiOptions = {}): Promise<BenchApi> {
  const api = await startApi({ database: 'fresh', rateLimitPerMinute: 0, ...entry(), ...options, env: { LOG_LEVEL: 'warn', ...options.env, ...BENCH_API_ENV } });
  try {
    const user = await createUser(api, 'bench');
    return {
      api,
      userHeaders: { authorization: `Bearer ${user.apiKey}` },
      stop: async () => {
        const code = await api.stop();
        if (code !== 0) throw new Error(`the API exited with code ${code} on SIGTERM\n${api.logs().slice(-4000)}`);
      },
    };
  } catch (err) {
    await api.stop();
    throw err;
  }
}

/**
 * A second API process on `first`'s database, serving the same user (its key is in that database):
 * for comparing two configurations of the API on the same data. `first.stop()` drops the database,
 * so stop this one first.
 */
export async function startBenchApiOn(first: BenchApi, options: Omit<StartApiOptions, 'database'> = {}): Promise<BenchApi> {
  const url = first.api.databaseUrl;
  if (url === null) throw new Error('startBenchApiOn: the first API has no PostgreSQL database to share');
  const api = await startApi({ rateLimitPerMinute: 0, ...entry(), ...options, database: { url }, env: { LOG_LEVEL: 'warn', ...options.env, ...BENCH_API_ENV } });
  return {
    api,
    userHeaders: first.userHeaders,
    stop: async () => {
      const code = await api.stop();
      if (code !== 0) throw new Error(`the API exited with code ${code} on SIGTERM\n${api.logs().slice(-4000)}`);
    },
  };
}

/**
 * A fresh database with the API's schema, migrated by a short-lived API process, so that the
 * processes then started on it (`{ database: { url } }`) start on equal terms: none of them has run
 * the migrations. The caller drops it (`drop()`), after stopping them.
 */
export async function migratedDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase('chat_bench');
  try {
    const migrator = await startApi({ ...entry(), database: { url: database.url }, env: { LOG_LEVEL: 'warn', MONITOR: 'off' } });
    const code = await migrator.stop();
    if (code !== 0) throw new Error(`the migrating API exited with code ${code} on SIGTERM\n${migrator.logs().slice(-4000)}`);
    return database;
  } catch (err) {
    await database.drop();
    throw err;
  }
}
