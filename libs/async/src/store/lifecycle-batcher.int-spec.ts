import { createTestDatabase, type TestDatabase } from '@chat/testing';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseKeeper } from '../core/lease-keeper.js';
import { LifecycleBatcher } from './lifecycle-batcher.js';
import { TaskStore, type NewTask } from './task-store.js';
import { asyncMigrations } from './tasks.migration.js';

/**
 * The coalesced claims, completions and lease renewals against a real PostgreSQL: every caller of a
 * shared statement gets its own row's outcome, a stale lease in a batch is refused while the others
 * are recorded, and a row another transaction holds never holds back the rest of its batch.
 */
let database: TestDatabase;
let dataSource: DataSource;
let store: TaskStore;

const LEASE_MS = 30_000;

function newTask(i: number): NewTask {
  return { type: 'batched', ownerId: null, priority: 'normal', payload: { i }, maxAttempts: 3, timeoutMs: 5_000, idempotencyKey: null };
}

async function insert(count: number): Promise<string[]> {
  const outcome = await store.insert(Array.from({ length: count }, (_, i) => newTask(i)), 1_000);
  if (outcome.kind !== 'inserted') throw new Error('not inserted');
  return outcome.tasks.map((t) => t.task.id);
}

async function row(id: string): Promise<{ status: string; lease_token: string | null; attempts: number; result: unknown; lease_expires_at: Date | null }> {
  const rows: Array<{ status: string; lease_token: string | null; attempts: number; result: unknown; lease_expires_at: Date | null }> = await dataSource.query(
    'SELECT status, lease_token, attempts, result, lease_expires_at FROM tasks WHERE id = $1',
    [id],
  );
  if (rows[0] === undefined) throw new Error(`no task ${id}`);
  return rows[0];
}

/** Claims every id through the batcher, concurrently; returns the tokens used. */
async function claimAll(batcher: LifecycleBatcher, ids: string[]): Promise<string[]> {
  const tokens = ids.map(() => randomUUID());
  const tasks = await Promise.all(ids.map((id, i) => batcher.claim(id, tokens[i], LEASE_MS)));
  expect(tasks.map((t) => t?.id)).toEqual(ids);
  return tokens;
}

/** Holds a row locked in an open transaction until `release()` (as `ctx.complete` or another process would). */
async function lockRow(id: string): Promise<{ release: () => Promise<void> }> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  await runner.startTransaction();
  await runner.query('SELECT id FROM tasks WHERE id = $1 FOR UPDATE', [id]);
  return {
    release: async () => {
      await runner.commitTransaction();
      await runner.release();
    },
  };
}

beforeAll(async () => {
  database = await createTestDatabase('async_batcher');
  dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: asyncMigrations, migrationsRun: true, poolSize: 8 });
  await dataSource.initialize();
  store = new TaskStore(dataSource);
});

afterAll(async () => {
  if (dataSource?.isInitialized) await dataSource.destroy();
  await database?.drop();
});

beforeEach(async () => {
  vi.restoreAllMocks();
  await dataSource.query('TRUNCATE tasks');
});

describe('LifecycleBatcher on PostgreSQL', () => {
  it('claims concurrent tasks in one statement, each under its caller’s own token', async () => {
    const ids = await insert(5);
    const claimMany = vi.spyOn(store, 'claimMany');
    const claimOne = vi.spyOn(store, 'claim');
    const batcher = new LifecycleBatcher(store);
    const tokens = ids.map(() => randomUUID());
    const tasks = await Promise.all(ids.map((id, i) => batcher.claim(id, tokens[i], LEASE_MS)));

    expect(claimMany).toHaveBeenCalledTimes(1);
    expect(claimOne).not.toHaveBeenCalled();
    expect(tasks.map((t) => t?.id)).toEqual(ids);
    expect(tasks.map((t) => (t?.payload as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
    for (const [i, id] of ids.entries()) {
      expect(tasks[i]).toMatchObject({ status: 'running', attempts: 1 });
      expect(tasks[i]!.startedAt).not.toBeNull();
      expect(await row(id)).toMatchObject({ status: 'running', attempts: 1, lease_token: tokens[i] });
    }
  });

  it('two claims of one task in the same batch: exactly one wins, the attempt counted once', async () => {
    const [id, other] = (await insert(2)) as [string, string];
    const batcher = new LifecycleBatcher(store);
    const tokens = [randomUUID(), randomUUID(), randomUUID()];
    const tasks = await Promise.all([batcher.claim(id, tokens[0], LEASE_MS), batcher.claim(id, tokens[1], LEASE_MS), batcher.claim(other, tokens[2], LEASE_MS)]);
    const winners = tasks.slice(0, 2).filter((t) => t !== null);
    expect(winners).toHaveLength(1);
    expect(tasks[2]?.id).toBe(other);
    const stored = await row(id);
    expect(stored).toMatchObject({ status: 'running', attempts: 1 });
    expect(tokens.slice(0, 2)[tasks[0] === null ? 1 : 0]).toBe(stored.lease_token);
  });

  it('a task leased by a live attempt is not claimed; one whose lease expired is taken over', async () => {
    const [live, expired, fresh] = (await insert(3)) as [string, string, string];
    const holder = randomUUID();
    await dataSource.query(`UPDATE tasks SET status = 'running', attempts = 1, lease_token = $2, lease_expires_at = now() + interval '1 minute' WHERE id = $1`, [live, holder]);
    await dataSource.query(`UPDATE tasks SET status = 'running', attempts = 1, lease_token = $2, lease_expires_at = now() - interval '1 second' WHERE id = $1`, [expired, randomUUID()]);
    const batcher = new LifecycleBatcher(store);
    const [a, b, c] = await Promise.all([live, expired, fresh].map((id) => batcher.claim(id, randomUUID(), LEASE_MS)));
    expect(a).toBeNull();
    expect(b).toMatchObject({ id: expired, status: 'running', attempts: 2 });
    expect(c).toMatchObject({ id: fresh, status: 'running', attempts: 1 });
    expect(await row(live)).toMatchObject({ status: 'running', attempts: 1, lease_token: holder });
  });

  it('completes concurrent attempts in one statement; a stale lease in the batch is refused while the others succeed', async () => {
    const ids = await insert(3);
    const batcher = new LifecycleBatcher(store);
    const tokens = await claimAll(batcher, ids);
    // The second attempt's lease was taken over (its worker was presumed dead): a new token holds it.
    const successor = randomUUID();
    await dataSource.query('UPDATE tasks SET lease_token = $2, attempts = attempts + 1 WHERE id = $1', [ids[1], successor]);
    const completeMany = vi.spyOn(store, 'completeMany');

    const outcomes = await Promise.all(ids.map((id, i) => batcher.complete(id, tokens[i], { done: i })));

    expect(completeMany).toHaveBeenCalledTimes(1);
    expect(outcomes).toEqual([true, false, true]);
    expect(await row(ids[0])).toMatchObject({ status: 'completed', result: { done: 0 }, lease_token: null, lease_expires_at: null });
    expect(await row(ids[1])).toMatchObject({ status: 'running', result: null, lease_token: successor, attempts: 2 });
    expect(await row(ids[2])).toMatchObject({ status: 'completed', result: { done: 2 } });
    // The late attempt cannot complete afterwards either, alone or batched.
    expect(await batcher.complete(ids[1], tokens[1], 'late')).toBe(false);
    expect(await row(ids[1])).toMatchObject({ status: 'running', lease_token: successor });
  });

  it('a row held by another transaction does not hold back its batch; its own completion waits for the row, then is decided alone', async () => {
    const ids = await insert(3);
    const batcher = new LifecycleBatcher(store);
    const tokens = await claimAll(batcher, ids);
    const lock = await lockRow(ids[1]);
    let lockedSettled = false;
    const pending = ids.map((id, i) =>
      batcher.complete(id, tokens[i], i).finally(() => {
        if (i === 1) lockedSettled = true;
      }),
    );
    // The two free rows are recorded while the third is still locked.
    expect(await pending[0]).toBe(true);
    expect(await pending[2]).toBe(true);
    expect(lockedSettled).toBe(false);
    expect(await row(ids[0])).toMatchObject({ status: 'completed' });
    await lock.release();
    expect(await pending[1]).toBe(true);
    expect(await row(ids[1])).toMatchObject({ status: 'completed', result: 1 });
  });

  it('one bad id fails its own caller only', async () => {
    const [good] = (await insert(1)) as [string];
    const batcher = new LifecycleBatcher(store);
    const [a, b] = await Promise.allSettled([batcher.claim(good, randomUUID(), LEASE_MS), batcher.claim('not-a-uuid', randomUUID(), LEASE_MS)]);
    expect(a).toMatchObject({ status: 'fulfilled', value: { id: good, status: 'running' } });
    expect(b.status).toBe('rejected');
  });
});

describe('LeaseKeeper on PostgreSQL', () => {
  it('renews the leases it keeps in one statement; a lease taken over is reported lost, a locked row waited for', async () => {
    const ids = await insert(3);
    const batcher = new LifecycleBatcher(store);
    const tokens = await claimAll(batcher, ids);
    await dataSource.query(`UPDATE tasks SET lease_expires_at = now() + interval '1 second' WHERE id = ANY($1::uuid[])`, [ids]);
    await dataSource.query('UPDATE tasks SET lease_token = $2 WHERE id = $1', [ids[2], randomUUID()]);
    const keeper = new LeaseKeeper(store, LEASE_MS);
    const lost: number[] = [];
    ids.forEach((id, i) => keeper.add(id, tokens[i], () => lost.push(i)));
    const heartbeatMany = vi.spyOn(store, 'heartbeatMany');
    const single = vi.spyOn(store, 'heartbeat');
    const lock = await lockRow(ids[1]);

    await keeper.sweep(performance.now() + keeper.intervalMs);
    expect(heartbeatMany).toHaveBeenCalledTimes(1);
    const first = await row(ids[0]);
    expect(first.lease_expires_at!.getTime()).toBeGreaterThan(Date.now() + LEASE_MS / 2);
    await lock.release();
    await vi.waitFor(() => expect(single).toHaveBeenCalledTimes(2), { timeout: 10_000 });
    await vi.waitFor(async () => expect((await row(ids[1])).lease_expires_at!.getTime()).toBeGreaterThan(Date.now() + LEASE_MS / 2), { timeout: 10_000 });
    await vi.waitFor(() => expect(lost).toEqual([2]), { timeout: 10_000 });
    keeper.close();
  });
});
