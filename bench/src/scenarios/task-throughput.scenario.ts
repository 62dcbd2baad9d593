import { randomBytes } from 'node:crypto';
import { asyncMigrations, TaskProcessor, type SubmitRequest } from '@chat/async';
import { createTestDatabase, TEST_REDIS_URL } from '@chat/testing';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import type { FigureContext, FigureOutcome, FigureScenario } from '../bench.types.js';
import { median, percentile } from '../stats.util.js';

/**
 * Jobs (tasks) per throughput measurement, sized so that each lasts a few seconds on a small machine:
 * raw BullMQ runs about ten times faster, so it gets more jobs (its rate is then not dominated by the
 * ramp at the start and the tail at the end).
 */
const RAW_N = 12_000;
const OURS_N = 4_000;
/** Jobs per `addBulk` / tasks per `submitMany`. */
const BATCH = 100;
/** Jobs run at once, raw BullMQ worker and processor alike. */
const CONCURRENCY = 16;
/** PostgreSQL pool of the processor's DataSource. */
const POOL = 20;
/** Rounds of raw → ours → ours → raw. */
const ROUNDS = 2;
/** Single submit calls per latency measurement. */
const LATENCY_CALLS = 500;
const LATENCY_IN_FLIGHT = 16;
/** In-process driver measurements (after the BullMQ rounds). */
const IN_PROCESS_RUNS = 1;
/** Goal of the issue: the processor at least half of raw BullMQ's rate. Printed, never enforced. */
const GOAL = 0.5;
/** Past this, a measurement is declared stuck (a failure, not a figure). */
const COMPLETE_TIMEOUT_MS = 60_000;
const TASK_TYPE = 'bench.noop';

/** Counts completions; remembers when the last one happened, so elapsed time does not include the waiter's wake-up. */
class Completions {
  count = 0;
  failed = 0;
  lastAt = 0;
  private target = Number.POSITIVE_INFINITY;
  private wake: (() => void) | null = null;

  hit(): void {
    this.count++;
    this.lastAt = performance.now();
    if (this.count >= this.target && this.wake) this.wake();
  }

  reset(): void {
    this.count = 0;
    this.failed = 0;
    this.lastAt = 0;
  }

  /** Resolves true once `target` completions were counted, false after `timeoutMs`. */
  until(target: number, timeoutMs: number): Promise<boolean> {
    if (this.count >= target) return Promise.resolve(true);
    this.target = target;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.wake = null;
        this.target = Number.POSITIVE_INFINITY;
        resolve(ok);
      };
      this.wake = () => finish(true);
    });
  }
}

interface RunFigures {
  side: 'raw' | 'ours' | 'in-process';
  n: number;
  completed: number;
  /** First add → last completion. */
  ms: number;
  perSec: number;
  /** First add → last add (or submitMany) returned. */
  submitMs: number;
}

interface LatencyFigures {
  label: string;
  calls: number;
  inFlight: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface Side {
  run(n: number, failures: string[]): Promise<RunFigures>;
  /** One call of a single submit (`queue.add` / `processor.submit`). */
  single(): Promise<unknown>;
  /** Waits until every job/task submitted so far is finished and checks it; resets the counters. */
  settle(expected: number, failures: string[]): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Setup steps that would otherwise wait forever for a Redis that does not answer. */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function pollUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await sleep(20);
  }
  return check();
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
const ratio = (n: number): string => `${n.toFixed(2)}×`;

/** Drives `calls` single submits, `inFlight` at a time, and returns each one's latency. */
async function latencies(label: string, call: () => Promise<unknown>, calls: number, inFlight: number): Promise<LatencyFigures> {
  const samples: number[] = [];
  let issued = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (issued < calls) {
        issued++;
        const t = performance.now();
        await call();
        samples.push(performance.now() - t);
      }
    }),
  );
  return { label, calls, inFlight, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), maxMs: Math.max(...samples) };
}

/** Raw BullMQ: a Queue and a Worker with a no-op processor, jobs removed on completion. */
async function rawSide(prefix: string, started: (teardown: () => Promise<void>) => void): Promise<Side> {
  const producer = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  const workerConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  started(async () => {
    await producer.quit().catch(() => producer.disconnect());
    await workerConnection.quit().catch(() => workerConnection.disconnect());
  });
  const queue = new Queue('raw', { connection: producer, prefix });
  started(() => queue.close());
  const completions = new Completions();
  const worker = new Worker('raw', async () => null, {
    connection: workerConnection,
    prefix,
    concurrency: CONCURRENCY,
    removeOnComplete: { count: 0 },
    removeOnFail: { count: 0 },
  });
  worker.on('completed', () => completions.hit());
  worker.on('failed', () => completions.failed++);
  started(() => worker.close());
  await within(queue.waitUntilReady(), 10_000, `raw BullMQ queue on ${TEST_REDIS_URL}`);
  await within(worker.waitUntilReady(), 10_000, `raw BullMQ worker on ${TEST_REDIS_URL}`);
  const opts = { removeOnComplete: true, removeOnFail: true };
  const jobs = (count: number): Array<{ name: string; data: object; opts: typeof opts }> =>
    Array.from({ length: count }, () => ({ name: 'noop', data: {}, opts }));
  const drained = async (): Promise<boolean> => {
    const c = await queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'completed', 'failed');
    return Object.values(c).every((v) => v === 0);
  };
  const side: Side = {
    async run(n, failures) {
      completions.reset();
      const t0 = performance.now();
      for (let i = 0; i < n; i += BATCH) await queue.addBulk(jobs(Math.min(BATCH, n - i)));
      const submitMs = performance.now() - t0;
      if (!(await completions.until(n, COMPLETE_TIMEOUT_MS))) failures.push(`raw BullMQ: ${completions.count} of ${n} jobs completed within ${COMPLETE_TIMEOUT_MS} ms`);
      const figures: RunFigures = { side: 'raw', n, completed: completions.count, ms: completions.lastAt - t0, perSec: (completions.count / (completions.lastAt - t0)) * 1000, submitMs };
      await side.settle(n, failures);
      return figures;
    },
    single: () => queue.add('noop', {}, opts),
    async settle(expected, failures) {
      if (!(await completions.until(expected, COMPLETE_TIMEOUT_MS))) failures.push(`raw BullMQ: ${completions.count} of ${expected} jobs completed`);
      if (completions.failed > 0) failures.push(`raw BullMQ: ${completions.failed} jobs failed`);
      if (completions.count > expected) failures.push(`raw BullMQ: ${completions.count} completions for ${expected} jobs`);
      if (!(await pollUntil(drained, 10_000))) failures.push(`raw BullMQ: queue not empty after the run: ${JSON.stringify(await queue.getJobCounts())}`);
      completions.reset();
    },
  };
  return side;
}

/** The processor on a given DataSource: BullMQ driver (with `redis`) or in-process driver (without). */
async function oursSide(
  dataSource: DataSource,
  redis: { prefix: string } | null,
  started: (teardown: () => Promise<void>) => () => Promise<void>,
): Promise<Side & { close: () => Promise<void> }> {
  const label = redis ? 'processor' : 'in-process processor';
  const processor = new TaskProcessor({
    dataSource,
    redisUrl: redis ? TEST_REDIS_URL : null,
    queueName: 'ours',
    prefix: redis?.prefix ?? 'unused',
    concurrency: CONCURRENCY,
    maxPending: 10_000_000,
  });
  const close = started(() => processor.close());
  processor.register(TASK_TYPE, { handle: async () => null });
  const completions = new Completions();
  processor.onEvent((event) => {
    if (event.kind === 'completed') completions.hit();
    else if (event.kind === 'failed') completions.failed++;
  });
  if (!(await pollUntil(() => Promise.resolve(processor.driver.isAvailable()), 5_000))) throw new Error(`${label}: queue not available`);
  await processor.start();
  const requests = (count: number): SubmitRequest[] => Array.from({ length: count }, () => ({ type: TASK_TYPE, payload: {} }));
  const side: Side & { close: () => Promise<void> } = {
    close,
    async run(n, failures) {
      completions.reset();
      const t0 = performance.now();
      for (let i = 0; i < n; i += BATCH) await processor.submitMany(requests(Math.min(BATCH, n - i)));
      const submitMs = performance.now() - t0;
      if (!(await completions.until(n, COMPLETE_TIMEOUT_MS))) failures.push(`${label}: ${completions.count} of ${n} tasks completed within ${COMPLETE_TIMEOUT_MS} ms`);
      const figures: RunFigures = {
        side: redis ? 'ours' : 'in-process',
        n,
        completed: completions.count,
        ms: completions.lastAt - t0,
        perSec: (completions.count / (completions.lastAt - t0)) * 1000,
        submitMs,
      };
      await side.settle(n, failures);
      return figures;
    },
    single: () => processor.submit(TASK_TYPE, {}),
    async settle(expected, failures) {
      if (!(await completions.until(expected, COMPLETE_TIMEOUT_MS))) failures.push(`${label}: ${completions.count} of ${expected} tasks completed`);
      if (completions.failed > 0) failures.push(`${label}: ${completions.failed} failed attempts`);
      if (completions.count > expected) failures.push(`${label}: ${completions.count} completions for ${expected} tasks`);
      // The table is the truth: every row of this run completed, once.
      const rows: Array<{ status: string; n: number }> = await dataSource.query(`SELECT status, count(*)::int AS n FROM tasks GROUP BY status`);
      const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      if ((byStatus.completed ?? 0) !== expected || rows.some((r) => r.status !== 'completed')) {
        failures.push(`${label}: expected ${expected} completed rows, found ${JSON.stringify(byStatus)}`);
      }
      // The BullMQ job finishes just after the task's completion is recorded: wait for the queue to empty.
      const drained = async (): Promise<boolean> => {
        const c = await processor.driver.counts();
        return c.waiting + c.delayed + c.active === 0;
      };
      if (!(await pollUntil(drained, 10_000))) failures.push(`${label}: queue not empty after the run: ${JSON.stringify(await processor.driver.counts())}`);
      // Every measurement starts from an empty table (same index sizes, same pending count).
      await dataSource.query('TRUNCATE tasks');
      completions.reset();
    },
  };
  return side;
}

/** Deletes every Redis key under this run's unique prefix (never anything else). */
async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

function throughputLine(raw: number, ours: number, r: number): string {
  return `raw BullMQ: ${int(raw)} jobs/s · processor (lifecycle in PostgreSQL): ${int(ours)} tasks/s · ratio ${ratio(r)} (goal ≥ ${GOAL}×: ${r >= GOAL ? 'met' : 'not met'})`;
}

/**
 * Throughput of the task processor (`@chat/async`, BullMQ driver) against raw BullMQ, in one process,
 * on the same Redis: no-op jobs vs no-op tasks whose lifecycle is recorded in PostgreSQL (INSERT,
 * claim UPDATE, completion UPDATE per task). Plus single-submit latency, and the in-process driver.
 */
export const taskThroughputScenario: FigureScenario = {
  kind: 'figure',
  name: 'task-throughput',
  description: `${int(RAW_N)} no-op jobs through raw BullMQ vs ${int(OURS_N)} no-op tasks through @chat/async (BullMQ driver, lifecycle in PostgreSQL), batches of ${BATCH}, concurrency ${CONCURRENCY}, ${ROUNDS} rounds raw→ours→ours→raw; single-submit latency; in-process driver`,
  async run({ options, progress, onCleanup }: FigureContext): Promise<FigureOutcome> {
    const failures: string[] = [];
    const lines: string[] = [];
    const runs: Array<RunFigures & { round: number }> = [];
    const latency: LatencyFigures[] = [];
    const inProcess: RunFigures[] = [];
    const teardowns: Array<() => Promise<void>> = [];
    const started = (teardown: () => Promise<void>): (() => Promise<void>) => {
      const now = onCleanup(teardown);
      teardowns.unshift(now);
      return now;
    };
    const prefix = `bench-tt-${randomBytes(4).toString('hex')}`;
    try {
      started(() => deleteKeys(prefix));
      const database = await createTestDatabase('bench_tasks');
      started(() => database.drop());
      const dataSource = new DataSource({ type: 'postgres', url: database.url, poolSize: POOL, migrations: asyncMigrations, logging: false });
      await dataSource.initialize();
      started(() => dataSource.destroy());
      await dataSource.runMigrations();

      progress('task-throughput: starting raw BullMQ queue + worker and the processor (BullMQ driver)');
      const raw = await rawSide(prefix, started);
      const ours = await oursSide(dataSource, { prefix }, started);
      const sides = { raw, ours };

      if (options.warmupSeconds > 0) {
        // Not reported: JIT, the pool's connections, Redis scripts loaded.
        progress(`task-throughput: warm-up, ${int(RAW_N / 4)} jobs and ${int(OURS_N / 4)} tasks`);
        const warmFailures: string[] = [];
        await raw.run(RAW_N / 4, warmFailures);
        await ours.run(OURS_N / 4, warmFailures);
        failures.push(...warmFailures.map((f) => `warm-up: ${f}`));
      }

      for (let round = 1; round <= ROUNDS; round++) {
        for (const name of ['raw', 'ours', 'ours', 'raw'] as const) {
          const n = name === 'raw' ? RAW_N : OURS_N;
          progress(`task-throughput: round ${round}/${ROUNDS}, ${name === 'raw' ? `raw BullMQ, ${int(n)} jobs` : `processor, ${int(n)} tasks`}`);
          runs.push({ ...(await sides[name].run(n, failures)), round });
        }
      }

      const single = async (label: string, side: Side, inFlight: number): Promise<void> => {
        progress(`task-throughput: latency, ${label}, ${LATENCY_CALLS} single calls, ${inFlight} in flight`);
        latency.push(await latencies(label, () => side.single(), LATENCY_CALLS, inFlight));
        await side.settle(LATENCY_CALLS, failures);
      };
      await single('raw queue.add()', raw, 1);
      await single('processor submit()', ours, 1);
      await single('processor submit()', ours, LATENCY_IN_FLIGHT);
      await single('raw queue.add()', raw, LATENCY_IN_FLIGHT);

      // Embedded mode: the same table and handler, the queue in this process's memory.
      await ours.close();
      await dataSource.query('TRUNCATE tasks');
      progress('task-throughput: in-process driver');
      const embedded = await oursSide(dataSource, null, started);
      if (options.warmupSeconds > 0) {
        const warmFailures: string[] = [];
        await embedded.run(OURS_N / 4, warmFailures);
        failures.push(...warmFailures.map((f) => `in-process warm-up: ${f}`));
      }
      for (let i = 0; i < IN_PROCESS_RUNS; i++) inProcess.push(await embedded.run(OURS_N, failures));
      await embedded.close();

      // ---- report ----
      const perRound = Array.from({ length: ROUNDS }, (_, i) => {
        const of = (side: RunFigures['side']): number[] => runs.filter((r) => r.round === i + 1 && r.side === side).map((r) => r.perSec);
        const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
        return { round: i + 1, raw: of('raw'), ours: of('ours'), ratio: mean(of('ours')) / mean(of('raw')) };
      });
      const rawRate = median(runs.filter((r) => r.side === 'raw').map((r) => r.perSec));
      const oursRate = median(runs.filter((r) => r.side === 'ours').map((r) => r.perSec));
      const r = median(perRound.map((p) => p.ratio));
      const submitRate = (side: RunFigures['side']): number => median(runs.filter((x) => x.side === side).map((x) => (x.n / x.submitMs) * 1000));
      lines.push(
        `throughput, ${int(RAW_N)} no-op jobs (raw) / ${int(OURS_N)} no-op tasks (processor) per measurement, batches of ${BATCH} (addBulk / submitMany), concurrency ${CONCURRENCY}, pool ${POOL}; medians of ${ROUNDS} rounds raw→ours→ours→raw:`,
        `  ${throughputLine(rawRate, oursRate, r)}`,
        ...perRound.map((p) => `  round ${p.round}: raw ${p.raw.map(int).join(' / ')} jobs/s · processor ${p.ours.map(int).join(' / ')} tasks/s · ratio ${ratio(p.ratio)}`),
        `  submission alone (first add → last add returned, workers running): raw addBulk ${int(submitRate('raw'))} jobs/s · processor submitMany ${int(submitRate('ours'))} tasks/s`,
        `submit latency (single calls, not batched, ${LATENCY_CALLS} each, workers running):`,
      );
      for (const inFlight of [1, LATENCY_IN_FLIGHT]) {
        const of = (label: string): LatencyFigures | undefined => latency.find((l) => l.label === label && l.inFlight === inFlight);
        const o = of('processor submit()');
        const w = of('raw queue.add()');
        if (o && w) {
          lines.push(
            `  ${inFlight === 1 ? 'sequential' : `${inFlight} in flight`}: processor submit() p50 ${ms(o.p50Ms)}, p99 ${ms(o.p99Ms)} · raw queue.add() p50 ${ms(w.p50Ms)}, p99 ${ms(w.p99Ms)}`,
          );
        }
      }
      const embeddedRate = median(inProcess.map((x) => x.perSec));
      lines.push(
        `in-process driver (embedded, no Redis; lifecycle in PostgreSQL), after the BullMQ rounds, median of ${IN_PROCESS_RUNS}: ${int(embeddedRate)} tasks/s (${ratio(embeddedRate / rawRate)} raw BullMQ's median)`,
        '(one Node process drives producer and worker on both sides; a task costs an INSERT (per batch), a claim UPDATE and a completion UPDATE besides its BullMQ job)',
      );
    } catch (err) {
      failures.push(`task-throughput: ${(err as Error).message}`);
    } finally {
      for (const teardown of teardowns) {
        try {
          await teardown();
        } catch (err) {
          failures.push(`task-throughput teardown: ${(err as Error).message}`);
        }
      }
    }
    return {
      lines,
      data: { rawN: RAW_N, oursN: OURS_N, batch: BATCH, concurrency: CONCURRENCY, pool: POOL, rounds: ROUNDS, goal: GOAL, runs, latency, inProcess },
      failures,
    };
  },
};
