import { asyncMigrations, QueueUnavailableError } from '@chat/async';
import { createTestDatabase, TEST_REDIS_URL, type TestDatabase } from '@chat/testing';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  adminRedis,
  countKeysUnder,
  deleteKeysUnder,
  eventually,
  startIntegrationApp,
  timedRequests,
  type IntegrationApp,
  type StartOptions,
} from './testing/integration-app.fixture.js';

/**
 * Each subsystem turned off in turn (`enabled: { cache: false }`, then queue, then monitor): the module
 * starts, the rest works, and the service degrades as `PerformanceIntegrationExtras` documents.
 * Also `forRoot` with options known up front. Real PostgreSQL and Redis; every app of this file
 * has its own Redis prefix under this file's one, deleted at the end.
 */
const filePrefix = `test-integration-flags-${randomUUID()}`;
let database: TestDatabase;
let admin: Redis;
let current: IntegrationApp | null = null;
let n = 0;

const echo = { 'test.echo': { handle: async ({ task }: { task: { payload: unknown } }) => task.payload } };

async function start(options: Partial<StartOptions> = {}): Promise<IntegrationApp> {
  current = await startIntegrationApp({
    databaseUrl: database.url,
    config: { redisUrl: TEST_REDIS_URL, prefix: `${filePrefix}-${++n}`, version: 'flags' },
    tasks: echo,
    ...options,
  });
  return current;
}

async function completes(t: IntegrationApp): Promise<void> {
  const { task } = await t.service.submitTask('test.echo', { ok: true });
  const done = await eventually(async () => {
    const now = await t.service.task(task.id);
    return now?.status === 'completed' ? now : null;
  }, 'a task to complete');
  expect(done.result).toEqual({ ok: true });
}

beforeAll(async () => {
  database = await createTestDatabase('integration_flags');
  admin = adminRedis();
});

afterEach(async () => {
  await current?.app.close();
  current = null;
});

afterAll(async () => {
  try {
    if (admin !== undefined) await deleteKeysUnder(admin, `${filePrefix}*`);
  } finally {
    admin?.disconnect();
    await database?.drop();
  }
});

describe('cache: false', () => {
  it('reads run their loaders every time; the queue and the monitor work; the dashboard shows no caches', async () => {
    const t = await start({ extras: { enabled: { cache: false } } });
    expect(t.service.subsystems).toEqual({ cache: false, queue: true, monitor: true });
    expect(await t.get('/probe/conversations/c1')).toMatchObject({ status: 200, body: { cached: false } });
    expect(await t.get('/probe/conversations/c1')).toMatchObject({ status: 200, body: { cached: false } });
    const ns = t.service.cacheNamespace('own', { ttlMs: 60_000 });
    let loads = 0;
    await ns.getOrLoad('k', async () => ++loads);
    await ns.getOrLoad('k', async () => ++loads);
    expect(loads).toBe(2);

    await completes(t);

    await timedRequests(t, '/probe/conversations/:id', 2);
    const d = await t.service.dashboard();
    expect({ status: d.status, components: d.components }).toMatchObject({ status: 'ok' });
    expect(d.components.cache).toEqual({ status: 'disabled', l2: null });
    expect(d.caches.conversation).toBeNull();
    expect(d.caches.aiResponse).toBeNull();
    expect(d.caches.toolResult).toBeNull();
    expect(d.caches['own']).toMatchObject({ misses: 2, hits: 0 });
    expect(d.components.queue).toEqual({ status: 'up', driver: 'bullmq' });
    expect(d.queue?.completed).toBeGreaterThanOrEqual(1);
    expect(d.requests?.total).toBeGreaterThanOrEqual(2);
    // No cache events: the monitor knows no cache.
    expect(t.service.monitorReport()?.series.cache['conversation']).toBeUndefined();
  });
});

describe('queue: false', () => {
  it('submissions are refused with QueueUnavailableError, task() is null; the cache and the monitor work', async () => {
    const t = await start({ extras: { enabled: { queue: false } } });
    expect(t.service.subsystems).toEqual({ cache: true, queue: false, monitor: true });
    await expect(t.service.submitTask('test.echo', {})).rejects.toBeInstanceOf(QueueUnavailableError);
    await expect(t.service.taskStats()).rejects.toBeInstanceOf(QueueUnavailableError);
    await expect(t.service.tasks()).rejects.toBeInstanceOf(QueueUnavailableError);
    await expect(t.service.task(randomUUID())).resolves.toBeNull();

    expect(await t.get('/probe/conversations/q1')).toMatchObject({ status: 200, body: { cached: false } });
    expect(await t.get('/probe/conversations/q1')).toMatchObject({ status: 200, body: { cached: true } });

    await timedRequests(t, '/probe/conversations/:id', 2);
    const d = await t.service.dashboard();
    expect({ status: d.status, components: d.components }).toMatchObject({ status: 'ok' });
    expect(d.components.queue).toEqual({ status: 'disabled', driver: null });
    expect(d.queue).toBeNull();
    expect(d.components.redis?.status).toBe('up');
    expect(d.caches.conversation?.hits).toBeGreaterThanOrEqual(1);
    expect(d.requests?.total).toBeGreaterThanOrEqual(2);
    expect(d.series?.queue.completed.every((c) => c === 0)).toBe(true);
  });

  it('without a DataSource or Redis: in-process caches, no queue, still a dashboard', async () => {
    const t = await start({
      declare: 'forRoot',
      config: { redisUrl: null, prefix: `${filePrefix}-${++n}`, version: 'no-db' },
      extras: { enabled: { queue: false } },
    });
    const d = await t.service.dashboard();
    expect(d.components.database).toEqual({ status: 'disabled', latencyMs: null });
    expect(d.components.redis).toBeNull();
    expect(d.components.cache).toEqual({ status: 'up', l2: 'none' });
    expect({ status: d.status, components: d.components }).toMatchObject({ status: 'ok' });
  });
});

describe('no Redis', () => {
  it('in-process caches and queue: tasks still run (recorded in PostgreSQL), the dashboard says so', async () => {
    const t = await start({ config: { redisUrl: null, prefix: `${filePrefix}-${++n}`, version: 'no-redis' } });
    await completes(t);
    expect(await t.get('/probe/conversations/r1')).toMatchObject({ status: 200, body: { cached: false } });
    expect(await t.get('/probe/conversations/r1')).toMatchObject({ status: 200, body: { cached: true } });
    const d = await t.service.dashboard();
    expect({ status: d.status, components: d.components }).toMatchObject({ status: 'ok' });
    expect(d.components.redis).toBeNull();
    expect(d.components.queue).toEqual({ status: 'up', driver: 'in-process' });
    expect(d.components.cache).toEqual({ status: 'up', l2: 'none' });
    expect(d.queue).toMatchObject({ driver: 'in-process' });
    expect(d.queue?.completed).toBeGreaterThanOrEqual(1);
  });
});

describe('monitor: false', () => {
  it('no timings, report or series; the cache and the queue work; status from the components', async () => {
    const t = await start({ extras: { enabled: { monitor: false } } });
    expect(t.service.subsystems).toEqual({ cache: true, queue: true, monitor: false });
    expect(await t.get('/probe/conversations/m1')).toMatchObject({ status: 200, body: { cached: false } });
    expect(await t.get('/probe/conversations/m1')).toMatchObject({ status: 200, body: { cached: true } });
    await completes(t);
    expect(t.service.monitorReport()).toBeNull();

    const d = await t.service.dashboard();
    expect({ status: d.status, components: d.components }).toMatchObject({ status: 'ok' });
    expect(d.components.monitor).toEqual({ status: 'disabled' });
    expect(d.requests).toBeNull();
    expect(d.database).toBeNull();
    expect(d.series).toBeNull();
    expect(d.alerts).toEqual({ active: [], recent: [] });
    expect(d.process.eventLoopLagP99Ms).toBeNull();
    expect(d.caches.conversation?.hits).toBeGreaterThanOrEqual(1);
    expect(d.queue?.completed).toBeGreaterThanOrEqual(1);
    // The app's own metrics still count (prom-client's registry).
    const name = `integration_flags_${randomUUID().replaceAll('-', '')}`;
    t.service.counter(name, 'help').inc();
    expect(t.service.counter(name, 'help')).toBeDefined();
  });
});

describe('forRoot', () => {
  it('takes the options up front, with the app\'s own DataSource', async () => {
    const dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: asyncMigrations, migrationsRun: true });
    await dataSource.initialize();
    try {
      const prefix = `${filePrefix}-${++n}`;
      const t = await start({
        declare: 'forRoot',
        dataSource,
        config: { redisUrl: TEST_REDIS_URL, prefix, version: 'flags' },
        adjust: (o) => ({ ...o, version: 'from-forRoot' }),
      });
      expect(t.service.subsystems).toEqual({ cache: true, queue: true, monitor: true });
      await completes(t);
      // Each lib got its own configuration: the queue's and the cache's keys are under the configured prefixes.
      expect(await countKeysUnder(admin, `${prefix}-bull:${prefix}-tasks:*`)).toBeGreaterThan(0);
      // (A read after the cache's L2 circuit has closed: it can be open for a moment after start.)
      let read = 0;
      await eventually(async () => {
        expect((await t.get(`/probe/conversations/f${++read}`)).status).toBe(200);
        return (await countKeysUnder(admin, `${prefix}-cache*`)) > 0;
      }, 'cache keys under the configured prefix');
      const d = await t.service.dashboard();
      expect(d.version).toBe('from-forRoot');
      expect(d.components.database.status).toBe('up');
      expect(d.components.queue).toEqual({ status: 'up', driver: 'bullmq' });
      await current?.app.close();
      current = null;
      // The DataSource is the app's: the module leaves it open.
      expect(dataSource.isInitialized).toBe(true);
    } finally {
      // The app first (its shutdown reads the task table), then the DataSource it was given.
      await current?.app.close();
      current = null;
      await dataSource.destroy();
    }
  });

  it('the queue without a DataSource fails at start, and says how to fix it', async () => {
    await expect(
      startIntegrationApp({
        declare: 'forRoot',
        databaseUrl: database.url,
        config: { redisUrl: null, prefix: `${filePrefix}-${++n}`, version: 'x' },
      }),
    ).rejects.toThrow(/the queue needs `dataSource`.*enabled: \{ queue: false \}/);
  });
});
