import { startPrivateRedis, type PrivateRedis } from '@chat/testing';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QueueUnavailableError } from '../core/errors.js';
import type { AsyncProcessorOptions } from '../core/processor.options.js';
import { TaskProcessor } from '../core/task-processor.js';
import type { BullMqDriver } from '../drivers/bullmq.driver.js';
import { cleanUp, openChaosDatabase, statusCounts, taskCount, taskRows, waitAllCompleted, waitFor, type ChaosDatabase } from './chaos.support.js';

/**
 * Redis down (killed) or hung (SIGSTOP) under a producer: submission fails fast and writes
 * nothing, or is accepted and then not lost; nothing hangs; `stats()` still answers. The only
 * timings asserted are generous "it did not hang" bounds.
 */
const DOES_NOT_HANG_MS = 3_000;

let redis: PrivateRedis;
let database: ChaosDatabase;
const processors: TaskProcessor[] = [];

function processorOn(queueName: string, options: Partial<AsyncProcessorOptions> = {}): TaskProcessor {
  const processor = new TaskProcessor({
    dataSource: database.dataSource,
    redisUrl: redis.url,
    queueName,
    leaseMs: 2_000,
    reconcileIntervalMs: 300,
    staleAfterMs: 500,
    backoff: { baseMs: 50, maxMs: 200 },
    ...options,
  });
  processors.push(processor);
  return processor;
}

function countRuns(processor: TaskProcessor): Map<string, number> {
  const runs = new Map<string, number>();
  processor.register('chaos.down', {
    handle: async ({ task }) => {
      runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
      return Promise.resolve({ ok: true });
    },
  });
  return runs;
}

async function ready(processor: TaskProcessor): Promise<void> {
  expect(await (processor.driver as BullMqDriver).ready(10_000)).toBe(true);
}

/** How long `work` took to settle, and how it settled. */
async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = performance.now();
  try {
    const value = await work();
    return { ms: performance.now() - started, value };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

describe('Redis down or hung under submission (private redis-server)', () => {
  beforeAll(async () => {
    redis = await startPrivateRedis();
    database = await openChaosDatabase('async_chaos_down');
  });

  afterEach(async () => {
    redis.resume();
    if (!redis.running) await redis.start();
    await cleanUp(...processors.splice(0).map((p) => () => p.close()));
    await database.dataSource.query('TRUNCATE tasks, side_effects');
  });

  afterAll(async () => {
    await cleanUp(
      ...processors.splice(0).map((p) => () => p.close()),
      () => redis?.stop(),
      () => database?.close(),
    );
  });

  it('Redis killed: submit, submitMany and transaction reject at once with QueueUnavailableError and write nothing; stats answers; tasks accepted before complete after it returns', async () => {
    const queueName = `chaos-down-${randomUUID()}`;
    const producer = processorOn(queueName, { worker: false });
    await ready(producer);
    const accepted = await producer.submitMany(Array.from({ length: 20 }, (_, n) => ({ type: 'chaos.down', payload: { n } })));
    const acceptedIds = accepted.map((r) => r.task.id);

    await redis.kill();
    await waitFor('the producer to see Redis down', () => !producer.driver.isAvailable());

    const submit = await timed(() => producer.submit('chaos.down', { n: -1 }));
    expect(submit.error).toBeInstanceOf(QueueUnavailableError);
    expect((submit.error as QueueUnavailableError).retryAfterSeconds).toBe(5);
    expect(submit.ms).toBeLessThan(DOES_NOT_HANG_MS);

    const many = await timed(() => producer.submitMany([{ type: 'chaos.down', payload: { n: -2 } }, { type: 'chaos.down', payload: { n: -3 } }]));
    expect(many.error).toBeInstanceOf(QueueUnavailableError);
    expect(many.ms).toBeLessThan(DOES_NOT_HANG_MS);

    let workRan = false;
    const transaction = await timed(() =>
      producer.transaction(async (_manager, submitInTx) => {
        workRan = true;
        return submitInTx('chaos.down', { n: -4 });
      }),
    );
    expect(transaction.error).toBeInstanceOf(QueueUnavailableError);
    expect(workRan).toBe(false);
    expect(transaction.ms).toBeLessThan(DOES_NOT_HANG_MS);

    // A processor created while Redis is down refuses too (it never connected).
    const late = processorOn(queueName, { worker: false });
    const lateSubmit = await timed(() => late.submit('chaos.down', { n: -5 }));
    expect(lateSubmit.error).toBeInstanceOf(QueueUnavailableError);
    expect(lateSubmit.ms).toBeLessThan(DOES_NOT_HANG_MS);

    expect(await taskCount(database.dataSource)).toBe(20);

    const stats = await timed(() => producer.stats());
    expect(stats.error).toBeUndefined();
    expect(stats.ms).toBeLessThan(DOES_NOT_HANG_MS);
    expect(stats.value?.queue).toBeNull();
    expect(stats.value?.byStatus.pending).toBe(20);

    // Back, empty: the tasks accepted before the outage are queued again and complete once each.
    await redis.start();
    const worker = processorOn(queueName, { concurrency: 8 });
    const runs = countRuns(worker);
    await worker.start();
    await waitAllCompleted(database.dataSource, acceptedIds);
    expect(acceptedIds.map((id) => runs.get(id))).toEqual(acceptedIds.map(() => 1));
    expect(await taskCount(database.dataSource)).toBe(20);

    // And submission works again.
    await ready(producer);
    const { task } = await producer.submit('chaos.down', { n: 100 });
    await waitAllCompleted(database.dataSource, [task.id]);
  });

  it('Redis hung (SIGSTOP): submit and stats settle (commandTimeoutMs); accepted tasks are recorded and complete after SIGCONT, as do those running or queued before', async () => {
    const queueName = `chaos-hung-${randomUUID()}`;
    const producer = processorOn(queueName, { worker: false, commandTimeoutMs: 500 });
    const worker = processorOn(queueName, { concurrency: 4 });
    const runs = new Map<string, number>();
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    worker.register('chaos.down', {
      handle: async ({ task }) => {
        runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
        await gate;
        return null;
      },
    });
    await ready(producer);
    await worker.start();
    await ready(worker);

    // Accepted before the outage: four run (held at the gate, across the outage), six wait in Redis.
    const before = await producer.submitMany(Array.from({ length: 10 }, (_, n) => ({ type: 'chaos.down', payload: { n } })));
    const beforeIds = before.map((r) => r.task.id);
    await waitFor('four tasks to run', async () => (await statusCounts(database.dataSource)).running === 4);

    redis.pause();
    const acceptedDuring: string[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const countBefore = await taskCount(database.dataSource);
        const submit = await timed(() => producer.submit('chaos.down', { n: 1_000 + i }));
        expect(submit.ms).toBeLessThan(DOES_NOT_HANG_MS);
        if (submit.error === undefined) {
          // Accepted: the row is there (pending) even though Redis never answered.
          const id = submit.value?.task.id ?? '';
          expect((await taskRows(database.dataSource, [id]))[0]?.status).toBe('pending');
          acceptedDuring.push(id);
        } else {
          expect(submit.error).toBeInstanceOf(QueueUnavailableError);
          expect(await taskCount(database.dataSource)).toBe(countBefore);
        }
      }
      const stats = await timed(() => producer.stats());
      expect(stats.error).toBeUndefined();
      expect(stats.ms).toBeLessThan(DOES_NOT_HANG_MS);
      expect(stats.value?.queue).toBeNull();
      expect(stats.value?.byStatus).toMatchObject({ running: 4, pending: 6 + acceptedDuring.length });
    } finally {
      redis.resume();
    }

    openGate();
    const all = [...beforeIds, ...acceptedDuring];
    await waitAllCompleted(database.dataSource, all);
    expect(all.map((id) => runs.get(id))).toEqual(all.map(() => 1));
    expect((await producer.stats()).queue).not.toBeNull();
  });

  it.each([
    { outage: 'killed' as const },
    { outage: 'hung (SIGSTOP)' as const },
  ])('shutdown while Redis is $outage ends (bounded by the deadline): a finished attempt stays completed, a long one is released and completed later', async ({ outage }) => {
    const queueName = `chaos-stop-down-${randomUUID()}`;
    const first = processorOn(queueName, { concurrency: 4, shutdownTimeoutMs: 1_000 });
    first.register<{ ms: number }, string>('chaos.sleep', {
      handle: async ({ task, signal }) => {
        await sleep(task.payload.ms, undefined, { signal });
        return 'first';
      },
    });
    await first.start();
    await ready(first);
    const { task: short } = await first.submit('chaos.sleep', { ms: 300 });
    const { task: long } = await first.submit('chaos.sleep', { ms: 60_000 }, { timeoutMs: 120_000 });
    await waitFor('both tasks to run', async () => (await taskRows(database.dataSource, [short.id, long.id])).every((r) => r.status === 'running'));

    if (outage === 'killed') await redis.kill();
    else redis.pause();
    try {
      // The short attempt completes in PostgreSQL although BullMQ cannot hear of it.
      await waitAllCompleted(database.dataSource, [short.id]);
      const close = await timed(() => first.close());
      expect(close.error).toBeUndefined();
      expect(close.ms).toBeLessThan(20_000); // does not hang until Redis returns
      expect(await first.get(long.id)).toMatchObject({ status: 'pending', attempts: 0 });
    } finally {
      if (outage === 'killed') await redis.start();
      else redis.resume();
    }

    const second = processorOn(queueName);
    const runs = countRuns(second);
    second.register('chaos.sleep', { handle: () => Promise.resolve('second') });
    await second.start();
    await waitAllCompleted(database.dataSource, [long.id]);
    expect(await second.get(long.id)).toMatchObject({ status: 'completed', attempts: 1, result: 'second' });
    expect(await second.get(short.id)).toMatchObject({ status: 'completed', attempts: 1, result: 'first' });
    expect(runs.size).toBe(0);
  });
});
