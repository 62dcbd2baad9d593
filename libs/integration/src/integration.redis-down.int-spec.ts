import { QueueUnavailableError } from '@chat/async';
import { createTestDatabase, type TestDatabase } from '@chat/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIntegrationApp, timedRequests, type IntegrationApp } from './testing/integration-app.fixture.js';

/**
 * Redis configured but not there (a closed port): the module starts, reads go through the cache
 * (fail-open: L1, then the loader), the queue refuses submissions with `QueueUnavailableError`
 * (a 503), the dashboard says Redis is down and the app degraded, and nothing hangs: every call
 * below resolves within vitest's test timeout, and `app.close()` within the hook timeout.
 */
const DOWN_REDIS = 'redis://127.0.0.1:1';
const prefix = `test-integration-down-${randomUUID()}`;
let database: TestDatabase;
let t: IntegrationApp;

beforeAll(async () => {
  database = await createTestDatabase('integration_redis_down');
  t = await startIntegrationApp({
    databaseUrl: database.url,
    config: { redisUrl: DOWN_REDIS, prefix, version: 'down' },
    tasks: { 'test.echo': { handle: async ({ task }) => task.payload } },
    // Nothing answers on the port: every ping waits this long (offline queue) before it says `down`.
    adjust: (o) => ({ ...o, pingTimeoutMs: 1_000 }),
  });
});

let closed = false;

afterAll(async () => {
  try {
    if (!closed) await t?.app.close();
  } finally {
    await database?.drop();
  }
});

describe('Redis down', () => {
  it('the module started, with every subsystem on', () => {
    expect(t.service.subsystems).toEqual({ cache: true, queue: true, monitor: true });
  });

  it('reads through the cache still work (fail-open)', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await t.get('/probe/conversations/down-1');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ value: { id: 'down-1', title: 'conversation down-1' } });
    }
    const ns = t.service.cacheNamespace('down-own', { ttlMs: 60_000 });
    let loads = 0;
    const first = await ns.getOrLoad('k', async () => ++loads);
    const second = await ns.getOrLoad('k', async () => ++loads);
    expect(first.value).toBe(1);
    // L1 serves while L2 is away, for 1 s at most (no invalidation bus): on a loaded machine the second
    // read may come later and load again. Either way it answers.
    expect(second.source === 'l1' ? second.value === 1 : second.source === 'loader' && second.value === 2).toBe(true);
  });

  it('submitting a task is refused with QueueUnavailableError (a 503), nothing is queued', async () => {
    await expect(t.service.submitTask('test.echo', { n: 1 })).rejects.toBeInstanceOf(QueueUnavailableError);
  });

  it('dashboard(): Redis and the queue down, the cache\'s L2 not closed, status degraded; it resolves', async () => {
    const d = await t.service.dashboard();
    expect(d.status).toBe('degraded');
    expect(d.components.database.status).toBe('up');
    expect(d.components.redis).toMatchObject({ status: 'down', latencyMs: null });
    expect(d.components.redis?.error).toEqual(expect.any(String));
    expect(d.components.queue).toEqual({ status: 'down', driver: 'bullmq' });
    expect(d.components.cache.status).toBe('up');
    // The task table answers; the queue's own counts cannot be read.
    expect(d.queue).toMatchObject({ driver: 'bullmq', delayed: 0 });
    expect(d.caches.conversation?.misses).toBeGreaterThanOrEqual(1);
    expect(d.score.findings.map((f) => f.rule)).toContain('component-down');
    expect(d.score.value).toBeLessThanOrEqual(60);
  });

  it('health(): degraded, and so again (the ping client does not pile up)', async () => {
    for (let i = 0; i < 3; i++) {
      const h = await t.service.health();
      expect(h.status).toBe('degraded');
      expect(h.components.redis?.status).toBe('down');
    }
  });

  it('requests through the app are still timed', async () => {
    expect((await t.get('/probe/ok')).status).toBe(200);
    await timedRequests(t, '/probe/ok', 1);
    const d = await t.service.dashboard();
    expect(d.requests?.byRoute.find((r) => r.route === '/probe/ok')?.count).toBeGreaterThanOrEqual(1);
  });

  it('app.close() ends: the worker drain is bounded by shutdownTimeoutMs, Redis or not', async () => {
    await t.app.close();
    closed = true;
    // Closed: the ping connection is gone and not made again.
    expect((await t.service.health()).components.redis).toBeNull();
  }, 60_000);
});
