/**
 * The process configuration, read once from the environment and validated at start.
 * A bad value throws {@link ConfigError} whose message is one line naming the variable.
 */
export type Role = 'all' | 'api' | 'worker';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface AppConfig {
  port: number;
  host: string;
  /** `null`: run the embedded PostgreSQL (PGlite) in-process. */
  databaseUrl: string | null;
  /** Where the embedded database keeps its files; `memory` keeps nothing. */
  dataDir: string;
  /** `null`: in-process only (no L2 cache, in-memory rate-limit store). */
  redisUrl: string | null;
  /** `null`: generate one at start and print it once. */
  adminToken: string | null;
  /** `null`: only the built-in offline `local` model. */
  aiBaseUrl: string | null;
  aiApiKey: string | null;
  aiModel: string;
  aiTimeoutMs: number;
  /** `user`: cached model answers are reused for the same user only; `shared`: across users. */
  aiCacheScope: 'user' | 'shared';
  aiMaxRetries: number;
  role: Role;
  /** Requests per minute per user key; `0` turns the limit off. */
  rateLimitPerMinute: number;
  logLevel: LogLevel;
  dbPoolMax: number;
  dbConnectTimeoutMs: number;
  dbStatementTimeoutMs: number;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  toolMaxRounds: number;
  /** The async task processor (`@chat/async`). */
  tasks: TaskConfig;
  /** The performance monitor (`@chat/monitoring`). */
  monitor: MonitorConfig;
}

export interface MonitorConfig {
  /** `false`: no monitor at all (no request timing, query capture, /metrics); for measuring its cost. */
  enabled: boolean;
  /** Queries at or over this are slow: counted, explained, considered for an index. */
  slowQueryMs: number;
  /** Alert rules as JSON (merged over the defaults by name; see libs/monitoring/README.md); null: the defaults. */
  alertRules: unknown;
  /** POSTed when an alert fires, escalates or resolves. */
  alertWebhookUrl: string | null;
}

export interface TaskConfig {
  /** Attempts run at once by this process when it is a worker. */
  concurrency: number;
  /** Bound on pending tasks; past it submissions answer 503 with `Retry-After`. */
  maxPending: number;
  /** Attempts per task, the first included. */
  attempts: number;
  /** One attempt's time limit. */
  timeoutMs: number;
  /** First retry delay; doubled per attempt, with jitter. */
  backoffMs: number;
  /** A crashed worker's task is taken over after this. */
  leaseMs: number;
  /** How often lost or stuck tasks are looked for. */
  reconcileIntervalMs: number;
  /** BullMQ queue name: deployments sharing one Redis need one each. */
  queue: string;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be an integer, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}

function url(env: Env, name: string, protocols: readonly string[]): string | null {
  const value = raw(env, name);
  if (value === undefined) return null;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `must be a URL, got "${value}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return value;
}

function json(env: Env, name: string): unknown {
  const value = raw(env, name);
  if (value === undefined) return null;
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new ConfigError(name, `must be JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function queueName(env: Env): string {
  const value = raw(env, 'TASK_QUEUE') ?? 'chat-tasks';
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(value)) {
    throw new ConfigError('TASK_QUEUE', `must be 1-100 letters, digits, '.', '_' or '-', got "${value}"`);
  }
  return value;
}

export function loadConfig(env: Env = process.env): AppConfig {
  const aiBaseUrl = url(env, 'AI_BASE_URL', ['http:', 'https:']);
  const adminToken = raw(env, 'ADMIN_TOKEN') ?? null;
  if (adminToken !== null && adminToken.length < 16) {
    throw new ConfigError('ADMIN_TOKEN', 'must be at least 16 characters');
  }
  const host = raw(env, 'HOST') ?? '127.0.0.1';
  if (/\s/.test(host)) throw new ConfigError('HOST', `must be an address, got "${host}"`);
  const aiModel = raw(env, 'AI_MODEL') ?? 'local';
  if (aiModel.length > 100) throw new ConfigError('AI_MODEL', 'must be at most 100 characters');
  if (aiBaseUrl === null && aiModel !== 'local') {
    throw new ConfigError('AI_MODEL', `must be "local" when AI_BASE_URL is unset, got "${aiModel}"`);
  }

  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:']);
  const role = oneOf(env, 'ROLE', ['all', 'api', 'worker'] as const, 'all');
  if (role !== 'all' && redisUrl === null) {
    // Without Redis the queue lives inside one process: an API-only process would queue tasks that
    // no worker ever sees, and a worker-only one would wait for tasks no API can hand it.
    throw new ConfigError('ROLE', `"${role}" needs REDIS_URL: API and worker processes share the task queue through Redis`);
  }
  const aiTimeoutMs = integer(env, 'AI_TIMEOUT_MS', 60_000, 100, 600_000);

  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: raw(env, 'DATA_DIR') ?? './.data',
    redisUrl,
    adminToken,
    aiBaseUrl,
    aiApiKey: raw(env, 'AI_API_KEY') ?? null,
    aiModel,
    aiTimeoutMs,
    aiCacheScope: oneOf(env, 'AI_CACHE_SCOPE', ['user', 'shared'] as const, 'user'),
    aiMaxRetries: integer(env, 'AI_MAX_RETRIES', 2, 0, 10),
    role,
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000),
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
    dbPoolMax: integer(env, 'DB_POOL_MAX', 10, 1, 200),
    dbConnectTimeoutMs: integer(env, 'DB_CONNECT_TIMEOUT_MS', 5_000, 100, 120_000),
    dbStatementTimeoutMs: integer(env, 'DB_STATEMENT_TIMEOUT_MS', 15_000, 100, 600_000),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 1_048_576, 1_024, 104_857_600),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    toolMaxRounds: integer(env, 'TOOL_MAX_ROUNDS', 5, 1, 20),
    monitor: {
      enabled: oneOf(env, 'MONITOR', ['on', 'off'] as const, 'on') === 'on',
      slowQueryMs: integer(env, 'MONITOR_SLOW_QUERY_MS', 100, 1, 600_000),
      alertRules: json(env, 'ALERT_RULES'),
      alertWebhookUrl: url(env, 'ALERT_WEBHOOK_URL', ['http:', 'https:']),
    },
    tasks: {
      concurrency: integer(env, 'TASK_CONCURRENCY', 8, 1, 1_000),
      maxPending: integer(env, 'TASK_MAX_PENDING', 10_000, 1, 10_000_000),
      attempts: integer(env, 'TASK_ATTEMPTS', 3, 1, 20),
      // An answer may take a few model calls (tool rounds), each bounded by AI_TIMEOUT_MS.
      timeoutMs: integer(env, 'TASK_TIMEOUT_MS', Math.max(120_000, aiTimeoutMs * 3), 100, 3_600_000),
      backoffMs: integer(env, 'TASK_BACKOFF_MS', 1_000, 1, 600_000),
      leaseMs: integer(env, 'TASK_LEASE_MS', 30_000, 500, 600_000),
      reconcileIntervalMs: integer(env, 'TASK_RECONCILE_INTERVAL_MS', 15_000, 100, 3_600_000),
      queue: queueName(env),
    },
  };
}

/** Nest injection token for {@link AppConfig}. */
export const APP_CONFIG = Symbol('APP_CONFIG');
