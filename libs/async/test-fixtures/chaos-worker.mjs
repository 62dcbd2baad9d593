// A worker process for the chaos tests (libs/async/src/chaos): the BUILT @chat/async (run
// `nx run-many -t build` first) on the test's database and queue. Plain ESM so that it needs no
// compilation; it is not part of the lib.
//
// Task type `chaos.side-effect`: the handler writes one row into `side_effects` inside
// `ctx.complete`, so a row exists exactly when the task's completion committed. With HANG=1 the
// handler stops at the stage its payload names, so that the test can SIGKILL (or SIGSTOP) the
// process mid-task:
//   - payload.hangAt = 'before':  before `ctx.complete` (nothing written yet);
//   - payload.hangAt = 'inside':  inside the `ctx.complete` transaction, after the INSERT (an
//                                 uncommitted side effect, the task row locked).
// The hang lasts HANG_MS (default: for ever). payload.workMs delays every attempt.
// It prints `READY` once started, `HANGING <stage> <taskId>` when it reaches a hang, and
// `ATTEMPT-FAILED <taskId> <error name>` when an attempt's handler throws.
import { TaskProcessor } from '@chat/async';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`chaos-worker: ${name} is required`);
  return value;
};

const hang = env('HANG', '0') === '1';
const hangMs = process.env.HANG_MS === undefined ? null : Number(process.env.HANG_MS);
const dataSource = new DataSource({ type: 'postgres', url: env('DATABASE_URL'), poolSize: 12 });
await dataSource.initialize();

const processor = new TaskProcessor({
  dataSource,
  redisUrl: env('REDIS_URL'),
  queueName: env('QUEUE'),
  prefix: env('PREFIX', 'bull'),
  leaseMs: Number(env('LEASE_MS', '2000')),
  reconcileIntervalMs: Number(env('RECONCILE_MS', '500')),
  staleAfterMs: Number(env('STALE_MS', '1000')),
  concurrency: Number(env('CONCURRENCY', '8')),
  backoff: { baseMs: 100, maxMs: 500 },
});

const stall = (stage, id) => {
  console.log(`HANGING ${stage} ${id}`);
  return hangMs === null ? new Promise(() => setInterval(() => undefined, 60_000)) : sleep(hangMs);
};

async function handle(ctx) {
  const hangAt = hang ? ctx.task.payload.hangAt : null;
  if (hangAt === 'before') await stall('before', ctx.task.id);
  await sleep(Number(ctx.task.payload.workMs ?? 0));
  return ctx.complete(async (manager) => {
    await manager.query('INSERT INTO side_effects (task_id, pid, attempt) VALUES ($1, $2, $3)', [ctx.task.id, process.pid, ctx.attempt]);
    if (hangAt === 'inside') await stall('inside', ctx.task.id);
    return { pid: process.pid };
  });
}

processor.register('chaos.side-effect', {
  async handle(ctx) {
    try {
      return await handle(ctx);
    } catch (error) {
      console.log(`ATTEMPT-FAILED ${ctx.task.id} ${error?.name ?? 'Error'}`);
      throw error;
    }
  },
});

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  try {
    await processor.close();
  } finally {
    await dataSource.destroy();
    process.exit(0);
  }
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());

await processor.start();
console.log('READY');
