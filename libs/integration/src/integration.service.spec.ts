import { QueueUnavailableError } from '@chat/async';
import type { PerformanceMonitorService } from '@chat/monitoring';
import { randomUUID } from 'node:crypto';
import { Counter, Gauge, Histogram, register } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { PassThroughNamespace } from './facade/pass-through.namespace.js';
import { alert } from './testing/dashboard.fixture.js';
import type { PerformanceIntegrationOptions } from './integration.options.js';
import { PerformanceIntegrationService } from './integration.service.js';

/** Everything off: no cache, no queue, no monitor, no database, no Redis (nothing to talk to). */
function offService(options: PerformanceIntegrationOptions = {}): PerformanceIntegrationService {
  return new PerformanceIntegrationService(options, { cache: false, queue: false, monitor: false }, null, null, null, null, null, null);
}

/** prom-client's registry is global to the process: every test gets names of its own. */
const metricName = (what: string): string => `integration_spec_${what}_${randomUUID().replaceAll('-', '')}`;

describe('PerformanceIntegrationService with the cache off', () => {
  it('every read runs its loader, each time, and says cached: false', async () => {
    const s = offService();
    const load = vi.fn(async () => ({ id: 'c1' }));
    expect(await s.conversation('u1', 'c1', load)).toEqual({ value: { id: 'c1' }, cached: false });
    expect(await s.conversation('u1', 'c1', load)).toEqual({ value: { id: 'c1' }, cached: false });
    expect(load).toHaveBeenCalledTimes(2);
    expect(await s.conversation('u1', 'missing', async () => null)).toEqual({ value: null, cached: false });

    const page = vi.fn(async () => [1, 2, 3]);
    expect(await s.newestMessages('u1', 'c1', page)).toEqual({ value: [1, 2, 3], cached: false });
    await s.newestMessages('u1', 'c1', page);
    expect(page).toHaveBeenCalledTimes(2);

    const generate = vi.fn(async () => 'answer');
    const request = { model: 'local', messages: [{ role: 'user', content: 'hi' }] } as unknown as Parameters<PerformanceIntegrationService['aiAnswer']>[1];
    expect(await s.aiAnswer('u1', request, generate)).toEqual({ value: 'answer', cached: false });
    await s.aiAnswer('u1', request, generate);
    expect(generate).toHaveBeenCalledTimes(2);

    const run = vi.fn(async () => 42);
    const tool = { name: 'calculator', cacheTtlMs: 60_000 } as unknown as Parameters<PerformanceIntegrationService['toolResult']>[0];
    expect(await s.toolResult(tool, { expression: '6*7' }, run)).toEqual({ value: 42, cached: false });
    await s.toolResult(tool, { expression: '6*7' }, run);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('a loader\'s error reaches the caller', async () => {
    const s = offService();
    const boom = new Error('database gone');
    await expect(s.conversation('u1', 'c1', () => Promise.reject(boom))).rejects.toBe(boom);
    await expect(s.aiAnswer('u1', {} as never, () => Promise.reject(boom))).rejects.toBe(boom);
  });

  it('no cached AI answer; stores and invalidations are no-ops', async () => {
    const s = offService();
    await expect(s.cachedAiAnswer('u1', {} as never)).resolves.toBeUndefined();
    await expect(s.storeAiAnswer('u1', {} as never, 'x')).resolves.toBeUndefined();
    await expect(s.cachedAiAnswer('u1', {} as never)).resolves.toBeUndefined();
    await expect(s.conversationChanged('u1', 'c1', { id: 'c1' })).resolves.toBeUndefined();
    await expect(s.messagesChanged('u1', 'c1')).resolves.toBeUndefined();
    await expect(s.conversationRemoved('u1', 'c1')).resolves.toBeUndefined();
  });

  it('an app\'s own namespace is a pass-through one, the same for the same name, in cacheStats', async () => {
    const s = offService();
    const a = s.cacheNamespace('sessions', { ttlMs: 1_000 });
    expect(a).toBeInstanceOf(PassThroughNamespace);
    expect(s.cacheNamespace('sessions', { ttlMs: 5 })).toBe(a);
    expect(s.cacheNamespace('other', { ttlMs: 5 })).not.toBe(a);
    await a.getOrLoad('k', async () => 1);
    await a.getOrLoad('k', async () => 1);
    expect(Object.keys(s.cacheStats()).sort()).toEqual(['other', 'sessions']);
    expect(s.cacheStats()['sessions']).toMatchObject({ misses: 2, loads: 2, hits: 0 });
  });
});

describe('PerformanceIntegrationService with the queue off', () => {
  const calls: Array<[string, (s: PerformanceIntegrationService) => Promise<unknown>]> = [
    ['submitTask', (s) => s.submitTask('email', { to: 'a' })],
    ['submitTasks', (s) => s.submitTasks([{ type: 'email', payload: {} }])],
    ['inTransaction', (s) => s.inTransaction(async () => 1)],
    ['tasks', (s) => s.tasks()],
    ['retryTask', (s) => s.retryTask('00000000-0000-0000-0000-000000000000')],
    ['taskStats', (s) => s.taskStats()],
  ];

  it.each(calls)('%s rejects with QueueUnavailableError (never throws synchronously)', async (_name, call) => {
    const s = offService();
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = call(s);
    }).not.toThrow();
    await expect(promise).rejects.toBeInstanceOf(QueueUnavailableError);
    await expect(call(s)).rejects.toThrow(/turned off|unavailable/i);
  });

  it('the work of inTransaction never runs', async () => {
    const work = vi.fn(async () => 1);
    await expect(offService().inTransaction(work)).rejects.toBeInstanceOf(QueueUnavailableError);
    expect(work).not.toHaveBeenCalled();
  });

  it('task() gives null; registerTask is a no-op', async () => {
    const s = offService();
    await expect(s.task('00000000-0000-0000-0000-000000000000')).resolves.toBeNull();
    await expect(s.task('x', 'owner')).resolves.toBeNull();
    expect(() => s.registerTask('email', { handle: async () => 'sent' })).not.toThrow();
  });
});

describe('PerformanceIntegrationService metrics', () => {
  it('counter(): the same metric for the same name, counting in prom-client\'s registry', async () => {
    const s = offService();
    const name = metricName('counter');
    const c = s.counter(name, 'help', ['kind']);
    expect(c).toBeInstanceOf(Counter);
    expect(s.counter(name, 'other help', ['kind'])).toBe(c);
    c.inc({ kind: 'a' });
    s.counter<'kind'>(name, 'help', ['kind']).inc({ kind: 'a' }, 2);
    expect(register.getSingleMetric(name)).toBe(c);
    expect(await register.getSingleMetricAsString(name)).toContain(`${name}{kind="a"} 3`);
    // Another service (another app in the process) gets the same one.
    expect(offService().counter(name, 'help', ['kind'])).toBe(c);
  });

  it('gauge() and histogram(): the same metric for the same name', async () => {
    const s = offService();
    const g = metricName('gauge');
    const h = metricName('histogram');
    expect(s.gauge(g, 'help')).toBeInstanceOf(Gauge);
    expect(s.gauge(g, 'help')).toBe(s.gauge(g, 'help'));
    const histogram = s.histogram(h, 'help', [], [0.1, 1]);
    expect(histogram).toBeInstanceOf(Histogram);
    expect(s.histogram(h, 'help')).toBe(histogram);
    histogram.observe(0.5);
    expect(await register.getSingleMetricAsString(h)).toContain(`${h}_bucket{le="1"} 1`);
    expect(await register.getSingleMetricAsString(h)).toContain(`${h}_bucket{le="0.1"} 0`);
  });

  it('a histogram without buckets gets prom-client\'s defaults', async () => {
    const h = metricName('default_buckets');
    offService().histogram(h, 'help').observe(0.2);
    expect(await register.getSingleMetricAsString(h)).toContain(`${h}_bucket{le="0.005"}`);
  });

  it.each<[string, (s: PerformanceIntegrationService, name: string) => unknown, (s: PerformanceIntegrationService, name: string) => unknown]>([
    ['counter, then gauge', (s, n) => s.counter(n, 'h'), (s, n) => s.gauge(n, 'h')],
    ['counter, then histogram', (s, n) => s.counter(n, 'h'), (s, n) => s.histogram(n, 'h')],
    ['gauge, then counter', (s, n) => s.gauge(n, 'h'), (s, n) => s.counter(n, 'h')],
    ['histogram, then gauge', (s, n) => s.histogram(n, 'h'), (s, n) => s.gauge(n, 'h')],
  ])('a name registered as another kind throws (%s)', (_name, first, second) => {
    const s = offService();
    const n = metricName('kind');
    first(s, n);
    expect(() => second(s, n)).toThrow(`metric "${n}" is already registered as another kind`);
  });
});

describe('PerformanceIntegrationService with everything off: health and dashboard', () => {
  it('monitorReport() is null', () => {
    expect(offService().monitorReport()).toBeNull();
  });

  it('health(): every component disabled, no Redis, status ok', async () => {
    await expect(offService().health()).resolves.toEqual({
      status: 'ok',
      components: {
        database: { status: 'disabled', latencyMs: null },
        redis: null,
        queue: { status: 'disabled', driver: null },
        cache: { status: 'disabled', l2: null },
        monitor: { status: 'disabled' },
      },
    });
  });

  it('health(): a firing critical alert of the monitor degrades the status; a pending one does not', async () => {
    let active = [alert({ severity: 'critical', state: 'firing' })];
    const monitor = { alerts: { active: () => active } } as unknown as PerformanceMonitorService;
    const s = new PerformanceIntegrationService({}, { cache: false, queue: false, monitor: true }, null, null, null, null, null, monitor);
    const h = await s.health();
    expect(h.status).toBe('degraded');
    expect(h.components.monitor).toEqual({ status: 'up' });
    active = [alert({ severity: 'critical', state: 'pending' })];
    expect((await s.health()).status).toBe('ok');
  });

  it('dashboard(): no queue, requests, database or series; caches null; the process\'s own figures; a score', async () => {
    const d = await offService({ version: '7.0.0' }).dashboard(15);
    expect(d).toMatchObject({
      status: 'ok',
      version: '7.0.0',
      windowMinutes: 15,
      queue: null,
      requests: null,
      database: null,
      series: null,
      alerts: { active: [], recent: [] },
      caches: { conversation: null, aiResponse: null, toolResult: null },
    });
    expect(d.process.rssBytes).toBeGreaterThan(0);
    expect(d.process.heapUsedBytes).toBeGreaterThan(0);
    expect(d.process.eventLoopLagP99Ms).toBeNull();
    expect(d.score.value).toBeGreaterThanOrEqual(0);
    expect(d.score.value).toBeLessThanOrEqual(100);
    expect(d.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('dashboard(): the app\'s own pass-through namespaces are listed beside the three', async () => {
    const s = offService();
    await s.cacheNamespace('sessions', { ttlMs: 1 }).getOrLoad('k', async () => 1);
    const d = await s.dashboard();
    expect(d.caches['sessions']).toMatchObject({ misses: 1 });
    expect(d.caches.conversation).toBeNull();
  });

  it('the lifecycle hooks do nothing and do not fail', async () => {
    const s = offService();
    await expect(s.onModuleInit()).resolves.toBeUndefined();
    await expect(s.beforeApplicationShutdown()).resolves.toBeUndefined();
    await expect(s.onApplicationShutdown()).resolves.toBeUndefined();
    await expect(s.onApplicationShutdown()).resolves.toBeUndefined();
  });
});
