import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_REDIS_URL } from './config.constants.js';
import { createTestDatabase, type TestDatabase } from './database.fixture.js';
import { freePort } from './port.util.js';
import { spawnNode } from './process.spawn.js';

export interface StartApiOptions {
  /** Extra env for the API process; `undefined` deletes a variable. Applied last. */
  env?: Record<string, string | undefined>;
  /** 'fresh' (default): a new database dropped on stop; 'embedded': PGlite in memory; or an existing URL. */
  database?: 'fresh' | 'embedded' | { url: string };
  /** true sets REDIS_URL=TEST_REDIS_URL; default false. */
  redis?: boolean;
  /** Default: a random token passed as ADMIN_TOKEN; null: left unset and read from the start-up log. */
  adminToken?: string | null;
  /** Default 0 (off) so tests are not throttled. */
  rateLimitPerMinute?: number;
  /** Default 30000; GET /health/ready is polled until it answers 200. */
  startTimeoutMs?: number;
  /** Default: the absolute path of apps/api/dist/main.js. */
  entry?: string;
  /** CPUs the API process and its threads may run on (`taskset -c`, Linux): see `spawnNode`'s `cpus`. Default: no affinity of its own. */
  cpus?: string;
}

export interface StartedApi {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  pid: number;
  adminToken: string;
  databaseUrl: string | null;
  /** stdout+stderr so far (bounded; the oldest output is dropped first). */
  logs(): string;
  /** Sends `signal` (default SIGTERM), waits for exit (SIGKILL after 10 s), drops a 'fresh' database; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export const DEFAULT_API_ENTRY = fileURLToPath(new URL('../../apps/api/dist/main.js', import.meta.url));

/**
 * Variables the API reads. They are removed from the inherited environment so that a
 * developer's shell (say, an exported DATABASE_URL or AI_BASE_URL) cannot change what a
 * test exercises; tests state what they need through the options.
 */
const API_VARIABLES = [
  'PORT', 'HOST', 'DATABASE_URL', 'DATA_DIR', 'REDIS_URL', 'ADMIN_TOKEN', 'AI_BASE_URL', 'AI_API_KEY',
  'AI_MODEL', 'ROLE', 'RATE_LIMIT_PER_MINUTE', 'LOG_LEVEL', 'DB_POOL_MAX', 'DB_CONNECT_TIMEOUT_MS',
  'DB_STATEMENT_TIMEOUT_MS', 'AI_TIMEOUT_MS', 'AI_MAX_RETRIES', 'BODY_LIMIT_BYTES', 'SHUTDOWN_TIMEOUT_MS',
  'TOOL_MAX_ROUNDS', 'AI_CACHE_SCOPE', 'TASK_CONCURRENCY', 'TASK_MAX_PENDING', 'TASK_ATTEMPTS', 'TASK_TIMEOUT_MS',
  'TASK_BACKOFF_MS', 'TASK_LEASE_MS', 'TASK_RECONCILE_INTERVAL_MS', 'TASK_QUEUE', 'MONITOR', 'MONITOR_SLOW_QUERY_MS', 'ALERT_RULES',
  'ALERT_WEBHOOK_URL',
];

const ADMIN_TOKEN_IN_LOG = /"adminToken"\s*:\s*"([^"]+)"/;

async function isReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Starts the built API as a child process and resolves once GET /health/ready answers 200. */
export async function startApi(options: StartApiOptions = {}): Promise<StartedApi> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const database = options.database ?? 'fresh';
  const freshDb: TestDatabase | null = database === 'fresh' ? await createTestDatabase('chat_test') : null;
  const adminToken = options.adminToken === undefined ? randomBytes(24).toString('hex') : options.adminToken;

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of API_VARIABLES) delete env[name];
  Object.assign(env, {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: String(options.rateLimitPerMinute ?? 0),
  });
  if (typeof database === 'object') env.DATABASE_URL = database.url;
  else if (freshDb) env.DATABASE_URL = freshDb.url;
  else env.DATA_DIR = 'memory';
  if (options.redis) env.REDIS_URL = TEST_REDIS_URL;
  // Suites share one Redis: processes of one database share one queue, and no other suite's.
  if (env.DATABASE_URL !== undefined) env.TASK_QUEUE = `chat-tasks-${new URL(env.DATABASE_URL).pathname.slice(1)}`;
  if (adminToken !== null) env.ADMIN_TOKEN = adminToken;
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }

  const proc = spawnNode(options.entry ?? DEFAULT_API_ENTRY, env, [], { cpus: options.cpus });
  const cleanUp = async (): Promise<void> => {
    await proc.stop('SIGKILL');
    await freshDb?.drop();
  };

  const fail = async (reason: string): Promise<never> => {
    await cleanUp();
    throw new Error(`startApi: ${reason}\n--- API output ---\n${proc.logs.toString()}`);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (proc.hasExited()) return fail(`the API exited with code ${await proc.exited} before it was ready`);
    if (await isReady(url)) break;
    if (Date.now() > deadline) return fail(`GET ${url}/health/ready did not answer 200 within ${options.startTimeoutMs ?? 30_000} ms`);
    await sleep(100);
  }

  let token = adminToken;
  // The line is written before the server listens, but its pipe chunk may still be in flight.
  for (let attempt = 0; token === null && attempt < 20; attempt++) {
    token = ADMIN_TOKEN_IN_LOG.exec(proc.logs.toString())?.[1] ?? null;
    if (token === null) await sleep(50);
  }
  if (token === null) return fail('ADMIN_TOKEN was left unset but no log line carries "adminToken":"..."');

  let stopped: Promise<number | null> | undefined;
  return {
    url,
    port,
    pid: proc.child.pid ?? -1,
    adminToken: token,
    databaseUrl: env.DATABASE_URL ?? null,
    logs: () => proc.logs.toString(),
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      (stopped ??= (async () => {
        const code = await proc.stop(signal);
        await freshDb?.drop();
        return code;
      })()),
  };
}
