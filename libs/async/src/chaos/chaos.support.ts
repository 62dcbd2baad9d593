import { createTestDatabase, type TestDatabase } from '@chat/testing';
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { asyncMigrations } from '../store/tasks.migration.js';
import type { TaskStatus } from '../core/task.types.js';

/**
 * Shared by the chaos suites (`*.int-spec.ts` beside this file): a database of the test's own with
 * the `tasks` table, polling, and looks into the table. Test-only (excluded from the build).
 */

export interface ChaosDatabase {
  db: TestDatabase;
  dataSource: DataSource;
  /** Destroys the DataSource, then drops the database (idempotent). */
  close(): Promise<void>;
}

/** A fresh database with the `tasks` table and a `side_effects` table (no unique key, so duplicates show). */
export async function openChaosDatabase(prefix: string): Promise<ChaosDatabase> {
  const db = await createTestDatabase(prefix);
  const dataSource = new DataSource({ type: 'postgres', url: db.url, migrations: asyncMigrations, poolSize: 20 });
  try {
    await dataSource.initialize();
    await dataSource.runMigrations();
    await dataSource.query(
      `CREATE TABLE side_effects (task_id uuid NOT NULL, pid integer NOT NULL, attempt integer NOT NULL, at timestamptz NOT NULL DEFAULT now())`,
    );
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await db.drop();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    db,
    dataSource,
    close: () =>
      (closing ??= (async () => {
        if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
        await db.drop();
      })()),
  };
}

/** Polls `probe` until it returns a value other than `undefined`/`false`; throws with `describe()` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; describe?: () => Promise<string> | string } = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      const detail = options.describe ? `\n${await options.describe()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

export interface TaskRowSummary {
  id: string;
  status: TaskStatus;
  attempts: number;
  error: { name: string; message: string } | null;
}

export async function taskRows(dataSource: DataSource, ids?: readonly string[]): Promise<TaskRowSummary[]> {
  return ids
    ? dataSource.query<TaskRowSummary[]>(`SELECT id, status, attempts, error FROM tasks WHERE id = ANY($1::uuid[]) ORDER BY created_at, id`, [ids])
    : dataSource.query<TaskRowSummary[]>(`SELECT id, status, attempts, error FROM tasks ORDER BY created_at, id`);
}

export async function taskCount(dataSource: DataSource): Promise<number> {
  const rows = await dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM tasks`);
  return rows[0]?.n ?? 0;
}

/** Tasks by status, e.g. `{ completed: 10, pending: 2 }` (absent statuses omitted). */
export async function statusCounts(dataSource: DataSource): Promise<Partial<Record<TaskStatus, number>>> {
  const rows = await dataSource.query<Array<{ status: TaskStatus; n: number }>>(`SELECT status, count(*)::int AS n FROM tasks GROUP BY status`);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Resolves once every given task is `completed`; fails early if one ends `failed`. */
export async function waitAllCompleted(dataSource: DataSource, ids: readonly string[], timeoutMs = 20_000): Promise<TaskRowSummary[]> {
  return waitFor(
    `${ids.length} task(s) to complete`,
    async () => {
      const rows = await taskRows(dataSource, ids);
      const failed = rows.find((r) => r.status === 'failed');
      if (failed) throw new Error(`task ${failed.id} failed: ${JSON.stringify(failed.error)}`);
      return rows.length === ids.length && rows.every((r) => r.status === 'completed') ? rows : undefined;
    },
    { timeoutMs, intervalMs: 100, describe: async () => `statuses: ${JSON.stringify(await statusCounts(dataSource))}` },
  );
}

/** A client of a private redis-server that never waits for it (for FLUSHALL and looks). */
export async function rawRedis(port: number): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  await client.connect();
  return client;
}

/** Runs every cleanup even when one throws, then rethrows the first failure. */
export async function cleanUp(...steps: Array<(() => unknown) | undefined>): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    if (step === undefined) continue;
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
}
