import { startPrivateRedis, type PrivateRedis } from '@chat/testing';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AsyncProcessorOptions } from '../core/processor.options.js';
import { TaskProcessor } from '../core/task-processor.js';
import type { BullMqDriver } from '../drivers/bullmq.driver.js';
import { cleanUp, openChaosDatabase, rawRedis, statusCounts, waitAllCompleted, waitFor, type ChaosDatabase } from './chaos.support.js';

/**
 * Redis loses the queue (FLUSHALL, or a restart without persistence) while tasks are pending:
 * PostgreSQL still has them, and the reconciler queues them again. Every task completes, and its
 * handler runs exactly once.
 */
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

async function ready(processor: TaskProcessor): Promise<void> {
  expect(await (processor.driver as BullMqDriver).ready(10_000)).toBe(true);
}

/** Registers `chaos.count` on `processor`, counting the handler's runs per task id. */
function countRuns(processor: TaskProcessor, workMs = 0): Map<string, number> {
  const runs = new Map<string, number>();
  processor.register<{ n: number }, { n: number }>('chaos.count', {
    handle: async ({ task }) => {
      runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
      if (workMs > 0) await sleep(workMs);
      return { n: task.payload.n };
    },
  });
  return runs;
}

function expectEachRanOnce(runs: Map<string, number>, ids: string[]): void {
  expect(new Set(runs.keys())).toEqual(new Set(ids));
  expect([...runs.entries()].filter(([, n]) => n !== 1)).toEqual([]);
}

describe('Redis loses the queue with tasks pending (private redis-server)', () => {
  beforeAll(async () => {
    redis = await startPrivateRedis();
    database = await openChaosDatabase('async_chaos_flush');
  });

  afterEach(async () => {
    // A test that failed with Redis down must not leave its processors hanging on close.
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

  it('FLUSHALL with 200 tasks pending and no worker: a worker started afterwards completes each exactly once', async () => {
    const queueName = `chaos-flush-${randomUUID()}`;
    const producer = processorOn(queueName, { worker: false });
    await ready(producer);
    const submitted = await producer.submitMany(Array.from({ length: 200 }, (_, n) => ({ type: 'chaos.count', payload: { n } })));
    const ids = submitted.map((r) => r.task.id);
    expect((await producer.stats()).queue?.waiting).toBe(200);

    const client = await rawRedis(redis.port);
    try {
      expect(await client.flushall()).toBe('OK');
      expect(await client.dbsize()).toBe(0);
    } finally {
      client.disconnect();
    }
    expect((await producer.stats()).queue?.waiting).toBe(0);
    expect(await statusCounts(database.dataSource)).toEqual({ pending: 200 });

    const worker = processorOn(queueName, { concurrency: 16 });
    const runs = countRuns(worker);
    await worker.start();
    await waitAllCompleted(database.dataSource, ids);
    expectEachRanOnce(runs, ids);
  });

  it('FLUSHALL under a running worker, with jobs waiting, active and delayed for a retry: every task completes, each success exactly once', async () => {
    const queueName = `chaos-flush-busy-${randomUUID()}`;
    const producer = processorOn(queueName, { worker: false });
    const worker = processorOn(queueName, { concurrency: 4, backoff: { baseMs: 400, maxMs: 800 } });
    const attempts = new Map<string, number>();
    const successes = new Map<string, number>();
    worker.register<{ failFirst: boolean }, null>('chaos.flaky', {
      handle: async ({ task, attempt }) => {
        attempts.set(task.id, (attempts.get(task.id) ?? 0) + 1);
        await sleep(10);
        if (task.payload.failFirst && attempt === 1) throw new Error('first attempt fails');
        successes.set(task.id, (successes.get(task.id) ?? 0) + 1);
        return null;
      },
    });
    await worker.start();
    await ready(producer);
    await ready(worker);

    const submitted = await producer.submitMany(Array.from({ length: 120 }, (_, n) => ({ type: 'chaos.flaky', payload: { failFirst: n % 3 === 0 } })));
    const ids = submitted.map((r) => r.task.id);
    await waitFor('some retries to be scheduled and some tasks done', async () => {
      const queue = (await producer.stats()).queue;
      return (queue?.delayed ?? 0) > 0 && ((await statusCounts(database.dataSource)).completed ?? 0) >= 10;
    });
    const client = await rawRedis(redis.port);
    try {
      expect(await client.flushall()).toBe('OK');
    } finally {
      client.disconnect();
    }

    await waitAllCompleted(database.dataSource, ids);
    expectEachRanOnce(successes, ids);
    for (const [n, id] of ids.entries()) expect(attempts.get(id), `handler runs of task ${n}`).toBe(n % 3 === 0 ? 2 : 1);
  });

  it('Redis killed and restarted empty under a running worker: pending tasks all complete, each exactly once', async () => {
    const queueName = `chaos-restart-${randomUUID()}`;
    const producer = processorOn(queueName, { worker: false });
    const worker = processorOn(queueName, { concurrency: 2 });
    const runs = countRuns(worker, 20);
    await worker.start();
    await ready(producer);
    await ready(worker);

    const submitted = await producer.submitMany(Array.from({ length: 100 }, (_, n) => ({ type: 'chaos.count', payload: { n } })));
    const ids = submitted.map((r) => r.task.id);
    await waitFor('some tasks to complete', async () => ((await statusCounts(database.dataSource)).completed ?? 0) >= 10);

    await redis.kill();
    await waitFor('both processors to see Redis down', () => !producer.driver.isAvailable() && !worker.driver.isAvailable());
    const during = await statusCounts(database.dataSource);
    expect(during.pending ?? 0).toBeGreaterThan(0);

    await redis.start(); // empty: no persistence
    await waitAllCompleted(database.dataSource, ids);
    expectEachRanOnce(runs, ids);

    // The producer is back too: a new task is queued and completed.
    await ready(producer);
    const { task } = await producer.submit('chaos.count', { n: 1_000 });
    await waitAllCompleted(database.dataSource, [task.id]);
    expect(runs.get(task.id)).toBe(1);
  });

  it('Redis killed and restarted empty with tasks pending and no worker: a worker started while Redis is down completes them once it is back', async () => {
    const queueName = `chaos-restart-idle-${randomUUID()}`;
    const producer = processorOn(queueName, { worker: false });
    await ready(producer);
    const submitted = await producer.submitMany(Array.from({ length: 50 }, (_, n) => ({ type: 'chaos.count', payload: { n } })));
    const ids = submitted.map((r) => r.task.id);

    await redis.kill();
    const worker = processorOn(queueName, { concurrency: 8 });
    const runs = countRuns(worker);
    await worker.start(); // must not hang nor throw with Redis down
    expect(await statusCounts(database.dataSource)).toEqual({ pending: 50 });

    await redis.start();
    await waitAllCompleted(database.dataSource, ids);
    expectEachRanOnce(runs, ids);
  });
});
