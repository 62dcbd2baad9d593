import { createTestDatabase, parsePrometheusText, TEST_REDIS_URL, type TestDatabase } from '@chat/testing';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminRedis,
  countKeysUnder,
  deleteKeysUnder,
  eventually,
  startIntegrationApp,
  timedRequests,
  type IntegrationApp,
} from './testing/integration-app.fixture.js';

/**
 * `PerformanceIntegrationModule.forRootAsync` in a real Nest app on Fastify, with real PostgreSQL
 * (a fresh database) and Redis (keys under this file's own prefix, deleted at the end).
 */
const prefix = `test-integration-${randomUUID()}`;
let database: TestDatabase;
let admin: Redis;
let t: IntegrationApp;

/** Tasks of type `test.hold` wait until this opens. */
let openHold: () => void = () => undefined;
let hold: Promise<void> = Promise.resolve();
function closeHold(): void {
  hold = new Promise((resolve) => (openHold = resolve));
}

const sum = (points: ReadonlyArray<{ count: number }> | undefined): number => (points ?? []).reduce((s, p) => s + p.count, 0);

/** A metric's samples from prom-client's registry (what `/metrics` serves). */
async function samples(name: string): Promise<Array<{ labels: Record<string, string>; value: number }>> {
  const families = parsePrometheusText(await register.metrics());
  return families.get(name)?.samples ?? [];
}

beforeAll(async () => {
  database = await createTestDatabase('integration_module');
  admin = adminRedis();
  t = await startIntegrationApp({
    databaseUrl: database.url,
    config: { redisUrl: TEST_REDIS_URL, prefix, version: '4.5.6-test' },
    extras: { metrics: {} },
    tasks: {
      'test.echo': { handle: async ({ task }) => task.payload },
      'test.hold': { handle: async () => hold },
    },
  });
});

afterAll(async () => {
  openHold();
  try {
    await t?.app.close();
  } finally {
    try {
      if (admin !== undefined) await deleteKeysUnder(admin, `${prefix}*`);
    } finally {
      admin?.disconnect();
      await database?.drop();
    }
  }
});

describe('forRootAsync', () => {
  it('resolves its options from the injected config provider', async () => {
    expect(t.service.subsystems).toEqual({ cache: true, queue: true, monitor: true });
    const d = await t.service.dashboard();
    // version, Redis (for the queue's driver and the cache's L2) and the DataSource came from the factory.
    expect(d.version).toBe('4.5.6-test');
    expect(d.components.queue).toEqual({ status: 'up', driver: 'bullmq' });
    expect(d.components.cache.status).toBe('up');
    expect(d.components.database.status).toBe('up');
    // The cache's L2 is Redis: its circuit is closed once Redis answers. (Right after start it can be
    // open for the breaker's cooldown: the domain caches' version syncs race the client's connect.)
    await eventually(async () => (await t.service.health()).components.cache.l2 === 'closed', 'the L2 circuit closed');
  });

  it('the caches write under the configured key prefix', async () => {
    // (Reads until the cache's L2 circuit has closed: it can be open for a moment after start.)
    let read = 0;
    await eventually(async () => {
      expect((await t.get(`/probe/conversations/prefix-check-${++read}`)).status).toBe(200);
      return (await countKeysUnder(admin, `${prefix}-cache*`)) > 0;
    }, 'cache keys under the prefix');
  });
});

describe('the event bridge', () => {
  it('a cache miss and a hit reach the monitor\'s report and prom-client', async () => {
    const id = `c-${randomUUID()}`;
    expect(await t.get(`/probe/conversations/${id}`)).toMatchObject({ status: 200, body: { cached: false, value: { id } } });
    expect(await t.get(`/probe/conversations/${id}`)).toMatchObject({ status: 200, body: { cached: true, value: { id } } });
    const series = t.service.monitorReport()?.series.cache['conversation'];
    expect(sum(series?.misses)).toBeGreaterThanOrEqual(1);
    expect(sum(series?.hits)).toBeGreaterThanOrEqual(1);
    const ops = await samples('cache_operations_total');
    const count = (result: string) => ops.filter((s) => s.labels['cache'] === 'conversation' && s.labels['result'] === result).reduce((n, s) => n + s.value, 0);
    expect(count('hit')).toBeGreaterThanOrEqual(1);
    expect(count('miss')).toBeGreaterThanOrEqual(1);
  });

  it('a completed task reaches the monitor\'s report and prom-client', async () => {
    const { task } = await t.service.submitTask('test.echo', { n: 1 });
    const done = await eventually(async () => {
      const now = await t.service.task(task.id);
      return now?.status === 'completed' ? now : null;
    }, 'the task to complete');
    expect(done.result).toEqual({ n: 1 });
    const queue = await eventually(() => {
      const q = t.service.monitorReport()?.series.queue;
      return q !== undefined && sum(q.completed) >= 1 && sum(q.submitted) >= 1 ? q : null;
    }, 'completed and submitted in the monitor\'s series');
    expect(queue.run.reduce((n, p) => n + p.count, 0)).toBeGreaterThanOrEqual(1);
    const events = await samples('queue_tasks_total');
    const of = (event: string) => events.filter((s) => s.labels['event'] === event && s.labels['task_type'] === 'test.echo').reduce((n, s) => n + s.value, 0);
    expect(of('submitted')).toBeGreaterThanOrEqual(1);
    expect(of('started')).toBeGreaterThanOrEqual(1);
    expect(of('completed')).toBeGreaterThanOrEqual(1);
  });

  it('the backlog (pending tasks) is read for the monitor', async () => {
    closeHold();
    // Concurrency 4: four run (and hold), the rest wait.
    await t.service.submitTasks(Array.from({ length: 10 }, (_, i) => ({ type: 'test.hold', payload: { i } })));
    await eventually(async () => (await samples('queue_tasks_pending'))[0]?.value === 6, 'queue_tasks_pending = 6');
    openHold();
    await eventually(async () => (await samples('queue_tasks_pending'))[0]?.value === 0, 'queue_tasks_pending back to 0');
    await eventually(async () => (await t.service.taskStats()).byStatus.completed >= 11, 'every held task done');
  });
});

describe('dashboard() with real components', () => {
  it('every component up, the caches\' hits, the queue\'s counts, requests, a score; status ok', async () => {
    for (let i = 0; i < 5; i++) expect((await t.get('/probe/ok')).status).toBe(200);
    await timedRequests(t, '/probe/ok', 5);
    const d = await t.service.dashboard(60);
    expect({ status: d.status, components: d.components }).toMatchObject({ status: 'ok' });
    expect(d.components.database.status).toBe('up');
    expect(d.components.database.latencyMs).toEqual(expect.any(Number));
    expect(d.components.database.latencyMs).toBeGreaterThanOrEqual(0);
    expect(d.components.redis?.status).toBe('up');
    expect(d.components.redis?.latencyMs).toEqual(expect.any(Number));
    expect(d.components.queue).toEqual({ status: 'up', driver: 'bullmq' });
    expect(d.components.monitor).toEqual({ status: 'up' });

    expect(d.caches.conversation?.hits).toBeGreaterThanOrEqual(1);
    expect(d.caches.conversation?.misses).toBeGreaterThanOrEqual(2);
    expect(d.caches.aiResponse).toMatchObject({ hits: 0 });
    expect(d.caches.toolResult).toMatchObject({ hits: 0 });

    expect(d.queue).toMatchObject({ driver: 'bullmq', waiting: 0, active: 0, failed: 0, delayed: 0, maxPending: 10_000 });
    expect(d.queue?.completed).toBeGreaterThanOrEqual(11);
    expect(d.queue?.byPriority['normal']?.completed).toBeGreaterThanOrEqual(11);
    expect(d.queue?.p95RunMs).toEqual(expect.any(Number));

    expect(d.requests?.total).toBeGreaterThanOrEqual(5);
    expect(d.requests?.ratePerSec).toBeGreaterThan(0);
    expect(d.requests?.errorRate).toBe(0);
    expect(d.requests?.p95Ms).toEqual(expect.any(Number));
    expect(d.requests?.byRoute).toEqual(expect.arrayContaining([expect.objectContaining({ method: 'GET', route: '/probe/ok', errors: 0 })]));
    expect(d.requests?.byRoute.find((r) => r.route === '/probe/ok')?.count).toBeGreaterThanOrEqual(5);

    // The task table's queries, timed by the monitor's query capture.
    expect(d.database?.queries).toBeGreaterThan(0);
    expect(d.series?.minutes).toHaveLength(60);
    expect(d.series?.requests.count.reduce((a, b) => a + b, 0)).toBe(d.requests?.total);
    expect(d.series?.cacheHitRate['conversation']?.some((r) => r !== null && r > 0)).toBe(true);
    expect(d.series?.queue.completed.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(11);
    // Backlog readings (every 200 ms here) give the queue-depth series its points.
    expect(d.series?.queue.depth.some((v) => v !== null)).toBe(true);
    expect(d.series?.queue.depth.at(0)).toBeNull();

    expect(d.score.value).toBeGreaterThanOrEqual(0);
    expect(d.score.value).toBeLessThanOrEqual(100);
    expect(d.process.rssBytes).toBeGreaterThan(0);
    expect(d.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('server errors through Fastify count in the requests figures', async () => {
    const before = (await t.service.dashboard()).requests;
    const okBefore = before?.byRoute.find((r) => r.route === '/probe/ok')?.count ?? 0;
    expect((await t.get('/probe/fail')).status).toBe(500);
    expect((await t.get('/probe/ok')).status).toBe(200);
    await timedRequests(t, '/probe/fail', 1);
    await timedRequests(t, '/probe/ok', okBefore + 1);
    const after = (await t.service.dashboard()).requests;
    expect(after?.total).toBe((before?.total ?? 0) + 2);
    expect(after?.errorRate).toBeGreaterThan(0);
    expect(after?.byRoute.find((r) => r.route === '/probe/fail')).toMatchObject({ method: 'GET', count: 1, errors: 1 });
  });

  it('health(): the same components, pinged now, and the overall status', async () => {
    const h = await t.service.health();
    expect({ status: h.status, components: h.components }).toMatchObject({ status: 'ok' });
    expect(h.components.database.status).toBe('up');
    expect(h.components.redis?.status).toBe('up');
    expect(h.components.queue).toEqual({ status: 'up', driver: 'bullmq' });
    expect(h.components.cache.status).toBe('up');
  });

  it('/metrics serves the same figures', async () => {
    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    const families = parsePrometheusText(await res.text());
    expect(families.get('cache_operations_total')?.samples.some((s) => s.labels['cache'] === 'conversation')).toBe(true);
    // Redis is up: no write of the cache waits for a replay.
    expect(families.get('cache_l2_pending')?.samples.find((s) => s.labels['cache'] === 'conversation')?.value).toBe(0);
    expect(families.get('queue_tasks_total')?.samples.some((s) => s.labels['task_type'] === 'test.echo')).toBe(true);
  });
});
