import { afterEach, describe, expect, it } from 'vitest';
import { AlertEngine, DEFAULT_ALERT_RULES, type AlertLogger, type MetricSample } from '../alerts/index.js';
import { LatencyHistogram } from '../queries/query-stats.js';
import type { QuerySample } from '../queries/query-sample.js';
import { OTHER_ROUTE, PerformanceMonitor, type PerformanceMonitorOptions } from './performance-monitor.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** A minute-aligned epoch (2024-01-01T00:00:00Z). */
const T0 = Date.UTC(2024, 0, 1);

function at(minute: number, seconds = 0): number {
  return T0 + minute * MINUTE + seconds * 1_000;
}

function expectWithin(actual: number | undefined, exact: number): void {
  expect(actual).toBeDefined();
  expect(Math.abs((actual ?? Number.NaN) - exact) / exact).toBeLessThanOrEqual(LatencyHistogram.RELATIVE_ERROR + 1e-9);
}

function query(startedAt: number, durationMs: number): QuerySample {
  return { sql: 'SELECT 1', parameters: [], fingerprint: 'f', durationMs, rows: 1, operation: 'SELECT', route: null, startedAt };
}

function valueOf(samples: readonly MetricSample[], metric: string, labels?: Record<string, string>): number | undefined {
  const found = samples.filter((s) => s.metric === metric && (labels === undefined || JSON.stringify(s.labels) === JSON.stringify(labels)));
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

describe('PerformanceMonitor', () => {
  let t = at(0);
  const monitors: PerformanceMonitor[] = [];
  function monitor(options: PerformanceMonitorOptions = {}): PerformanceMonitor {
    // minSamples 1: these specs feed short, exact sequences (its own default is tested below).
    const m = new PerformanceMonitor({ now: () => t, processProbe: false, minSamples: 1, ...options });
    monitors.push(m);
    return m;
  }
  afterEach(() => {
    for (const m of monitors.splice(0)) m.stop();
    t = at(0);
  });

  describe('requests and routes', () => {
    it('folds routes past the cap into (other): 10 000 distinct routes stay within maxRoutes + 1 series', () => {
      const m = monitor({ maxRoutes: 50 });
      t = at(0, 10);
      for (let i = 0; i < 10_000; i++) m.recordRequest({ method: 'GET', route: `/r/${i}`, status: 200, durationMs: 1 + (i % 7) });

      const routes = m.routes();
      expect(routes.length).toBeLessThanOrEqual(51);
      expect(routes).toHaveLength(51);
      const other = routes.find((r) => r.route === OTHER_ROUTE);
      expect(other).toMatchObject({ method: '*', route: OTHER_ROUTE, count: 10_000 - 50 });
      expect(routes[0]).toBe(other); // sorted by count, most first
      // The first 50 routes are tracked one by one; later ones, even repeated, still fold.
      expect(routes.filter((r) => r.route !== OTHER_ROUTE).map((r) => r.route).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `/r/${i}`).sort());
      m.recordRequest({ method: 'GET', route: '/r/9999', status: 200, durationMs: 1 });
      m.recordRequest({ method: 'GET', route: '/r/0', status: 200, durationMs: 1 });
      expect(m.routes().find((r) => r.route === OTHER_ROUTE)?.count).toBe(10_000 - 50 + 1);
      expect(m.routes().find((r) => r.route === '/r/0')?.count).toBe(2);
      // The overall HTTP series counts every request.
      expect(m.series().http.reduce((n, p) => n + p.count, 0)).toBe(10_002);
    });

    it('tracks method and route apart, and folds everything into (other) with maxRoutes 0', () => {
      const m = monitor({ maxRoutes: 2 });
      m.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 1 });
      m.recordRequest({ method: 'POST', route: '/a', status: 201, durationMs: 1 });
      m.recordRequest({ method: 'PUT', route: '/a', status: 200, durationMs: 1 });
      expect(m.routes().map((r) => `${r.method} ${r.route}`).sort()).toEqual(['* (other)', 'GET /a', 'POST /a']);

      const none = monitor({ maxRoutes: 0 });
      none.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 1 });
      expect(none.routes().map((r) => r.route)).toEqual([OTHER_ROUTE]);
    });

    it('counts 5xx, and only 5xx, as errors', () => {
      const m = monitor();
      for (const status of [200, 201, 302, 400, 404, 499, 500, 502, 503, 599]) m.recordRequest({ method: 'GET', route: '/x', status, durationMs: 10 });
      expect(valueOf(m.alertSamples(), 'http.error_rate')).toBeCloseTo(4 / 10, 12);
      expect(m.routes()[0]).toMatchObject({ count: 10, errors: 4 });
      expect(m.series().http[0]).toMatchObject({ count: 10, errors: 4 });
    });

    it('routes(): count, errors, mean, p95, max per route over the window, most requests first', () => {
      const m = monitor();
      t = at(10, 5);
      for (let i = 1; i <= 100; i++) m.recordRequest({ method: 'GET', route: '/items/:id', status: i <= 3 ? 500 : 200, durationMs: i });
      t = at(11, 5);
      for (let i = 1; i <= 10; i++) m.recordRequest({ method: 'POST', route: '/items', status: 201, durationMs: 10 * i });
      m.recordRequest({ method: 'GET', route: '/items/:id', status: 200, durationMs: 1 });

      const [get, post] = m.routes();
      expect(get).toMatchObject({ method: 'GET', route: '/items/:id', count: 101, errors: 3, maxMs: 100 });
      expect(get?.meanMs).toBeCloseTo(5051 / 101, 9);
      expectWithin(get?.p95Ms, 95); // the worst minute's p95 (minute 10)
      expect(post).toMatchObject({ method: 'POST', route: '/items', count: 10, errors: 0, maxMs: 100, meanMs: 55 });
      expectWithin(post?.p95Ms, 100);
      expect(Object.keys(get ?? {}).sort()).toEqual(['count', 'errors', 'maxMs', 'meanMs', 'method', 'p95Ms', 'route']);

      // A window that only reaches minute 11 leaves minute 10 out; a route without requests in it is omitted.
      t = at(12, 30);
      expect(m.routes(90_000)).toEqual([expect.objectContaining({ route: '/items', count: 10 }), expect.objectContaining({ route: '/items/:id', count: 1, maxMs: 1 })]);
      t = at(200);
      expect(m.routes()).toEqual([]);
    });
  });

  describe('alertSamples()', () => {
    it('produces exactly the default rules’ metric keys, with cache labels, when everything is fed', () => {
      const m = monitor({ processProbe: true });
      m.recordRequest({ method: 'GET', route: '/', status: 200, durationMs: 5 });
      m.recordQuery(query(t, 1));
      m.recordCache({ cache: 'conversation', outcome: 'hit' });
      m.setQueuePending(3);
      expect(m.sampleProcess()).not.toBeNull();

      const samples = m.alertSamples();
      const ruleMetrics = new Set(DEFAULT_ALERT_RULES.map((r) => r.metric));
      expect(new Set(samples.map((s) => s.metric))).toEqual(ruleMetrics);
      expect(samples).toHaveLength(ruleMetrics.size);
      for (const s of samples) {
        expect(Number.isFinite(s.value)).toBe(true);
        if (s.metric === 'cache.hit_rate') expect(s.labels).toEqual({ cache: 'conversation' });
        else expect(s.labels).toBeUndefined();
      }
    });

    it('omits what was not measured: no requests, no lookups, no pending count, no process sample', () => {
      const m = monitor();
      expect(m.alertSamples()).toEqual([{ metric: 'db.slow_queries_per_min', value: 0 }]);
      m.recordCache({ cache: 'c', outcome: 'error' });
      expect(m.alertSamples().map((s) => s.metric)).toEqual(['db.slow_queries_per_min']);
      expect(m.sampleProcess()).toBeNull();
      m.setQueuePending(0);
      expect(valueOf(m.alertSamples(), 'queue.pending')).toBe(0);
    });

    it('reports p95, error rate, slow queries per minute, hit rates and the backlog for a known sequence', () => {
      const m = monitor();
      t = at(20, 0);
      // 200 requests of 1..200 ms, 10 of them 5xx.
      for (let i = 1; i <= 200; i++) {
        t = at(20, i * 0.1);
        m.recordRequest({ method: 'GET', route: '/x', status: i % 20 === 0 ? 503 : 200, durationMs: i });
      }
      // Queries: 99.9 is fast, 100 (the threshold) and above are slow: 3 slow ones.
      for (const ms of [5, 99.9, 100, 150, 2_000]) m.recordQuery(query(t, ms));
      for (let i = 0; i < 3; i++) m.recordCache({ cache: 'a', outcome: 'hit', tier: 'l1' });
      m.recordCache({ cache: 'a', outcome: 'miss' });
      m.recordCache({ cache: 'a', outcome: 'error' }); // not a lookup that answered
      m.recordCache({ cache: 'b', outcome: 'miss' });
      m.setQueuePending(1_234);
      m.setQueuePending(42); // the last report wins

      t = at(21, 30);
      const samples = m.alertSamples();
      expectWithin(valueOf(samples, 'http.p95_ms'), 190);
      expect(valueOf(samples, 'http.error_rate')).toBeCloseTo(10 / 200, 12);
      expect(valueOf(samples, 'db.slow_queries_per_min')).toBeCloseTo(3 / 5, 12);
      expect(valueOf(samples, 'cache.hit_rate', { cache: 'a' })).toBeCloseTo(3 / 4, 12);
      expect(valueOf(samples, 'cache.hit_rate', { cache: 'b' })).toBe(0);
      expect(valueOf(samples, 'queue.pending')).toBe(42);

      // Six minutes later everything has left the 5-minute window.
      t = at(27, 0);
      const later = m.alertSamples();
      expect(later.map((s) => s.metric).sort()).toEqual(['db.slow_queries_per_min', 'queue.pending']);
      expect(valueOf(later, 'db.slow_queries_per_min')).toBe(0);
    });

    it('hands no ratio or p95 to the alert rules below minSamples (default 20): one 5xx in three requests is not a 33% rate', () => {
      const m = monitor({ minSamples: undefined });
      t = at(40, 0);
      m.recordRequest({ method: 'GET', route: '/x', status: 500, durationMs: 5_000 });
      m.recordRequest({ method: 'GET', route: '/x', status: 200, durationMs: 1 });
      m.recordRequest({ method: 'GET', route: '/x', status: 200, durationMs: 1 });
      for (let i = 0; i < 5; i++) m.recordCache({ cache: 'a', outcome: 'miss' });
      let samples = m.alertSamples();
      expect(valueOf(samples, 'http.error_rate')).toBeUndefined();
      expect(valueOf(samples, 'http.p95_ms')).toBeUndefined();
      expect(valueOf(samples, 'cache.hit_rate', { cache: 'a' })).toBeUndefined();
      for (let i = 0; i < 17; i++) m.recordRequest({ method: 'GET', route: '/x', status: 200, durationMs: 1 });
      samples = m.alertSamples();
      expect(valueOf(samples, 'http.error_rate')).toBeCloseTo(1 / 20, 12);
    });

    it('takes the p95 of the window’s requests, not of its worst minute', () => {
      const m = monitor();
      t = at(50, 0);
      for (let i = 0; i < 1_000; i++) m.recordRequest({ method: 'GET', route: '/x', status: 200, durationMs: 10 });
      t = at(51, 0);
      // A quiet minute with a few slow requests: its own p95 is 5 s, the window's is not.
      for (let i = 0; i < 10; i++) m.recordRequest({ method: 'GET', route: '/x', status: 200, durationMs: 5_000 });
      t = at(52, 0);
      expectWithin(valueOf(m.alertSamples(), 'http.p95_ms'), 10);
      // 60 slow ones among 1 060 (5.7 %) do move the p95.
      for (let i = 0; i < 50; i++) m.recordRequest({ method: 'GET', route: '/x', status: 200, durationMs: 5_000 });
      expectWithin(valueOf(m.alertSamples(), 'http.p95_ms'), 5_000);
      // Once the fast minute has left the window, only the slow requests are left.
      t = at(56, 30);
      expectWithin(valueOf(m.alertSamples(), 'http.p95_ms'), 5_000);
    });

    it('honours slowQueryMs, and files queries under their start time', () => {
      const m = monitor({ slowQueryMs: 500 });
      t = at(30, 0);
      m.recordQuery(query(at(29, 50), 499.99));
      m.recordQuery(query(at(29, 55), 500));
      m.recordQuery(query(at(30, 0), 10_000));
      expect(valueOf(m.alertSamples(), 'db.slow_queries_per_min')).toBeCloseTo(2 / 5, 12);
      const { slowQueries, db } = m.series();
      expect(slowQueries).toEqual([
        { minute: at(29), count: 1 },
        { minute: at(30), count: 1 },
      ]);
      expect(db.map((p) => [p.minute, p.count])).toEqual([
        [at(29), 2],
        [at(30), 1],
      ]);
    });

    it('reads a steady slow-query rate exactly at any point of the minute (the oldest minute counts pro rata)', () => {
      const m = monitor();
      // 12 slow queries a minute, evenly spread, for 20 minutes.
      for (let minute = 0; minute < 20; minute++) {
        for (let k = 0; k < 12; k++) m.recordQuery(query(at(minute, k * 5 + 2.5), 250));
      }
      for (const seconds of [0, 15, 30, 45, 59]) {
        t = at(19, seconds);
        // Only the queries started so far exist at `t`: replay the same history up to `t`.
        const replay = monitor();
        for (let minute = 0; minute <= 19; minute++) {
          for (let k = 0; k < 12; k++) {
            const startedAt = at(minute, k * 5 + 2.5);
            if (startedAt <= t) replay.recordQuery(query(startedAt, 250));
          }
        }
        // ±1 query: the pro rata share of the oldest minute is exact only for evenly spread events.
        expect(Math.abs((valueOf(replay.alertSamples(), 'db.slow_queries_per_min') ?? 0) - 12)).toBeLessThanOrEqual(1 / 5 + 1e-9);
      }
      t = at(20, 0);
      expect(valueOf(m.alertSamples(), 'db.slow_queries_per_min')).toBeCloseTo(12, 9);
    });

    it('keeps one hit rate per cache, capped at maxLabels + (other)', () => {
      const m = monitor({ maxLabels: 2 });
      const lookups: Array<[string, number, number]> = [
        ['a', 9, 1],
        ['b', 1, 1],
        ['c', 1, 3],
        ['d', 3, 1],
      ];
      for (const [cache, hits, misses] of lookups) {
        for (let i = 0; i < hits; i++) m.recordCache({ cache, outcome: 'hit' });
        for (let i = 0; i < misses; i++) m.recordCache({ cache, outcome: 'miss' });
      }
      const rates = m
        .alertSamples()
        .filter((s) => s.metric === 'cache.hit_rate')
        .map((s) => [s.labels?.['cache'], s.value]);
      expect(rates).toEqual([
        ['a', 0.9],
        ['b', 0.5],
        [OTHER_ROUTE, 0.5], // c and d together: 4 hits of 8
      ]);
      expect(Object.keys(m.series().cache)).toEqual(['a', 'b', OTHER_ROUTE]);
    });

    it('sees the hit rate over the window only', () => {
      const m = monitor();
      t = at(0, 10);
      for (let i = 0; i < 10; i++) m.recordCache({ cache: 'a', outcome: 'miss' });
      t = at(7, 10);
      for (let i = 0; i < 3; i++) m.recordCache({ cache: 'a', outcome: 'hit' });
      m.recordCache({ cache: 'a', outcome: 'miss' });
      expect(valueOf(m.alertSamples(), 'cache.hit_rate', { cache: 'a' })).toBeCloseTo(0.75, 12);
    });

    it('counts recordCache(event, n) as n lookups in the hit rate and the per-minute cache series', () => {
      const m = monitor({ minSamples: undefined }); // default 20: one call of 5 and one of 15 reach it
      t = at(10, 5);
      m.recordCache({ cache: 'a', outcome: 'hit', tier: 'l1' }, 5);
      m.recordCache({ cache: 'a', outcome: 'hit' });
      expect(valueOf(m.alertSamples(), 'cache.hit_rate', { cache: 'a' })).toBeUndefined(); // 6 lookups < 20
      m.recordCache({ cache: 'a', outcome: 'miss' }, 14);
      m.recordCache({ cache: 'a', outcome: 'error' }, 3); // not lookups that answered
      t = at(10, 30);
      expect(valueOf(m.alertSamples(), 'cache.hit_rate', { cache: 'a' })).toBeCloseTo(6 / 20, 12);
      expect(m.series().cache['a']).toEqual({
        hits: [{ minute: at(10), count: 6 }],
        misses: [{ minute: at(10), count: 14 }],
        errors: [{ minute: at(10), count: 3 }],
      });
    });

    it('adds process figures from the last sample when the probe is on', () => {
      const m = monitor({ processProbe: true });
      expect(m.alertSamples().some((s) => s.metric.startsWith('process.'))).toBe(false);
      const sample = m.sampleProcess();
      expect(sample?.at).toBe(t);
      const samples = m.alertSamples();
      expect(valueOf(samples, 'process.rss_bytes')).toBe(sample?.rssBytes);
      expect(valueOf(samples, 'process.event_loop_lag_p99_ms')).toBe(sample?.eventLoopLagP99Ms);
      expect(sample?.rssBytes).toBeGreaterThan(0);
    });
  });

  describe('queue', () => {
    it('counts submissions with their count, waits, runs, completions and final failures only', () => {
      const m = monitor();
      t = at(5, 1);
      m.recordQueue({ kind: 'submitted', type: 'email', count: 5 });
      m.recordQueue({ kind: 'submitted', type: 'email' });
      m.recordQueue({ kind: 'rejected', count: 2 });
      m.recordQueue({ kind: 'started', waitMs: 200 });
      m.recordQueue({ kind: 'started', waitMs: 400 });
      m.recordQueue({ kind: 'started' }); // no wait reported: nothing to time
      m.recordQueue({ kind: 'completed', runMs: 50 });
      m.recordQueue({ kind: 'completed', count: 3 }); // a batch, no run time
      m.recordQueue({ kind: 'failed', runMs: 70, final: false }); // will be retried
      m.recordQueue({ kind: 'failed', runMs: 80 }); // final unknown: not counted as failed
      m.recordQueue({ kind: 'failed', runMs: 90, final: true });
      m.recordQueue({ kind: 'released' });

      const { queue } = m.series();
      expect(queue.submitted).toEqual([{ minute: at(5), count: 6 }]);
      expect(queue.rejected).toEqual([{ minute: at(5), count: 2 }]);
      expect(queue.completed).toEqual([{ minute: at(5), count: 4 }]);
      expect(queue.failed).toEqual([{ minute: at(5), count: 1 }]);
      expect(queue.wait).toEqual([expect.objectContaining({ minute: at(5), count: 2, errors: 0, sumMs: 600, maxMs: 400 })]);
      // Every attempt's run time; failed attempts (retried or not) are the run series' errors.
      expect(queue.run).toEqual([expect.objectContaining({ minute: at(5), count: 4, errors: 3, sumMs: 290, maxMs: 90 })]);
    });
  });

  describe('series()', () => {
    it('has per-minute series for the last hour by default, oldest first, with their values', () => {
      const m = monitor();
      t = at(100, 0);
      m.recordRequest({ method: 'GET', route: '/', status: 200, durationMs: 30 });
      t = at(130, 0);
      m.recordRequest({ method: 'GET', route: '/', status: 500, durationMs: 10 });
      m.recordRequest({ method: 'GET', route: '/', status: 200, durationMs: 20 });
      m.recordQuery(query(t, 120));
      m.recordCache({ cache: 'conversation', outcome: 'hit' });
      m.recordCache({ cache: 'conversation', outcome: 'miss' });
      m.recordCache({ cache: 'conversation', outcome: 'error' });
      m.recordQueue({ kind: 'completed', runMs: 5 });

      t = at(165, 0); // minute 100 is out of the default hour, minute 130 in
      const s = m.series();
      expect(Object.keys(s).sort()).toEqual(['cache', 'db', 'http', 'process', 'queue', 'slowQueries']);
      expect(s.http).toEqual([{ minute: at(130), count: 2, errors: 1, sumMs: 30, maxMs: 20, p50Ms: expect.any(Number), p95Ms: expect.any(Number), p99Ms: expect.any(Number) }]);
      expectWithin(s.http[0]?.p50Ms, 10);
      expectWithin(s.http[0]?.p99Ms, 20);
      expect(s.db).toEqual([expect.objectContaining({ minute: at(130), count: 1, maxMs: 120 })]);
      expect(s.slowQueries).toEqual([{ minute: at(130), count: 1 }]);
      expect(s.cache).toEqual({
        conversation: { hits: [{ minute: at(130), count: 1 }], misses: [{ minute: at(130), count: 1 }], errors: [{ minute: at(130), count: 1 }] },
      });
      expect(s.queue.completed).toEqual([{ minute: at(130), count: 1 }]);
      expect(s.queue.run).toEqual([expect.objectContaining({ count: 1, maxMs: 5 })]);
      expect(s.process).toEqual([]);

      expect(m.series(2 * HOUR).http.map((p) => p.minute)).toEqual([at(100), at(130)]);
    });

    it('keeps process samples for the retention and filters them by the window', () => {
      const m = monitor({ processProbe: true, retentionMinutes: 60 });
      for (let minute = 0; minute <= 90; minute += 10) {
        t = at(minute);
        m.sampleProcess();
      }
      expect(m.series(25 * MINUTE).process.map((p) => (p.at - T0) / MINUTE)).toEqual([70, 80, 90]);
      // Retention 60 minutes: the samples at 0..20 are gone.
      expect(m.series(24 * HOUR).process.map((p) => (p.at - T0) / MINUTE)).toEqual([30, 40, 50, 60, 70, 80, 90]);
    });
  });

  it('rejects options that would break its bounds or its arithmetic', () => {
    expect(() => monitor({ maxRoutes: Number.NaN })).toThrow(RangeError);
    expect(() => monitor({ maxLabels: -1 })).toThrow(RangeError);
    expect(() => monitor({ retentionMinutes: 0 })).toThrow(RangeError);
    expect(() => monitor({ alertWindowMs: 0 })).toThrow(RangeError);
    expect(() => monitor({ alertWindowMs: 2 * HOUR, retentionMinutes: 60 })).toThrow(RangeError);
    expect(() => monitor({ slowQueryMs: -1 })).toThrow(RangeError);
  });

  it('end to end: feeds the default alert rules, p95 goes pending, then fires after forMs, then resolves', () => {
    const m = monitor();
    const logger: AlertLogger = { warn: () => undefined };
    const engine = new AlertEngine({ rules: DEFAULT_ALERT_RULES, clock: { now: () => t }, logger });
    const forMs = DEFAULT_ALERT_RULES.find((r) => r.name === 'http-latency-p95')?.forMs ?? Number.NaN;
    expect(forMs).toBe(2 * MINUTE);

    const traffic = (durationMs: number): void => {
      for (let i = 0; i < 20; i++) m.recordRequest({ method: 'POST', route: '/v1/chat', status: 200, durationMs: durationMs + i });
    };

    t = at(50, 0);
    traffic(1_500); // p95 ≈ 1 519 ms: above the 1 000 ms warning, below the 3 000 ms critical
    expect(engine.evaluate(m.alertSamples())).toEqual([]);
    expect(engine.active()).toEqual([expect.objectContaining({ rule: 'http-latency-p95', state: 'pending', severity: 'warning' })]);

    t = at(51, 0);
    traffic(1_500);
    expect(engine.evaluate(m.alertSamples())).toEqual([]);
    t = at(51, 59.999);
    expect(engine.evaluate(m.alertSamples())).toEqual([]);
    expect(engine.active()[0]?.state).toBe('pending');

    t = at(50, 0) + forMs;
    const fired = engine.evaluate(m.alertSamples());
    expect(fired).toEqual([expect.objectContaining({ kind: 'fired', at: t, alert: expect.objectContaining({ rule: 'http-latency-p95', state: 'firing', severity: 'warning' }) })]);
    expectWithin(fired[0]?.alert.value, 1_519);
    expect(engine.active()).toHaveLength(1); // nothing else (error rate 0, no slow queries) alerted

    // Fast again: resolved once the slow minutes have left the alert window.
    for (let minute = 53; minute <= 58; minute++) {
      t = at(minute, 0);
      traffic(100);
      const events = engine.evaluate(m.alertSamples());
      if (minute < 57) expect(events).toEqual([]);
      else if (minute === 57) expect(events).toEqual([expect.objectContaining({ kind: 'resolved' })]);
    }
    expect(engine.active()).toEqual([]);
  });
});
