import { createTestDatabase, type TestDatabase } from '@chat/testing';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { InProcessDriver } from '../drivers/in-process.driver.js';
import { asyncMigrations } from '../store/tasks.migration.js';
import { eventually } from './task-processor.contract.js';
import type { TaskEvent } from './task-events.js';
import { TaskProcessor } from './task-processor.js';

/**
 * A result-only completion is written after its attempt gave its queue slot back (the next task
 * starts meanwhile). What must still hold, on a real PostgreSQL: `stop()` does not return while such
 * a completion is unwritten, and a completion the database refuses fails the attempt, which is
 * retried after its backoff like any failed attempt.
 */
let database: TestDatabase;
let dataSource: DataSource;
const processors: TaskProcessor[] = [];

function processor(): TaskProcessor {
  const p = new TaskProcessor(
    { dataSource, concurrency: 4, backoff: { baseMs: 50, maxMs: 100 }, reconcileIntervalMs: 60_000, shutdownTimeoutMs: 2_000 },
    new InProcessDriver(),
  );
  processors.push(p);
  return p;
}

interface Gate {
  opened: Promise<void>;
  open(): void;
}

function gate(): Gate {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

beforeAll(async () => {
  database = await createTestDatabase('async_completion');
  dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: asyncMigrations, migrationsRun: true });
  await dataSource.initialize();
});

afterAll(async () => {
  if (dataSource?.isInitialized) await dataSource.destroy();
  await database?.drop();
});

beforeEach(async () => {
  await dataSource.query('TRUNCATE tasks');
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const p of processors.splice(0)) await p.close();
});

describe('TaskProcessor: completions written after the slot is given back', () => {
  it('stop() waits for a completion still being written', async () => {
    const p = processor();
    p.register('quick', { handle: async () => 'done' });
    const held = gate();
    const writing = gate();
    const complete = p.store.complete.bind(p.store);
    vi.spyOn(p.store, 'complete').mockImplementation(async (...args) => {
      writing.open();
      await held.opened;
      return complete(...args);
    });
    await p.start();
    const { task } = await p.submit('quick', {});
    await writing.opened;

    let stopped = false;
    const stopping = p.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stopped).toBe(false);
    expect(await p.get(task.id)).toMatchObject({ status: 'running' });

    held.open();
    await stopping;
    expect(await p.get(task.id)).toMatchObject({ status: 'completed', result: 'done', attempts: 1 });
  });

  it('a completion the database refuses fails that attempt, which is retried after its backoff and completes', async () => {
    const p = processor();
    const events: TaskEvent[] = [];
    p.onEvent((e) => events.push(e));
    p.register('refused-once', { handle: async ({ attempt }) => `attempt ${attempt}` });
    let refusals = 0;
    const complete = p.store.complete.bind(p.store);
    vi.spyOn(p.store, 'complete').mockImplementation(async (...args) => {
      if (refusals++ === 0) throw new Error('the database refused the result');
      return complete(...args);
    });
    await p.start();
    const { task } = await p.submit('refused-once', {}, { attempts: 3 });

    const done = await eventually(async () => {
      const t = await p.get(task.id);
      return t?.status === 'completed' ? t : null;
    }, 'the retried task to complete');
    expect(done).toMatchObject({ attempts: 2, result: 'attempt 2' });
    expect(events).toContainEqual(expect.objectContaining({ kind: 'failed', type: 'refused-once', attempt: 1, final: false, error: 'Error' }));
    expect(events.filter((e) => e.kind === 'completed')).toHaveLength(1);
  });

  it('on its last attempt, a refused completion fails the task for good', async () => {
    const p = processor();
    p.register('refused', { handle: async () => 'never stored' });
    vi.spyOn(p.store, 'complete').mockRejectedValue(new Error('the database refused the result'));
    await p.start();
    const { task } = await p.submit('refused', {}, { attempts: 1 });
    const failed = await eventually(async () => {
      const t = await p.get(task.id);
      return t?.status === 'failed' ? t : null;
    }, 'the task to fail');
    expect(failed).toMatchObject({ attempts: 1, result: null, error: { name: 'Error', message: 'the database refused the result', attempt: 1 } });
  });
});
