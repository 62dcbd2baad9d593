import { spawnNode, startPrivateRedis, type PrivateRedis, type SpawnedNode } from '@chat/testing';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TaskProcessor } from '../core/task-processor.js';
import type { BullMqDriver } from '../drivers/bullmq.driver.js';
import { cleanUp, openChaosDatabase, taskRows, waitAllCompleted, waitFor, type ChaosDatabase } from './chaos.support.js';

/**
 * A worker process SIGKILLed mid-task (no shutdown, no release): another worker takes its tasks
 * over once their leases expire, and every task's side effect (written in `ctx.complete`) is
 * committed exactly once. The workers are separate processes running the built lib
 * (`test-fixtures/chaos-worker.mjs`); this process only submits and looks at the tables.
 */
const WORKER_ENTRY = fileURLToPath(new URL('../../test-fixtures/chaos-worker.mjs', import.meta.url));
const LEASE_MS = 2_000;

let redis: PrivateRedis;
let database: ChaosDatabase;
let producer: TaskProcessor;
const queueName = `chaos-crash-${randomUUID()}`;
const workers: SpawnedNode[] = [];

function startWorker(hang: boolean, extra: NodeJS.ProcessEnv = {}): SpawnedNode {
  const worker = spawnNode(WORKER_ENTRY, {
    ...process.env,
    DATABASE_URL: database.db.url,
    REDIS_URL: redis.url,
    QUEUE: queueName,
    LEASE_MS: String(LEASE_MS),
    RECONCILE_MS: '500',
    STALE_MS: '1000',
    HANG: hang ? '1' : '0',
    ...extra,
  });
  workers.push(worker);
  return worker;
}

async function waitReady(worker: SpawnedNode): Promise<void> {
  await waitFor('the worker to print READY', () => {
    if (worker.hasExited()) throw new Error(`worker exited early:\n${worker.logs.toString()}`);
    return worker.logs.toString().includes('READY');
  }, { timeoutMs: 20_000, describe: () => worker.logs.toString() });
}

async function sigkill(worker: SpawnedNode): Promise<void> {
  worker.child.kill('SIGKILL');
  await worker.exited;
}

interface SideEffect {
  task_id: string;
  pid: number;
  attempt: number;
}

function sideEffects(): Promise<SideEffect[]> {
  return database.dataSource.query<SideEffect[]>(`SELECT task_id, pid, attempt FROM side_effects ORDER BY at`);
}

describe('a worker SIGKILLed mid-task (BullMQ on a private redis-server, worker processes on the built lib)', () => {
  beforeAll(async () => {
    redis = await startPrivateRedis();
    database = await openChaosDatabase('async_chaos_crash');
    producer = new TaskProcessor({ dataSource: database.dataSource, redisUrl: redis.url, queueName, worker: false, leaseMs: LEASE_MS });
    expect(await (producer.driver as BullMqDriver).ready(5_000)).toBe(true);
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGTERM', 5_000)));
    await database.dataSource.query('TRUNCATE tasks, side_effects');
  });

  afterAll(async () => {
    await cleanUp(
      () => Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL'))),
      () => producer?.close(),
      () => redis?.stop(),
      () => database?.close(),
    );
  });

  it('tasks hung before and inside ctx.complete are taken over and complete exactly once; finished ones are not redone', async () => {
    const a = startWorker(true);
    await waitReady(a);

    const submitted = await producer.submitMany([
      ...['before', 'before', 'before', 'inside', 'inside', 'inside'].map((hangAt) => ({ type: 'chaos.side-effect', payload: { hangAt } })),
      { type: 'chaos.side-effect', payload: { hangAt: null } },
      { type: 'chaos.side-effect', payload: { hangAt: null } },
    ]);
    const ids = submitted.map((r) => r.task.id);
    const interrupted = ids.slice(0, 6);
    const finishedByA = ids.slice(6);

    // A is mid-task: every hanging task has reached its stage, and the others are done.
    await waitFor('worker A to hang in 6 tasks and finish 2', async () => {
      const hanging = interrupted.every((id, i) => a.logs.toString().includes(`HANGING ${i < 3 ? 'before' : 'inside'} ${id}`));
      const rows = await taskRows(database.dataSource, ids);
      const running = rows.filter((r) => r.status === 'running').map((r) => r.id);
      const completed = rows.filter((r) => r.status === 'completed').map((r) => r.id);
      return hanging && running.length === 6 && completed.length === 2;
    }, { describe: () => a.logs.toString() });
    // The inside-hangs inserted their row in a transaction that is still open: nothing is visible.
    expect((await sideEffects()).map((s) => s.task_id).sort()).toEqual([...finishedByA].sort());

    const pidA = a.child.pid;
    await sigkill(a);
    const b = startWorker(false);
    await waitReady(b);

    const rows = await waitAllCompleted(database.dataSource, ids);
    const effects = await sideEffects();
    const perTask = new Map<string, SideEffect[]>();
    for (const e of effects) perTask.set(e.task_id, [...(perTask.get(e.task_id) ?? []), e]);
    for (const id of ids) expect(perTask.get(id), `side effects of ${id}`).toHaveLength(1);
    expect(effects).toHaveLength(ids.length);

    for (const id of interrupted) {
      const effect = perTask.get(id)?.[0];
      expect(effect?.pid).toBe(b.child.pid);
      expect(effect?.attempt).toBeGreaterThanOrEqual(2);
      expect(rows.find((r) => r.id === id)?.attempts).toBeGreaterThanOrEqual(2);
    }
    for (const id of finishedByA) {
      expect(perTask.get(id)?.[0]?.pid).toBe(pidA);
      expect(rows.find((r) => r.id === id)?.attempts).toBe(1);
    }
  });

  it('a worker frozen (SIGSTOP) past its lease comes back as a zombie: its late completions are fenced off', async () => {
    const a = startWorker(true, { HANG_MS: '3000' });
    await waitReady(a);
    const submitted = await producer.submitMany(
      ['before', 'before', 'before', 'inside', 'inside'].map((hangAt) => ({ type: 'chaos.side-effect', payload: { hangAt } })),
    );
    const ids = submitted.map((r) => r.task.id);
    const before = ids.slice(0, 3);
    const hangs = ids.map((id, i) => `HANGING ${i < 3 ? 'before' : 'inside'} ${id}`);
    await waitFor('worker A to reach its hangs', () => hangs.every((line) => a.logs.toString().includes(line)), {
      describe: () => a.logs.toString(),
    });
    a.child.kill('SIGSTOP');
    try {
      const b = startWorker(false);
      await waitReady(b);
      // B takes the tasks A was between steps on once their leases expire; the ones A froze
      // inside `ctx.complete` stay locked by A's open transaction, so B cannot take them.
      await waitAllCompleted(database.dataSource, before);
      expect((await sideEffects()).filter((e) => before.includes(e.task_id)).map((e) => e.pid)).toEqual([b.child.pid, b.child.pid, b.child.pid]);
    } finally {
      a.child.kill('SIGCONT');
    }
    // A wakes up with its attempts of `before` already done by B: ctx.complete must refuse.
    await waitFor('A to give up its lost attempts', () => before.every((id) => a.logs.toString().includes(`ATTEMPT-FAILED ${id} LeaseLostError`)), {
      describe: () => a.logs.toString(),
    });
    await waitAllCompleted(database.dataSource, ids);
    const effects = await sideEffects();
    const counts = new Map<string, number>();
    for (const e of effects) counts.set(e.task_id, (counts.get(e.task_id) ?? 0) + 1);
    expect(ids.map((id) => counts.get(id))).toEqual(ids.map(() => 1));
    expect(effects).toHaveLength(ids.length);
  });

  it('SIGKILL at an arbitrary point of a busy stream: every task completes, each side effect exactly once', async () => {
    const a = startWorker(false, { CONCURRENCY: '4' });
    await waitReady(a);
    const submitted = await producer.submitMany(
      Array.from({ length: 80 }, (_, i) => ({ type: 'chaos.side-effect', payload: { hangAt: null, workMs: 40 + ((i * 37) % 80) } })),
    );
    const ids = submitted.map((r) => r.task.id);

    // Kill A while it is busy: some tasks done, some running (the kill may land anywhere,
    // between a commit and BullMQ hearing of it included).
    await waitFor('worker A to have completed some tasks', async () => (await sideEffects()).length >= 15, { describe: () => a.logs.toString() });
    await sigkill(a);
    // (A COMMIT already on its way to PostgreSQL may still land after the process is gone.)

    const b = startWorker(false, { CONCURRENCY: '4' });
    await waitReady(b);
    await waitAllCompleted(database.dataSource, ids);

    const effects = await sideEffects();
    const counts = new Map<string, number>();
    for (const e of effects) counts.set(e.task_id, (counts.get(e.task_id) ?? 0) + 1);
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(new Set(effects.map((e) => e.task_id))).toEqual(new Set(ids));
    const byA = effects.filter((e) => e.pid === a.child.pid).length;
    const byB = effects.filter((e) => e.pid === b.child.pid).length;
    expect(byA).toBeGreaterThanOrEqual(15);
    expect(byB).toBeGreaterThan(0); // the kill did land mid-stream
    expect(byA + byB).toBe(ids.length);
  });
});
