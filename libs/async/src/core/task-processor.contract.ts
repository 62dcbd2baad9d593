import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { QueueDriver } from '../drivers/queue-driver.js';
import { InvalidCursorError } from '../store/task-store.js';
import { QueueFullError, ShutdownError, TaskTimeoutError, UnknownTaskTypeError } from './errors.js';
import type { TaskEvent } from './task-events.js';
import { TaskProcessor } from './task-processor.js';
import type { AsyncProcessorOptions } from './processor.options.js';
import { PermanentTaskError, PRIORITIES, type Priority, type Task, type TaskStatus } from './task.types.js';

/**
 * The behaviour every queue driver must give the task processor, against a real PostgreSQL.
 * Run by `task-processor.in-process.int-spec.ts` and `task-processor.bullmq.int-spec.ts`.
 *
 * Timing is only ever bounded from below (the machine is shared and noisy): the tests wait with
 * `eventually` (polling, generous overall timeout) and never assert that something was fast. The
 * few fixed sleeps are for negative checks ("nothing ran meanwhile").
 *
 * Not a spec file: it only registers `describe`/`it` blocks.
 */
export interface ProcessorContractEnv {
  /** The DataSource on the test's own database, `asyncMigrations` run. */
  dataSource(): DataSource;
  /**
   * A fresh driver, ready to enqueue. Drivers made with the same `queue` name share their jobs when
   * the driver can (BullMQ: same queue in Redis); the in-process driver cannot, and the contract
   * relies on the reconciler there.
   */
  makeDriver(queue: string): Promise<QueueDriver>;
}

const TIMEOUT = 15_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it answers something other than null/undefined/false. */
export async function eventually<T>(probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, what: string, timeoutMs = TIMEOUT): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

const RANK: Record<Priority, number> = { low: 0, normal: 1, high: 2, urgent: 3, critical: 4 };

export function describeProcessorContract(name: string, env: ProcessorContractEnv): void {
  describe(`TaskProcessor contract: ${name}`, () => {
    let queue = '';
    const processors: TaskProcessor[] = [];
    /** Handler work still in flight after a test's assertions (timed-out attempts); awaited before the next test. */
    const stragglers: Array<Promise<unknown>> = [];

    const db = (): DataSource => env.dataSource();

    beforeEach(async () => {
      queue = `q-${randomUUID()}`;
      await db().query('TRUNCATE tasks');
      await db().query('CREATE TABLE IF NOT EXISTS side_effects (task_id uuid NOT NULL, attempt int NOT NULL, note text NOT NULL)');
      await db().query('TRUNCATE side_effects');
    });

    afterEach(async () => {
      await Promise.allSettled(stragglers.splice(0));
      for (const p of processors.splice(0).reverse()) await p.close();
    });

    /** A processor on this test's queue (or `queueName`), not started. */
    async function processor(options: Partial<AsyncProcessorOptions> = {}, queueName = queue): Promise<TaskProcessor> {
      const driver = await env.makeDriver(queueName);
      const p = new TaskProcessor(
        {
          dataSource: db(),
          concurrency: 4,
          backoff: { baseMs: 50, maxMs: 500 },
          reconcileIntervalMs: 60_000,
          shutdownTimeoutMs: 2_000,
          ...options,
        },
        driver,
      );
      processors.push(p);
      return p;
    }

    async function finished(p: TaskProcessor, id: string): Promise<Task> {
      return eventually(async () => {
        const task = await p.get(id);
        return task !== null && (task.status === 'completed' || task.status === 'failed') ? task : null;
      }, `task ${id} to finish`);
    }

    async function statusOf(id: string): Promise<TaskStatus | undefined> {
      const rows: Array<{ status: TaskStatus }> = await db().query('SELECT status FROM tasks WHERE id = $1', [id]);
      return rows[0]?.status;
    }

    async function taskCount(): Promise<number> {
      const rows: Array<{ n: number }> = await db().query('SELECT count(*)::int AS n FROM tasks');
      return rows[0]?.n ?? -1;
    }

    async function sideEffects(taskId?: string): Promise<Array<{ task_id: string; attempt: number; note: string }>> {
      return taskId === undefined
        ? db().query('SELECT task_id, attempt, note FROM side_effects ORDER BY note')
        : db().query('SELECT task_id, attempt, note FROM side_effects WHERE task_id = $1 ORDER BY note', [taskId]);
    }

    // ---- running -------------------------------------------------------------------------------

    it('runs a task, stores its result, and moves pending → running → completed with ordered timestamps', async () => {
      const p = await processor();
      let seenWhileRunning: Task | null = null;
      p.register<{ n: number }, { doubled: number; attempt: number }>('double', {
        handle: async ({ task, attempt }) => {
          seenWhileRunning = await p.get(task.id);
          return { doubled: task.payload.n * 2, attempt };
        },
      });

      const { task, created } = await p.submit('double', { n: 21 }, { ownerId: 'alice' });
      expect(created).toBe(true);
      expect(task).toMatchObject({ type: 'double', status: 'pending', attempts: 0, priority: 'normal', ownerId: 'alice', payload: { n: 21 } });
      expect(task.startedAt).toBeNull();
      expect(await statusOf(task.id)).toBe('pending');

      await p.start();
      const done = await finished(p, task.id);

      expect(seenWhileRunning).toMatchObject({ status: 'running', attempts: 1, finishedAt: null });
      expect(seenWhileRunning!.startedAt).not.toBeNull();
      expect(done).toMatchObject({ status: 'completed', attempts: 1, result: { doubled: 42, attempt: 1 }, error: null });
      expect(done.startedAt).not.toBeNull();
      expect(done.finishedAt).not.toBeNull();
      expect(done.createdAt.getTime()).toBeLessThanOrEqual(done.startedAt!.getTime());
      expect(done.startedAt!.getTime()).toBeLessThanOrEqual(done.finishedAt!.getTime());
      expect(done.finishedAt!.getTime()).toBeLessThanOrEqual(done.updatedAt.getTime());
    });

    it('runs critical first … low last, FIFO within a level (concurrency 1, submitted before the worker starts)', async () => {
      const p = await processor({ concurrency: 1 });
      const ran: number[] = [];
      p.register<{ seq: number }, null>('ordered', {
        handle: async ({ task }) => {
          ran.push(task.payload.seq);
          return null;
        },
      });
      // 20 tasks, priorities interleaved so that neither submission order nor grouping gives the answer.
      const pattern: Priority[] = ['normal', 'low', 'critical', 'high', 'urgent', 'low', 'normal', 'critical', 'urgent', 'high'];
      const submitted: Array<{ seq: number; priority: Priority; id: string }> = [];
      for (let seq = 0; seq < 20; seq++) {
        const priority = pattern[(seq * 3) % pattern.length];
        const { task } = await p.submit('ordered', { seq }, { priority });
        submitted.push({ seq, priority, id: task.id });
      }
      expect(new Set(submitted.map((s) => s.priority))).toEqual(new Set(PRIORITIES));

      await p.start();
      await eventually(() => ran.length === 20, 'all 20 tasks to run');

      const expected = [...submitted].sort((a, b) => RANK[b.priority] - RANK[a.priority] || a.seq - b.seq).map((s) => s.seq);
      expect(ran).toEqual(expected);
      for (const s of submitted) expect(await statusOf(s.id)).toBe('completed');
    });

    it('submitMany returns the tasks in request order', async () => {
      const p = await processor();
      const earlier = await p.submit('batch', { i: 'earlier' }, { ownerId: 'o1', idempotencyKey: 'k-earlier' });
      const requests = [
        { type: 'batch', payload: { i: 0 }, priority: 'low' as const },
        { type: 'other', payload: { i: 1 }, priority: 'critical' as const },
        { type: 'batch', payload: { i: 'earlier-again' }, ownerId: 'o1', idempotencyKey: 'k-earlier' },
        { type: 'batch', payload: { i: 3 }, priority: 'high' as const, ownerId: 'o2' },
        { type: 'batch', payload: { i: 4 }, idempotencyKey: 'k-4', ownerId: 'o1' },
        { type: 'other', payload: { i: 5 } },
      ];
      const results = await p.submitMany(requests);

      expect(results).toHaveLength(requests.length);
      expect(results.map((r) => r.created)).toEqual([true, true, false, true, true, true]);
      expect(results[2].task.id).toBe(earlier.task.id);
      expect(results[2].task.payload).toEqual({ i: 'earlier' });
      for (const [i, r] of results.entries()) {
        if (i === 2) continue;
        expect(r.task.payload).toEqual(requests[i].payload);
        expect(r.task.type).toBe(requests[i].type);
        expect(r.task.priority).toBe(requests[i].priority ?? 'normal');
      }
      expect(new Set(results.map((r) => r.task.id)).size).toBe(requests.length);
      expect(await taskCount()).toBe(6);

      // The same key twice in one batch: one task, the second answer points at it.
      const twice = await p.submitMany([
        { type: 'batch', payload: { first: true }, ownerId: 'o3', idempotencyKey: 'dup' },
        { type: 'batch', payload: { plain: true } },
        { type: 'batch', payload: { first: false }, ownerId: 'o3', idempotencyKey: 'dup' },
      ]);
      expect(twice.map((r) => r.created)).toEqual([true, true, false]);
      expect(twice[2].task.id).toBe(twice[0].task.id);
      expect(twice[0].task.payload).toEqual({ first: true });
      expect(twice[1].task.payload).toEqual({ plain: true });
      expect(await taskCount()).toBe(8);
    });

    it('rejects invalid submit options before storing anything', async () => {
      const p = await processor();
      await expect(p.submit('x', {}, { priority: 'whenever' as Priority })).rejects.toBeInstanceOf(TypeError);
      await expect(p.submit('x', {}, { attempts: 0 })).rejects.toBeInstanceOf(TypeError);
      await expect(p.submit('x', {}, { attempts: 1.5 })).rejects.toBeInstanceOf(TypeError);
      await expect(p.submit('x', {}, { timeoutMs: 0 })).rejects.toBeInstanceOf(TypeError);
      await expect(p.submitMany([{ type: 'x', payload: 1 }, { type: 'x', payload: 2, attempts: -1 }])).rejects.toBeInstanceOf(TypeError);
      expect(await taskCount()).toBe(0);
    });

    // ---- failures ------------------------------------------------------------------------------

    it('retries a failing handler with growing backoff, then completes (attempts 3)', async () => {
      const backoff = { baseMs: 100, maxMs: 2_000 };
      const p = await processor({ backoff });
      const startedAt: number[] = [];
      const events: TaskEvent[] = [];
      p.onEvent((e) => events.push(e));
      p.register<null, string>('flaky', {
        handle: async ({ attempt }) => {
          startedAt.push(performance.now());
          if (attempt < 3) throw new Error(`fail #${attempt}`);
          return 'finally';
        },
      });
      await p.start();
      const { task } = await p.submit('flaky', null, { attempts: 3 });
      const done = await finished(p, task.id);

      expect(done).toMatchObject({ status: 'completed', attempts: 3, result: 'finally', error: null });
      expect(startedAt).toHaveLength(3);
      // Equal jitter: the delay after attempt k is in [c/2, c], c = min(max, base·2^(k−1)); only the
      // lower bound is asserted (1 ms of slack for the clocks' rounding).
      for (let k = 1; k < startedAt.length; k++) {
        const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (k - 1));
        expect(startedAt[k] - startedAt[k - 1], `gap after attempt ${k}`).toBeGreaterThanOrEqual(ceiling / 2 - 1);
      }
      const failed = events.filter((e) => e.kind === 'failed');
      expect(failed.map((e) => [e.attempt, e.final])).toEqual([
        [1, false],
        [2, false],
      ]);
    });

    it('fails a task for good once its attempts are exhausted, recording the last error', async () => {
      const p = await processor();
      let calls = 0;
      p.register('doomed', {
        handle: async ({ attempt }) => {
          calls++;
          throw new Error(`boom on ${attempt}`);
        },
      });
      await p.start();
      const { task } = await p.submit('doomed', {}, { attempts: 2 });
      const done = await finished(p, task.id);

      expect(done.status).toBe('failed');
      expect(done.attempts).toBe(2);
      expect(done.error).toEqual({ name: 'Error', message: 'boom on 2', attempt: 2 });
      expect(done.finishedAt).not.toBeNull();
      expect(done.result).toBeNull();
      await sleep(200);
      expect(calls).toBe(2);
    });

    it('fails at once on PermanentTaskError, whatever attempts remain', async () => {
      const p = await processor();
      let calls = 0;
      p.register('bad-input', {
        handle: async () => {
          calls++;
          throw new PermanentTaskError('the payload is wrong');
        },
      });
      await p.start();
      const { task } = await p.submit('bad-input', {}, { attempts: 5 });
      const done = await finished(p, task.id);

      expect(done).toMatchObject({ status: 'failed', attempts: 1 });
      expect(done.error).toEqual({ name: 'PermanentTaskError', message: 'the payload is wrong', attempt: 1 });
      await sleep(200);
      expect(calls).toBe(1);
    });

    it('fails an attempt that runs past timeoutMs with TaskTimeoutError and aborts its signal', async () => {
      const p = await processor();
      let signal: AbortSignal | null = null;
      const handlerDone = deferred();
      stragglers.push(handlerDone.promise);
      p.register('sleepy', {
        handle: async (ctx) => {
          signal = ctx.signal;
          await sleep(800); // ignores its signal on purpose
          handlerDone.resolve();
          return 'too late';
        },
      });
      await p.start();
      const { task } = await p.submit('sleepy', {}, { attempts: 1, timeoutMs: 150 });
      const done = await finished(p, task.id);

      expect(done.status).toBe('failed');
      expect(done.attempts).toBe(1);
      expect(done.error).toMatchObject({ name: 'TaskTimeoutError', attempt: 1 });
      expect(signal).not.toBeNull();
      expect(signal!.aborted).toBe(true);
      expect(signal!.reason).toBeInstanceOf(TaskTimeoutError);

      // The handler finishing later does not turn the task into a success.
      await handlerDone.promise;
      await sleep(100);
      expect(await p.get(task.id)).toMatchObject({ status: 'failed', result: null });
    });

    it('does not commit a late ctx.complete from a timed-out attempt (fencing)', async () => {
      const p = await processor({ backoff: { baseMs: 50, maxMs: 100 } });
      const late = deferred<unknown>();
      stragglers.push(late.promise);
      p.register<null, { attempt: number }>('fenced', {
        handle: async (ctx) => {
          if (ctx.attempt === 1) {
            await sleep(700); // past the timeout, ignoring the signal
            try {
              await ctx.complete(async (m) => {
                await m.query(`INSERT INTO side_effects VALUES ($1, $2, 'late')`, [ctx.task.id, ctx.attempt]);
                return { attempt: 1 };
              });
              late.resolve('committed');
            } catch (error) {
              late.resolve(error);
            }
            return { attempt: 1 };
          }
          return ctx.complete(async (m) => {
            await m.query(`INSERT INTO side_effects VALUES ($1, $2, 'second')`, [ctx.task.id, ctx.attempt]);
            return { attempt: ctx.attempt };
          });
        },
      });
      await p.start();
      const { task } = await p.submit('fenced', null, { attempts: 2, timeoutMs: 200 });
      const done = await finished(p, task.id);
      expect(done).toMatchObject({ status: 'completed', attempts: 2, result: { attempt: 2 } });

      const lateOutcome = await late.promise;
      expect(lateOutcome).not.toBe('committed');
      expect(lateOutcome).toBeInstanceOf(Error);
      expect(await sideEffects(task.id)).toEqual([{ task_id: task.id, attempt: 2, note: 'second' }]);
      expect(await p.get(task.id)).toMatchObject({ status: 'completed', attempts: 2, result: { attempt: 2 } });
    });

    it('fails a task of an unknown type with UnknownTaskTypeError', async () => {
      const p = await processor();
      await p.start();
      const { task } = await p.submit('nobody.handles.this', { x: 1 }, { attempts: 3 });
      const done = await finished(p, task.id);
      expect(done.status).toBe('failed');
      expect(done.attempts).toBe(1);
      expect(done.error).toMatchObject({ name: 'UnknownTaskTypeError', message: new UnknownTaskTypeError('nobody.handles.this').message, attempt: 1 });
    });

    // ---- submission ----------------------------------------------------------------------------

    it('idempotency: same owner + key gives the same task and runs it once; another owner gets its own', async () => {
      const p = await processor();
      let calls = 0;
      p.register('once', {
        handle: async () => {
          calls++;
          return calls;
        },
      });
      await p.start();
      const first = await p.submit('once', { v: 1 }, { ownerId: 'alice', idempotencyKey: 'k1' });
      const again = await p.submit('once', { v: 2 }, { ownerId: 'alice', idempotencyKey: 'k1' });
      expect(first.created).toBe(true);
      expect(again.created).toBe(false);
      expect(again.task.id).toBe(first.task.id);
      expect(again.task.payload).toEqual({ v: 1 });

      const done = await finished(p, first.task.id);
      expect(done).toMatchObject({ status: 'completed', result: 1 });
      const afterDone = await p.submit('once', { v: 3 }, { ownerId: 'alice', idempotencyKey: 'k1' });
      expect(afterDone).toMatchObject({ created: false, task: { id: first.task.id, status: 'completed' } });

      const bob = await p.submit('once', { v: 4 }, { ownerId: 'bob', idempotencyKey: 'k1' });
      expect(bob.created).toBe(true);
      expect(bob.task.id).not.toBe(first.task.id);
      await finished(p, bob.task.id);

      // Ownerless tasks share one key space too.
      const anon1 = await p.submit('once', {}, { idempotencyKey: 'k-anon' });
      const anon2 = await p.submit('once', {}, { idempotencyKey: 'k-anon' });
      expect(anon2).toMatchObject({ created: false, task: { id: anon1.task.id } });
      await finished(p, anon1.task.id);

      await sleep(200);
      expect(calls).toBe(3);
      expect(await taskCount()).toBe(3);
    });

    it('refuses a submit past maxPending with QueueFullError and stores nothing extra; a batch is all or nothing', async () => {
      const p = await processor({ maxPending: 5, retryAfterSeconds: 7 });
      const events: TaskEvent[] = [];
      p.onEvent((e) => events.push(e));
      for (let i = 0; i < 3; i++) await p.submit('any', { i });

      const batch = [0, 1, 2].map((i) => ({ type: 'any', payload: { batch: i } }));
      const batchError: unknown = await p.submitMany(batch).catch((e: unknown) => e);
      expect(batchError).toBeInstanceOf(QueueFullError);
      expect(await taskCount()).toBe(3);

      await p.submitMany(batch.slice(0, 2));
      expect(await taskCount()).toBe(5);

      const error: unknown = await p.submit('any', { i: 'sixth' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueueFullError);
      expect(error).toMatchObject({ retryAfterSeconds: 7, limit: 5, pending: 5 });
      expect(await taskCount()).toBe(5);
      expect(events.filter((e) => e.kind === 'rejected')).toEqual([
        { kind: 'rejected', reason: 'full', count: 3 },
        { kind: 'rejected', reason: 'full', count: 1 },
      ]);
    });

    it('transaction: a rollback leaves no task and runs nothing; a commit runs it after the caller’s writes', async () => {
      const p = await processor();
      const ran: string[] = [];
      p.register<{ tag: string }, string>('outbox', {
        handle: async ({ task }) => {
          const rows: unknown[] = await db().query(`SELECT 1 FROM side_effects WHERE note = $1`, [task.payload.tag]);
          ran.push(`${task.payload.tag}:${rows.length}`);
          return task.payload.tag;
        },
      });
      await p.start();

      const rolledBack = await p
        .transaction(async (manager, submit) => {
          await manager.query(`INSERT INTO side_effects VALUES ($1, 0, 'rolled-back')`, [randomUUID()]);
          await submit('outbox', { tag: 'rolled-back' });
          throw new Error('changed my mind');
        })
        .catch((e: unknown) => e);
      expect(rolledBack).toBeInstanceOf(Error);
      expect((rolledBack as Error).message).toBe('changed my mind');
      expect(await taskCount()).toBe(0);

      const value = await p.transaction(async (manager, submit) => {
        await manager.query(`INSERT INTO side_effects VALUES ($1, 0, 'committed')`, [randomUUID()]);
        const { task } = await submit('outbox', { tag: 'committed' }, { priority: 'high' });
        return task.id;
      });
      const done = await finished(p, value);
      expect(done).toMatchObject({ status: 'completed', result: 'committed', priority: 'high' });
      await sleep(200);
      // It ran once, and saw the caller's write (queued only after the commit).
      expect(ran).toEqual(['committed:1']);
      expect(await taskCount()).toBe(1);
    });

    it('ctx.complete writes its side effect exactly once, and the task result is what work returned', async () => {
      const p = await processor();
      p.register<{ note: string }, unknown>('effect', {
        handle: async (ctx) => {
          const written = await ctx.complete(async (m) => {
            await m.query('INSERT INTO side_effects VALUES ($1, $2, $3)', [ctx.task.id, ctx.attempt, ctx.task.payload.note]);
            return { written: ctx.task.payload.note };
          });
          expect(written).toEqual({ written: ctx.task.payload.note });
          return { ignored: 'the handler’s own return value' };
        },
      });
      await p.start();
      const { task } = await p.submit('effect', { note: 'hello' });
      const done = await finished(p, task.id);
      expect(done).toMatchObject({ status: 'completed', attempts: 1, result: { written: 'hello' } });
      await sleep(200);
      expect(await sideEffects()).toEqual([{ task_id: task.id, attempt: 1, note: 'hello' }]);
    });

    // ---- reading and admin ---------------------------------------------------------------------

    it('retry(id) gives a failed task fresh attempts and runs it again; null for a task that is not failed', async () => {
      const p = await processor();
      let healthy = false;
      p.register('heals', {
        handle: async () => {
          if (!healthy) throw new Error('not yet');
          return 'ok';
        },
      });
      await p.start();
      const { task } = await p.submit('heals', {}, { attempts: 1 });
      expect(await finished(p, task.id)).toMatchObject({ status: 'failed', attempts: 1 });

      healthy = true;
      const retried = await p.retry(task.id);
      expect(retried).toMatchObject({ id: task.id, status: 'pending', attempts: 0 });
      const done = await finished(p, task.id);
      expect(done).toMatchObject({ status: 'completed', attempts: 1, result: 'ok', error: null });

      expect(await p.retry(task.id)).toBeNull();
      expect(await p.retry(randomUUID())).toBeNull();
      expect(await p.retry('not-a-uuid')).toBeNull();
      await p.pause();
      const pending = await p.submit('heals', {});
      expect(await p.retry(pending.task.id)).toBeNull();
      expect(await statusOf(pending.task.id)).toBe('pending');
    });

    it('lists newest first with a status filter and a keyset cursor: no duplicates, no gaps', async () => {
      const p = await processor();
      const ids: string[] = [];
      // A batch (one INSERT: one created_at for all) between single submits.
      for (let i = 0; i < 4; i++) ids.push((await p.submit('listed', { i })).task.id);
      const batch = await p.submitMany(Array.from({ length: 13 }, (_, i) => ({ type: 'listed', payload: { b: i } })));
      ids.push(...batch.map((r) => r.task.id));
      for (let i = 0; i < 6; i++) ids.push((await p.submit('listed', { j: i })).task.id);
      const failedIds = ids.filter((_, i) => i % 3 === 0);
      await db().query(`UPDATE tasks SET status = 'failed' WHERE id = ANY($1::uuid[])`, [failedIds]);

      async function all(status?: TaskStatus, limit = 4): Promise<Task[]> {
        const seen: Task[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 50; page++) {
          const result = await p.list({ limit, ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) });
          expect(result.items.length).toBeLessThanOrEqual(limit);
          seen.push(...result.items);
          if (result.nextCursor === null) return seen;
          cursor = result.nextCursor;
        }
        throw new Error('too many pages');
      }

      const everything = await all();
      expect(everything.map((t) => t.id)).toHaveLength(ids.length);
      expect(new Set(everything.map((t) => t.id))).toEqual(new Set(ids));
      for (let i = 1; i < everything.length; i++) {
        expect(everything[i - 1].createdAt.getTime()).toBeGreaterThanOrEqual(everything[i].createdAt.getTime());
      }

      const failed = await all('failed', 3);
      expect(failed.map((t) => t.id)).toHaveLength(failedIds.length);
      expect(new Set(failed.map((t) => t.id))).toEqual(new Set(failedIds));
      expect(failed.every((t) => t.status === 'failed')).toBe(true);

      const pending = await all('pending', 5);
      expect(new Set(pending.map((t) => t.id))).toEqual(new Set(ids.filter((id) => !failedIds.includes(id))));

      const onePage = await p.list({ limit: 100 });
      expect(onePage.nextCursor).toBeNull();
      expect(onePage.items).toHaveLength(ids.length);

      await expect(p.list({ cursor: 'not a cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
      await expect(p.list({ cursor: Buffer.from(`yesterday|${ids[0]}`).toString('base64url') })).rejects.toBeInstanceOf(InvalidCursorError);
    });

    it('get with an owner answers only that owner’s task', async () => {
      const p = await processor();
      const { task } = await p.submit('mine', {}, { ownerId: 'alice' });
      expect(await p.get(task.id, 'alice')).toMatchObject({ id: task.id, ownerId: 'alice' });
      expect(await p.get(task.id, 'bob')).toBeNull();
      expect(await p.get(task.id)).toMatchObject({ id: task.id });
      expect(await p.get(randomUUID())).toBeNull();
      expect(await p.get('not-a-uuid')).toBeNull();
    });

    it('stats: counts by status and priority, timings, failures by type, throughput', async () => {
      const p = await processor();
      p.register('ok', { handle: async () => sleep(20) });
      p.register('bad', {
        handle: async () => {
          throw new Error('bad');
        },
      });
      p.register('worse', {
        handle: async () => {
          throw new PermanentTaskError('worse');
        },
      });
      await p.start();
      const submitted = await p.submitMany([
        { type: 'ok', payload: 1 },
        { type: 'ok', payload: 2 },
        { type: 'ok', payload: 3 },
        { type: 'ok', payload: 4, priority: 'high' },
        { type: 'bad', payload: 5, attempts: 1, priority: 'urgent' },
        { type: 'bad', payload: 6, attempts: 1, priority: 'urgent' },
        { type: 'worse', payload: 7, attempts: 3, priority: 'critical' },
      ]);
      for (const { task } of submitted) await finished(p, task.id);
      // Two pending tasks the queue never received (they stay pending).
      await p.store.insert(
        [1, 2].map((i) => ({ type: 'ok', ownerId: null, priority: 'low' as const, payload: i, maxAttempts: 1, timeoutMs: 1_000, idempotencyKey: null })),
        100,
      );

      const stats = await p.stats();
      expect(stats.driver).toBe(p.driver.kind);
      expect(stats.byStatus).toEqual({ pending: 2, running: 0, completed: 4, failed: 3 });
      expect(stats.byPriority.normal).toEqual({ pending: 0, running: 0, completed: 3, failed: 0 });
      expect(stats.byPriority.high).toEqual({ pending: 0, running: 0, completed: 1, failed: 0 });
      expect(stats.byPriority.urgent).toEqual({ pending: 0, running: 0, completed: 0, failed: 2 });
      expect(stats.byPriority.critical).toEqual({ pending: 0, running: 0, completed: 0, failed: 1 });
      expect(stats.byPriority.low).toEqual({ pending: 2, running: 0, completed: 0, failed: 0 });
      expect(stats.failuresByType).toEqual({ bad: 2, worse: 1 });
      for (const v of [stats.waitMs.p50, stats.waitMs.p95, stats.runMs.p50, stats.runMs.p95]) {
        expect(v).not.toBeNull();
        expect(v!).toBeGreaterThanOrEqual(0);
      }
      expect(stats.runMs.p50!).toBeGreaterThanOrEqual(15); // each 'ok' ran ≥ 20 ms (ms rounding aside)
      expect(stats.waitMs.p95!).toBeGreaterThanOrEqual(stats.waitMs.p50!);
      expect(stats.throughputPerMinute).toBeGreaterThan(0);
      const perMinute = stats.perMinute.reduce((s, m) => ({ completed: s.completed + m.completed, failed: s.failed + m.failed }), { completed: 0, failed: 0 });
      expect(perMinute).toEqual({ completed: 4, failed: 3 });
      expect(stats.queue).not.toBeNull();
      expect(stats.maxPending).toBe(10_000);
      expect(stats.activeHere).toBe(0);
    });

    it('emits submitted, started, completed and failed events with type and priority', async () => {
      const p = await processor();
      const events: TaskEvent[] = [];
      p.onEvent((e) => events.push(e));
      p.register('good', { handle: async () => 'fine' });
      p.register('broken', {
        handle: async () => {
          throw new Error('nope');
        },
      });
      await p.start();
      const good = await p.submit('good', {}, { priority: 'high' });
      const broken = await p.submit('broken', {}, { priority: 'urgent', attempts: 1 });
      const trio = await p.submitMany([0, 1, 2].map((i) => ({ type: 'good', payload: i, priority: 'low' as const })));
      for (const { task } of [good, broken, ...trio]) await finished(p, task.id);
      await eventually(() => events.filter((e) => e.kind === 'completed' || e.kind === 'failed').length === 5, 'the final events');

      expect(events).toContainEqual({ kind: 'submitted', type: 'good', priority: 'high', count: 1 });
      expect(events).toContainEqual({ kind: 'submitted', type: 'broken', priority: 'urgent', count: 1 });
      expect(events).toContainEqual({ kind: 'submitted', type: 'good', priority: 'low', count: 3 });
      expect(events).toContainEqual(expect.objectContaining({ kind: 'started', type: 'good', priority: 'high', attempt: 1 }));
      expect(events).toContainEqual(expect.objectContaining({ kind: 'started', type: 'broken', priority: 'urgent', attempt: 1 }));
      expect(events).toContainEqual(expect.objectContaining({ kind: 'completed', type: 'good', priority: 'high', attempt: 1 }));
      expect(events).toContainEqual(
        expect.objectContaining({ kind: 'failed', type: 'broken', priority: 'urgent', attempt: 1, final: true, error: 'Error' }),
      );
      expect(events.filter((e) => e.kind === 'completed' && e.priority === 'low')).toHaveLength(3);
      expect(events.filter((e) => e.kind === 'started')).toHaveLength(5);
      for (const e of events) {
        if (e.kind === 'started') expect(e.waitMs).toBeGreaterThanOrEqual(0);
        if (e.kind === 'completed' || e.kind === 'failed') expect(e.runMs).toBeGreaterThanOrEqual(0);
      }
    });

    // ---- recovery ------------------------------------------------------------------------------

    it('reconcile queues a pending task the queue never received', async () => {
      const p = await processor();
      let calls = 0;
      p.register('lost', {
        handle: async () => {
          calls++;
          return 'found';
        },
      });
      await p.start();
      const outcome = await p.store.insert(
        [{ type: 'lost', ownerId: null, priority: 'normal', payload: {}, maxAttempts: 3, timeoutMs: 5_000, idempotencyKey: null }],
        100,
      );
      if (outcome.kind !== 'inserted') throw new Error('not inserted');
      const id = outcome.tasks[0].task.id;
      await sleep(300);
      expect(calls).toBe(0);
      expect(await statusOf(id)).toBe('pending');

      const events: TaskEvent[] = [];
      p.onEvent((e) => events.push(e));
      await p.reconcile({ stale: 0 });
      expect(await finished(p, id)).toMatchObject({ status: 'completed', attempts: 1, result: 'found' });
      expect(calls).toBe(1);
      expect(events).toContainEqual({ kind: 'reconciled', requeued: 1, recovered: 0, failed: 0 });
    });

    it('reconcile recovers a running task whose lease expired (it completes), and fails one on its last attempt', async () => {
      const p = await processor();
      const ran: string[] = [];
      p.register<{ name: string }, string>('orphan', {
        handle: async ({ task }) => {
          ran.push(task.payload.name);
          return `recovered ${task.payload.name}`;
        },
      });
      await p.start();
      const outcome = await p.store.insert(
        [
          { type: 'orphan', ownerId: null, priority: 'normal', payload: { name: 'more' }, maxAttempts: 3, timeoutMs: 5_000, idempotencyKey: null },
          { type: 'orphan', ownerId: null, priority: 'normal', payload: { name: 'last' }, maxAttempts: 1, timeoutMs: 5_000, idempotencyKey: null },
        ],
        100,
      );
      if (outcome.kind !== 'inserted') throw new Error('not inserted');
      const [more, last] = outcome.tasks.map((r) => r.task.id) as [string, string];
      // As if a worker claimed both, then died: running, one attempt counted, lease in the past.
      await db().query(
        `UPDATE tasks SET status = 'running', attempts = 1, lease_token = gen_random_uuid(), started_at = now() - interval '1 minute',
           lease_expires_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])`,
        [[more, last]],
      );

      await p.reconcile();
      expect(await finished(p, more)).toMatchObject({ status: 'completed', attempts: 2, result: 'recovered more' });
      const lastTask = await finished(p, last);
      expect(lastTask).toMatchObject({ status: 'failed', attempts: 1 });
      expect(lastTask.error).toMatchObject({ name: 'LeaseExpiredError', attempt: 1 });
      await sleep(200);
      expect(ran).toEqual(['more']);
    });

    it('a running task still busy at stop(deadline) is given back (attempt not counted) and another processor completes it', async () => {
      const a = await processor({ concurrency: 1 });
      const entered = deferred();
      let aborted: unknown = null;
      a.register('long', {
        handle: async ({ signal }) => {
          entered.resolve();
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 10_000);
            signal.addEventListener('abort', () => {
              aborted = signal.reason;
              clearTimeout(timer);
              resolve();
            });
          });
          return 'finished on a';
        },
      });
      const events: TaskEvent[] = [];
      a.onEvent((e) => events.push(e));
      await a.start();
      const { task } = await a.submit('long', {}, { attempts: 2, timeoutMs: 30_000 });
      await entered.promise;
      expect(await statusOf(task.id)).toBe('running');

      await a.stop(200);
      expect(aborted).toBeInstanceOf(ShutdownError);
      const released = await a.get(task.id);
      expect(released).toMatchObject({ status: 'pending', attempts: 0 });
      expect(events).toContainEqual({ kind: 'released', type: 'long', priority: 'normal' });

      const b = await processor({ concurrency: 1 });
      b.register('long', { handle: async ({ attempt }) => `finished on b, attempt ${attempt}` });
      await b.start();
      const done = await finished(b, task.id);
      expect(done).toMatchObject({ status: 'completed', attempts: 1, result: 'finished on b, attempt 1' });
    });

    it('pause holds new tasks back; resume runs them, in priority order', async () => {
      const p = await processor({ concurrency: 1 });
      const ran: string[] = [];
      p.register<{ name: string }, null>('held', {
        handle: async ({ task }) => {
          ran.push(task.payload.name);
          return null;
        },
      });
      await p.start();
      const warmup = await p.submit('held', { name: 'warmup' });
      await finished(p, warmup.task.id);

      await p.pause();
      const ids: string[] = [];
      for (const [name, priority] of [
        ['low', 'low'],
        ['critical', 'critical'],
        ['normal-1', 'normal'],
        ['high', 'high'],
        ['normal-2', 'normal'],
      ] as const) {
        ids.push((await p.submit('held', { name }, { priority })).task.id);
      }
      await sleep(400);
      expect(ran).toEqual(['warmup']);
      for (const id of ids) expect(await statusOf(id)).toBe('pending');

      p.resume();
      for (const id of ids) expect(await finished(p, id)).toMatchObject({ status: 'completed' });
      expect(ran).toEqual(['warmup', 'critical', 'high', 'normal-1', 'normal-2', 'low']);
    });
  });
}
