import { describe, expect, it } from 'vitest';
import {
  alert,
  alertEvent,
  cacheStats,
  components,
  dashboardAlert,
  dashboardInputs,
  indexSuggestion,
  MINUTE,
  minutePoint,
  monitorReport,
  NOW,
  nPlusOne,
  processorStats,
  processSample,
  slowQuery,
  THIS_MINUTE,
  type SeriesOverrides,
} from '../testing/dashboard.fixture.js';
import { buildDashboard, CACHE_NAMESPACES, MAX_SLOW_QUERIES, minuteAxis, overallStatus, weightedPercentile } from './dashboard.js';
import { performanceScore } from './score.js';

/** Minute `i` of a 5-minute window ending with the current minute (0 = oldest). */
const at5 = (i: number): number => THIS_MINUTE - (4 - i) * MINUTE;

describe('buildDashboard: the contract', () => {
  it('has every field of the contract\'s dashboard JSON', () => {
    const d = buildDashboard(dashboardInputs());
    expect(Object.keys(d)).toEqual(
      expect.arrayContaining(['status', 'uptimeSeconds', 'version', 'components', 'caches', 'queue', 'requests', 'database', 'alerts', 'process']),
    );
    expect(d.components.database).toEqual({ status: 'up', latencyMs: 1.5 });
    expect(d.components.redis).toEqual({ status: 'up', latencyMs: 0.8 });
    expect(d.components.queue.status).toBe('up');
    for (const name of ['conversation', 'aiResponse', 'toolResult']) {
      expect(Object.keys(d.caches[name] ?? {})).toEqual(
        expect.arrayContaining(['hits', 'misses', 'hitRate', 'l1', 'l2', 'evictions', 'stampedesCoalesced']),
      );
    }
    expect(Object.keys(d.queue ?? {})).toEqual(
      expect.arrayContaining(['waiting', 'active', 'completed', 'failed', 'delayed', 'byPriority', 'throughputPerMin', 'p95WaitMs', 'p95RunMs']),
    );
    expect(Object.keys(d.requests ?? {})).toEqual(expect.arrayContaining(['total', 'ratePerSec', 'errorRate', 'p50Ms', 'p95Ms', 'p99Ms', 'byRoute']));
    expect(Object.keys(d.database ?? {})).toEqual(expect.arrayContaining(['queries', 'p95Ms', 'slowQueries', 'nPlusOne', 'indexSuggestions']));
    expect(d.alerts).toEqual({ active: [], recent: [] });
    expect(Object.keys(d.process)).toEqual(expect.arrayContaining(['rssBytes', 'heapUsedBytes', 'eventLoopLagP99Ms', 'cpuPercent']));
    expect(d.score.value).toBeGreaterThanOrEqual(0);
    expect(d.score.value).toBeLessThanOrEqual(100);
  });

  it('says when it was made, how long the process has run, its version and window', () => {
    const d = buildDashboard(dashboardInputs({ startedAt: NOW - 90_400, version: '9.9.9', windowMinutes: 15 }));
    expect(d.generatedAt).toBe(new Date(NOW).toISOString());
    expect(d.uptimeSeconds).toBe(90);
    expect(d.version).toBe('9.9.9');
    expect(d.windowMinutes).toBe(15);
    // A start time after now (a stepped clock) is not a negative uptime.
    expect(buildDashboard(dashboardInputs({ startedAt: NOW + 5_000 })).uptimeSeconds).toBe(0);
  });

  it('scores what it shows', () => {
    const d = buildDashboard(dashboardInputs({ components: components({ redis: { status: 'down', latencyMs: null, error: 'ECONNREFUSED' } }) }));
    const { score, ...base } = d;
    expect(score).toEqual(performanceScore(base));
    expect(score.findings.map((f) => f.rule)).toContain('component-down');
  });
});

describe('buildDashboard: requests', () => {
  const http = [
    minutePoint(THIS_MINUTE - 2 * MINUTE, { count: 30, errors: 3, p50Ms: 10, p95Ms: 50, p99Ms: 90 }),
    minutePoint(THIS_MINUTE, { count: 10, errors: 0, p50Ms: 20, p95Ms: 100, p99Ms: 200 }),
  ];

  it('totals, error rate, rate per second since the first busy minute, weighted percentiles', () => {
    const routes = [{ method: 'GET', route: '/v1/x', count: 40, errors: 3, meanMs: 12, p95Ms: 100, maxMs: 250 }];
    const d = buildDashboard(dashboardInputs({ report: monitorReport({ routes, series: { http } }) }));
    expect(d.requests).toEqual({
      total: 40,
      errorRate: 3 / 40,
      // From the start of the first minute with traffic (2 min 15 s ago) to now.
      ratePerSec: 40 / 135,
      p50Ms: 10,
      p95Ms: 100,
      p99Ms: 200,
      byRoute: routes,
    });
  });

  it('no traffic: zero total, rate and error rate, no percentiles', () => {
    const d = buildDashboard(dashboardInputs());
    expect(d.requests).toEqual({ total: 0, ratePerSec: 0, errorRate: 0, p50Ms: null, p95Ms: null, p99Ms: null, byRoute: [] });
  });

  it('a burst in the first second of a minute is spread over at least one second', () => {
    const d = buildDashboard(dashboardInputs({ now: THIS_MINUTE + 200, report: monitorReport({ series: { http: [minutePoint(THIS_MINUTE, { count: 50 })] } }) }));
    expect(d.requests?.ratePerSec).toBe(50);
  });

  it('the rate is never spread over more than the window', () => {
    const old = minutePoint(THIS_MINUTE - 30 * MINUTE, { count: 600 });
    const d = buildDashboard(dashboardInputs({ windowMinutes: 5, report: monitorReport({ series: { http: [old] } }) }));
    expect(d.requests?.ratePerSec).toBe(600 / 300);
  });

  it('lists at most 50 routes', () => {
    const routes = Array.from({ length: 60 }, (_, i) => ({ method: 'GET', route: `/r${i}`, count: 60 - i, errors: 0, meanMs: 1, p95Ms: 1, maxMs: 1 }));
    expect(buildDashboard(dashboardInputs({ report: monitorReport({ routes }) })).requests?.byRoute).toEqual(routes.slice(0, 50));
  });
});

describe('buildDashboard: database', () => {
  it('query count, weighted p95, and the analysis lists as the monitor reports them', () => {
    const db = [minutePoint(THIS_MINUTE - MINUTE, { count: 90, p95Ms: 4 }), minutePoint(THIS_MINUTE, { count: 10, p95Ms: 40 })];
    const slow = [slowQuery()];
    const n1 = [nPlusOne()];
    const ix = [indexSuggestion()];
    const d = buildDashboard(dashboardInputs({ report: monitorReport({ series: { db }, slowQueries: slow, nPlusOne: n1, indexSuggestions: ix }) }));
    expect(d.database).toEqual({ queries: 100, p95Ms: 40, slowQueries: slow, nPlusOne: n1, indexSuggestions: ix });
  });
});

describe('buildDashboard: queue', () => {
  it('maps the processor\'s stats to the contract\'s names', () => {
    const zero = { pending: 0, running: 0, completed: 0, failed: 0 };
    const stats = processorStats({
      driver: 'in-process',
      byStatus: { pending: 4, running: 2, completed: 30, failed: 1 },
      byPriority: { low: { ...zero }, normal: { pending: 4, running: 2, completed: 29, failed: 1 }, high: { ...zero, completed: 1 }, urgent: { ...zero }, critical: { ...zero } },
      queue: { waiting: 4, delayed: 3, active: 2 },
      maxPending: 500,
      waitMs: { p50: 5, p95: 70 },
      runMs: { p50: 8, p95: 90 },
      throughputPerMinute: 2.07,
    });
    const d = buildDashboard(dashboardInputs({ processor: stats }));
    expect(d.queue).toEqual({
      waiting: 4,
      active: 2,
      completed: 30,
      failed: 1,
      delayed: 3,
      byPriority: {
        low: { waiting: 0, active: 0, completed: 0, failed: 0 },
        normal: { waiting: 4, active: 2, completed: 29, failed: 1 },
        high: { waiting: 0, active: 0, completed: 1, failed: 0 },
        urgent: { waiting: 0, active: 0, completed: 0, failed: 0 },
        critical: { waiting: 0, active: 0, completed: 0, failed: 0 },
      },
      throughputPerMin: 2.07,
      p95WaitMs: 70,
      p95RunMs: 90,
      maxPending: 500,
      driver: 'in-process',
    });
  });

  it('delayed is 0 when the queue cannot be asked (Redis down)', () => {
    expect(buildDashboard(dashboardInputs({ processor: processorStats({ queue: null }) })).queue?.delayed).toBe(0);
  });

  it('is null with the queue off (or its stats unavailable)', () => {
    expect(buildDashboard(dashboardInputs({ processor: null })).queue).toBeNull();
  });
});

describe('buildDashboard: caches', () => {
  it('by the contract\'s names, null for a cache that is off, other namespaces kept', () => {
    const conversation = cacheStats({ hits: 9, misses: 1, hitRate: 0.9 });
    const own = cacheStats({ hits: 1 });
    const d = buildDashboard(dashboardInputs({ caches: { conversation, 'my-own': own } }));
    expect(d.caches.conversation).toEqual(conversation);
    expect(d.caches.aiResponse).toBeNull();
    expect(d.caches.toolResult).toBeNull();
    expect(d.caches['my-own']).toEqual(own);
  });

  it('the contract names map to the cache lib\'s namespaces', () => {
    expect(CACHE_NAMESPACES).toEqual({ conversation: 'conversation', aiResponse: 'ai-response', toolResult: 'tool-result' });
  });
});

describe('buildDashboard: alerts', () => {
  it('active alerts in the contract\'s shape, ISO times', () => {
    const a = alert({ id: 'a1', severity: 'critical', labels: { cache: 'conversation' }, startedAt: NOW - 60_000, firedAt: NOW - 30_000 });
    const d = buildDashboard(dashboardInputs({ report: monitorReport({ alerts: { active: [a], recent: [] } }) }));
    expect(d.alerts.active).toEqual([
      {
        id: 'a1',
        rule: a.rule,
        severity: 'critical',
        state: 'firing',
        value: a.value,
        threshold: a.threshold,
        since: new Date(NOW - 60_000).toISOString(),
        firedAt: new Date(NOW - 30_000).toISOString(),
        resolvedAt: null,
        metric: a.metric,
        labels: { cache: 'conversation' },
      },
    ]);
  });

  it('recent: one line per alert (its latest transition), newest first', () => {
    const x = alert({ id: 'x' });
    const y = alert({ id: 'y', rule: 'cache-hit-rate' });
    const xResolved = alert({ id: 'x', state: 'resolved', resolvedAt: NOW - 10_000 });
    // As the alert engine gives them: newest first.
    const events = [alertEvent(xResolved, NOW - 10_000, 'resolved'), alertEvent(y, NOW - 20_000), alertEvent(x, NOW - 30_000)];
    const d = buildDashboard(dashboardInputs({ report: monitorReport({ alerts: { active: [y], recent: events } }) }));
    expect(d.alerts.recent.map((a) => [a.id, a.state])).toEqual([
      ['x', 'resolved'],
      ['y', 'firing'],
    ]);
    expect(d.alerts.recent[0]?.resolvedAt).toBe(new Date(NOW - 10_000).toISOString());
  });
});

describe('buildDashboard: process', () => {
  it('the monitor\'s last sample, CPU as a percentage', () => {
    const samples = [processSample(NOW - 30_000, { rssBytes: 1 }), processSample(NOW - 5_000, { rssBytes: 2, heapUsedBytes: 3, eventLoopLagP99Ms: 7, cpuCores: 0.5 })];
    const d = buildDashboard(dashboardInputs({ report: monitorReport({ series: { process: samples } }) }));
    expect(d.process).toEqual({ rssBytes: 2, heapUsedBytes: 3, eventLoopLagP99Ms: 7, cpuPercent: 50 });
  });

  it('without a sample yet: the live memory figures, no lag or CPU', () => {
    const d = buildDashboard(dashboardInputs());
    expect(d.process).toEqual({ rssBytes: 123_000_000, heapUsedBytes: 45_000_000, eventLoopLagP99Ms: null, cpuPercent: null });
  });
});

describe('buildDashboard with the monitor off', () => {
  it('no requests, database, series or alerts; the live process figures; the rest still there', () => {
    const d = buildDashboard(dashboardInputs({ report: null, components: components({ monitor: { status: 'disabled' } }) }));
    expect(d.requests).toBeNull();
    expect(d.database).toBeNull();
    expect(d.series).toBeNull();
    expect(d.alerts).toEqual({ active: [], recent: [] });
    expect(d.process).toEqual({ rssBytes: 123_000_000, heapUsedBytes: 45_000_000, eventLoopLagP99Ms: null, cpuPercent: null });
    expect(d.queue).not.toBeNull();
    expect(d.status).toBe('ok');
  });
});

describe('weightedPercentile', () => {
  const p95 = (p: { p95Ms: number }): number => p.p95Ms;

  it('null without any counted minute', () => {
    expect(weightedPercentile([], p95, 0.95)).toBeNull();
    expect(weightedPercentile([minutePoint(0, { count: 0, p95Ms: 99 })], p95, 0.95)).toBeNull();
  });

  it('each minute weighs its count; empty minutes are ignored; input order does not matter', () => {
    const points = [minutePoint(2, { count: 10, p95Ms: 100 }), minutePoint(0, { count: 0, p95Ms: 1_000 }), minutePoint(1, { count: 90, p95Ms: 5 })];
    expect(weightedPercentile(points, p95, 0.5)).toBe(5);
    expect(weightedPercentile(points, p95, 0.9)).toBe(5);
    expect(weightedPercentile(points, p95, 0.91)).toBe(100);
    expect(weightedPercentile(points, p95, 1)).toBe(100);
    expect(weightedPercentile(points, p95, 0)).toBe(5);
  });

  it('one minute: its own figure', () => {
    expect(weightedPercentile([minutePoint(0, { count: 3, p95Ms: 42 })], p95, 0.99)).toBe(42);
  });
});

describe('minuteAxis', () => {
  it('minute starts, oldest first, ending with the current minute', () => {
    expect(minuteAxis(NOW, 5)).toEqual([at5(0), at5(1), at5(2), at5(3), at5(4)]);
    expect(minuteAxis(NOW, 60)).toHaveLength(60);
    expect(minuteAxis(NOW, 60).at(-1)).toBe(THIS_MINUTE);
    expect(minuteAxis(NOW, 60)[0]).toBe(THIS_MINUTE - 59 * MINUTE);
  });

  it('at a minute\'s first millisecond, that minute is the last', () => {
    expect(minuteAxis(THIS_MINUTE, 2)).toEqual([THIS_MINUTE - MINUTE, THIS_MINUTE]);
    expect(minuteAxis(THIS_MINUTE - 1, 1)).toEqual([THIS_MINUTE - MINUTE]);
  });
});

describe('buildDashboard: series on the minute axis', () => {
  const build = (series: SeriesOverrides, queueDepth?: Array<{ minute: number; value: number }>) =>
    buildDashboard(dashboardInputs({ windowMinutes: 5, report: monitorReport({ series }), ...(queueDepth === undefined ? {} : { queueDepth }) })).series;

  it('one point per minute of the window; minutes without data are 0 (counts) or null (latencies, samples)', () => {
    const s = build({
      http: [minutePoint(at5(1), { count: 3, errors: 1, p50Ms: 4, p95Ms: 8, p99Ms: 9 }), minutePoint(at5(4), { count: 7, p50Ms: 1, p95Ms: 2, p99Ms: 3 })],
      db: [minutePoint(at5(0), { count: 5, p95Ms: 6 })],
      slowQueries: [{ minute: at5(3), count: 2 }],
      queue: { completed: [{ minute: at5(2), count: 4 }], failed: [{ minute: at5(4), count: 1 }], submitted: [{ minute: at5(0), count: 9 }] },
      process: [processSample(at5(1) + 10_000, { rssBytes: 10, cpuCores: 0.1 }), processSample(at5(1) + 50_000, { rssBytes: 11, eventLoopLagP99Ms: 3, cpuCores: 0.2 })],
    });
    expect(s).not.toBeNull();
    expect(s?.minutes).toEqual([at5(0), at5(1), at5(2), at5(3), at5(4)]);
    expect(s?.requests).toEqual({ count: [0, 3, 0, 0, 7], errors: [0, 1, 0, 0, 0], p50Ms: [null, 4, null, null, 1], p95Ms: [null, 8, null, null, 2], p99Ms: [null, 9, null, null, 3] });
    expect(s?.database).toEqual({ count: [5, 0, 0, 0, 0], p95Ms: [6, null, null, null, null], slow: [0, 0, 0, 2, 0] });
    expect(s?.queue).toEqual({ depth: [null, null, null, null, null], completed: [0, 0, 4, 0, 0], failed: [0, 0, 0, 0, 1], submitted: [9, 0, 0, 0, 0] });
    // The minute's last sample stands for it.
    expect(s?.process.rssBytes).toEqual([null, 11, null, null, null]);
    expect(s?.process.eventLoopLagP99Ms).toEqual([null, 3, null, null, null]);
    expect(s?.process.cpuPercent).toEqual([null, 20, null, null, null]);
  });

  it('points outside the window are left out', () => {
    const s = build({ http: [minutePoint(at5(0) - MINUTE, { count: 100 }), minutePoint(at5(4), { count: 1 })] });
    expect(s?.requests.count).toEqual([0, 0, 0, 0, 1]);
  });

  it('queue depth at the minutes it was read, null before and between readings', () => {
    const s = build({}, [{ minute: at5(1), value: 12 }, { minute: at5(3), value: 0 }]);
    expect(s?.queue.depth).toEqual([null, 12, null, 0, null]);
  });

  it('cache hit rate per minute under the contract\'s names: hits ÷ lookups, null without a lookup', () => {
    const s = build({
      cache: {
        conversation: { hits: [{ minute: at5(0), count: 3 }, { minute: at5(3), count: 2 }], misses: [{ minute: at5(0), count: 1 }, { minute: at5(2), count: 4 }], errors: [] },
        'tool-result': { hits: [{ minute: at5(4), count: 5 }], misses: [], errors: [{ minute: at5(1), count: 3 }] },
      },
    });
    expect(s?.cacheHitRate).toEqual({
      conversation: [0.75, null, 0, 1, null],
      aiResponse: [null, null, null, null, null],
      toolResult: [null, null, null, null, 1],
    });
  });

  it('a cache of the app\'s own gets its line too, under its namespace name', () => {
    const s = build({ cache: { 'api-key': { hits: [{ minute: at5(2), count: 9 }], misses: [{ minute: at5(2), count: 1 }], errors: [] } } });
    expect(s?.cacheHitRate['api-key']).toEqual([null, null, 0.9, null, null]);
    expect(Object.keys(s?.cacheHitRate ?? {})).toEqual(['conversation', 'aiResponse', 'toolResult', 'api-key']);
  });
});

describe('buildDashboard: slow queries', () => {
  it('lists the costliest shapes first (total time), at most MAX_SLOW_QUERIES', () => {
    const slow = Array.from({ length: MAX_SLOW_QUERIES + 5 }, (_, i) => slowQuery({ fingerprint: `f${i}`, totalDurationMs: (i * 37) % 101 }));
    const listed = buildDashboard(dashboardInputs({ report: monitorReport({ slowQueries: slow }) })).database?.slowQueries ?? [];
    expect(listed).toHaveLength(MAX_SLOW_QUERIES);
    const totals = listed.map((q) => q.totalDurationMs);
    expect(totals).toEqual([...totals].sort((a, b) => b - a));
    expect(totals[0]).toBe(Math.max(...slow.map((q) => q.totalDurationMs)));
  });
});

describe('overallStatus', () => {
  const down = { status: 'down' as const, latencyMs: null, error: 'x' };
  const cases: Array<[string, Parameters<typeof overallStatus>[0], Parameters<typeof overallStatus>[1], 'ok' | 'degraded' | 'down']> = [
    ['everything up', components(), [], 'ok'],
    ['no Redis configured', components({ redis: null }), [], 'ok'],
    ['the queue and the monitor off', components({ queue: { status: 'disabled', driver: null }, monitor: { status: 'disabled' } }), [], 'ok'],
    ['the database disabled', components({ database: { status: 'disabled', latencyMs: null } }), [], 'ok'],
    ['the database down', components({ database: down }), [], 'down'],
    ['the database down beats the rest', components({ database: down, redis: down, queue: { status: 'down', driver: 'bullmq' } }), [dashboardAlert({ severity: 'critical' })], 'down'],
    ['Redis down', components({ redis: down }), [], 'degraded'],
    ['the queue down', components({ queue: { status: 'down', driver: 'bullmq' } }), [], 'degraded'],
    ['a critical alert firing', components(), [dashboardAlert({ severity: 'critical' })], 'degraded'],
    ['a critical alert pending', components(), [dashboardAlert({ severity: 'critical', state: 'pending' })], 'ok'],
    ['a warning firing', components(), [dashboardAlert({ severity: 'warning' })], 'ok'],
    ['the cache\'s L2 circuit open (fail-open)', components({ cache: { status: 'up', l2: 'open' } }), [], 'ok'],
  ];
  it.each(cases)('%s', (_name, c, active, expected) => {
    expect(overallStatus(c, active)).toBe(expected);
  });

  it('the dashboard uses it with its active alerts', () => {
    const critical = alert({ severity: 'critical', state: 'firing' });
    const d = buildDashboard(dashboardInputs({ report: monitorReport({ alerts: { active: [critical], recent: [] } }) }));
    expect(d.status).toBe('degraded');
  });
});
