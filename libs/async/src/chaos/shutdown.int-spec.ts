import { startPrivateRedis, type PrivateRedis } from '@chat/testing';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AsyncProcessorOptions } from '../core/processor.options.js';
import type { TaskEvent } from '../core/task-events.js';
import { TaskProcessor } from '../core/task-processor.js';
import type { BullMqDriver } from '../drivers/bullmq.driver.js';
import { cleanUp, openChaosDatabase, taskRows, waitAllCompleted, waitFor, type ChaosDatabase } from './chaos.support.js';

/**
 * Graceful shutdown (what SIGTERM triggers through the Nest module): `stop(deadline)` lets a
 * short attempt finish, and gives a long one back past the deadline (its signal aborts; the task
 * returns to `pending`, the attempt not counted) for another processor to run. Both drivers.
 */
const DEADLINE_MS = 1_500;

interface Sleep {
  ms: number;
}

describe.each([
  { driver: 'bullmq' as const },
  { driver: 'in-process' as const },
])('shutdown with a deadline ($driver driver)', ({ driver }) => {
  let redis: PrivateRedis | undefined;
  let database: ChaosDatabase;
  const processors: TaskProcessor[] = [];

  function processorOn(queueName: string, options: Partial<AsyncProcessorOptions> = {}): TaskProcessor {
    const processor = new TaskProcessor({
      dataSource: database.dataSource,
      redisUrl: redis?.url ?? null,
      queueName,
      leaseMs: 2_000,
      reconcileIntervalMs: 300,
      staleAfterMs: 500,
      concurrency: 4,
      ...options,
    });
    processors.push(processor);
    return processor;
  }

  async function started(processor: TaskProcessor): Promise<void> {
    await processor.start();
    if (driver === 'bullmq') expect(await (processor.driver as BullMqDriver).ready(10_000)).toBe(true);
  }

  beforeAll(async () => {
    if (driver === 'bullmq') redis = await startPrivateRedis();
    database = await openChaosDatabase(`async_chaos_stop_${driver.replace('-', '_')}`);
  });

  afterEach(async () => {
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

  it('a short attempt finishes within the deadline; a long one that honours its signal is released, not counted, and completed by the next processor', async () => {
    const queueName = `chaos-stop-${randomUUID()}`;
    const first = processorOn(queueName);
    const aborted: unknown[] = [];
    first.register<Sleep, { by: string }>('chaos.sleep', {
      handle: async ({ task, signal }) => {
        try {
          await sleep(task.payload.ms, undefined, { signal });
        } catch (error) {
          aborted.push(signal.reason);
          throw error;
        }
        return { by: 'first' };
      },
    });
    const events: TaskEvent[] = [];
    first.onEvent((e) => events.push(e));
    await started(first);

    const { task: short } = await first.submit<Sleep>('chaos.sleep', { ms: 300 });
    const { task: long } = await first.submit<Sleep>('chaos.sleep', { ms: 60_000 }, { timeoutMs: 120_000 });
    await waitFor('both tasks to run', async () => (await taskRows(database.dataSource, [short.id, long.id])).every((r) => r.status === 'running'));

    const stopping = performance.now();
    await first.stop(DEADLINE_MS);
    // Only a lower bound: the long attempt had its deadline before it was given back.
    expect(performance.now() - stopping).toBeGreaterThanOrEqual(DEADLINE_MS - 50);

    const [shortRow, longRow] = await Promise.all([first.get(short.id), first.get(long.id)]);
    expect(shortRow).toMatchObject({ status: 'completed', attempts: 1, result: { by: 'first' } });
    expect(longRow).toMatchObject({ status: 'pending', attempts: 0, error: null, result: null });
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toMatchObject({ name: 'ShutdownError' });
    expect(events.filter((e) => e.kind === 'released')).toEqual([{ kind: 'released', type: 'chaos.sleep', priority: 'normal' }]);
    expect(events.filter((e) => e.kind === 'completed')).toHaveLength(1);
    await first.stop(DEADLINE_MS); // idempotent

    const second = processorOn(queueName);
    const ran: string[] = [];
    second.register<Sleep, { by: string }>('chaos.sleep', {
      handle: async ({ task }) => {
        ran.push(task.id);
        return Promise.resolve({ by: 'second' });
      },
    });
    await started(second);
    const [done] = await waitAllCompleted(database.dataSource, [long.id]);
    expect(done?.attempts).toBe(1);
    expect(await second.get(long.id)).toMatchObject({ status: 'completed', result: { by: 'second' } });
    expect(ran).toEqual([long.id]);
  });

  it('a handler that ignores its signal is released at the deadline all the same; its late ctx.complete is refused, so the side effect happens once', async () => {
    const queueName = `chaos-stop-deaf-${randomUUID()}`;
    const first = processorOn(queueName);
    let lingering: Promise<unknown> = Promise.resolve();
    first.register<Sleep, string>('chaos.deaf', {
      handle: (ctx) => {
        // Deaf to its signal: keeps going after the release, then tries to commit its side effect.
        const work = (async () => {
          await sleep(ctx.task.payload.ms);
          return ctx.complete(async (manager) => {
            await manager.query('INSERT INTO side_effects (task_id, pid, attempt) VALUES ($1, 1, $2)', [ctx.task.id, ctx.attempt]);
            return 'first';
          });
        })();
        lingering = work.catch((error: unknown) => error);
        return work;
      },
    });
    await started(first);
    const { task } = await first.submit<Sleep>('chaos.deaf', { ms: DEADLINE_MS + 1_500 });
    await waitFor('the task to run', async () => (await first.get(task.id))?.status === 'running');
    await first.stop(DEADLINE_MS);
    expect(await first.get(task.id)).toMatchObject({ status: 'pending', attempts: 0 });

    const second = processorOn(queueName);
    second.register<Sleep, string>('chaos.deaf', {
      handle: (ctx) =>
        ctx.complete(async (manager) => {
          await manager.query('INSERT INTO side_effects (task_id, pid, attempt) VALUES ($1, 2, $2)', [ctx.task.id, ctx.attempt]);
          return 'second';
        }),
    });
    await started(second);
    await waitAllCompleted(database.dataSource, [task.id]);
    expect(await lingering).toMatchObject({ name: 'ShutdownError' });
    expect(await database.dataSource.query(`SELECT pid, attempt FROM side_effects WHERE task_id = $1`, [task.id])).toEqual([{ pid: 2, attempt: 1 }]);
    expect(await second.get(task.id)).toMatchObject({ status: 'completed', attempts: 1, result: 'second' });
  });

  it('stop() with nothing running returns at once and leaves pending tasks for the next processor', async () => {
    const queueName = `chaos-stop-idle-${randomUUID()}`;
    const first = processorOn(queueName);
    first.register('chaos.noop', { handle: () => Promise.resolve(null) });
    await started(first);
    await first.pause();
    const { task } = await first.submit('chaos.noop', {});
    await first.stop(DEADLINE_MS);
    expect((await first.get(task.id))?.status).toBe('pending');

    const second = processorOn(queueName);
    second.register('chaos.noop', { handle: () => Promise.resolve('second') });
    await started(second);
    await waitAllCompleted(database.dataSource, [task.id]);
    expect((await second.get(task.id))?.result).toBe('second');
  });
});
