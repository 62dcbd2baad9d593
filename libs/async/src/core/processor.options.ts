import type { DataSource } from 'typeorm';
import { PRIORITIES, type BackoffOptions, type Priority } from './task.types.js';

export interface AsyncProcessorOptions {
  /** The TypeORM DataSource holding the `tasks` table (add `asyncMigrations` to its migrations). */
  dataSource: DataSource;
  /** BullMQ's Redis. Without it tasks wait in this process (`InProcessDriver`), still recorded in PostgreSQL. */
  redisUrl?: string | null;
  /** BullMQ queue name (default `tasks`). */
  queueName?: string;
  /** Redis key prefix (default `bull`). */
  prefix?: string;
  /** Whether this process runs tasks (`ROLE=worker|all`) or only submits them (`ROLE=api`). Default true. */
  worker?: boolean;
  /** Attempts run at once by this process (default 8). */
  concurrency?: number;
  /**
   * Bound on tasks in `pending`: past it `submit` throws `QueueFullError` (default 10,000). Checked in
   * the INSERT itself, so it is exact for one submitter; concurrent transactions cannot see each
   * other's uncommitted rows and may overshoot it by their number (a strict bound would serialise
   * every submission, outbox transactions included).
   */
  maxPending?: number;
  /** Defaults for every task type (a type's own defaults and `submit` options win). */
  defaultPriority?: Priority;
  defaultAttempts?: number;
  defaultTimeoutMs?: number;
  /** Exponential backoff with jitter between attempts (default 1 s doubling, capped at 60 s). */
  backoff?: BackoffOptions;
  /** An attempt's lease, renewed while it runs; a crashed worker's task is taken over after it (default 30 s). */
  leaseMs?: number;
  /** How often the reconciler looks for lost or stuck tasks (default 15 s; also on Redis reconnect). */
  reconcileIntervalMs?: number;
  /** A pending task untouched this long is queued again (a no-op if its job is there) (default 30 s). */
  staleAfterMs?: number;
  /** How long shutdown waits for running attempts before giving them back (default 10 s). */
  shutdownTimeoutMs?: number;
  /** `Retry-After` advised when the queue is full or down (default 5 s). */
  retryAfterSeconds?: number;
  /** Bound on one Redis call from a producer (default 1 s). */
  commandTimeoutMs?: number;
  /** Window of the wait/run percentiles and per-minute throughput in `stats()` (default 15 min). */
  statsWindowMs?: number;
}

export type ResolvedProcessorOptions = Required<Omit<AsyncProcessorOptions, 'redisUrl'>> & { redisUrl: string | null };

export function resolveOptions(options: AsyncProcessorOptions): ResolvedProcessorOptions {
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`AsyncProcessorOptions.${name} must be a positive number, got ${String(value)}`);
    return v;
  };
  const count = (name: string, value: number | undefined, fallback: number): number => {
    const v = positive(name, value, fallback);
    if (!Number.isInteger(v)) throw new Error(`AsyncProcessorOptions.${name} must be an integer, got ${String(value)}`);
    return v;
  };
  const priority = options.defaultPriority ?? 'normal';
  if (!PRIORITIES.includes(priority)) {
    throw new Error(`AsyncProcessorOptions.defaultPriority must be one of ${PRIORITIES.join(', ')}, got ${String(priority)}`);
  }
  const backoff = options.backoff ?? { baseMs: 1_000, maxMs: 60_000 };
  return {
    dataSource: options.dataSource,
    redisUrl: options.redisUrl ?? null,
    queueName: options.queueName ?? 'tasks',
    prefix: options.prefix ?? 'bull',
    worker: options.worker ?? true,
    concurrency: count('concurrency', options.concurrency, 8),
    maxPending: count('maxPending', options.maxPending, 10_000),
    defaultPriority: priority,
    defaultAttempts: count('defaultAttempts', options.defaultAttempts, 3),
    defaultTimeoutMs: count('defaultTimeoutMs', options.defaultTimeoutMs, 60_000),
    backoff: { baseMs: positive('backoff.baseMs', backoff.baseMs, 1_000), maxMs: positive('backoff.maxMs', backoff.maxMs, 60_000) },
    leaseMs: positive('leaseMs', options.leaseMs, 30_000),
    reconcileIntervalMs: positive('reconcileIntervalMs', options.reconcileIntervalMs, 15_000),
    staleAfterMs: positive('staleAfterMs', options.staleAfterMs, 30_000),
    // 0: give running attempts back at once.
    shutdownTimeoutMs: options.shutdownTimeoutMs === 0 ? 0 : positive('shutdownTimeoutMs', options.shutdownTimeoutMs, 10_000),
    retryAfterSeconds: positive('retryAfterSeconds', options.retryAfterSeconds, 5),
    commandTimeoutMs: positive('commandTimeoutMs', options.commandTimeoutMs, 1_000),
    statsWindowMs: positive('statsWindowMs', options.statsWindowMs, 15 * 60_000),
  };
}

/**
 * Delay after failed attempt `attempt`: with c = min(max, base × 2^(attempt−1)), uniform in [c/2, c]
 * ("equal jitter": retries of tasks that failed together spread out, yet each waits at least half
 * of its exponential step).
 */
export function backoffDelay(backoff: BackoffOptions, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
