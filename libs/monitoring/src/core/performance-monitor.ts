import type { MetricSample } from '../alerts/alert.types.js';
import type { QuerySample } from '../queries/query-sample.js';
import type { CacheMonitorEvent, HttpRequestRecord, QueueMonitorEvent } from './monitor-events.js';
import { MinuteCounter, MinuteSeries, type MinutePoint } from './minute-series.js';
import { ProcessProbe, type ProcessSample } from './process-probe.js';

export interface PerformanceMonitorOptions {
  /** Requests or lookups a window needs before its ratios and p95 are handed to the alert rules (default 20). */
  minSamples?: number;
  /** Epoch ms; injectable so tests are exact. */
  now?: () => number;
  /** Routes tracked one by one; the rest share `OTHER_ROUTE` (default 100; 0 folds every route). */
  maxRoutes?: number;
  /** Cache names tracked one by one; the rest share `OTHER_ROUTE` (default 32). */
  maxLabels?: number;
  /** A query at or above this is slow (default 100 ms). */
  slowQueryMs?: number;
  /** Minutes of per-minute aggregates kept (default 1440 = 24 h). */
  retentionMinutes?: number;
  /** Window of the figures handed to alert rules (default 5 min; at most the retention). */
  alertWindowMs?: number;
  /** Whether to sample the process (memory, event-loop delay, CPU); default true. */
  processProbe?: boolean;
}

/** Routes past the cap, and requests that matched no route, are counted under this name. */
export const OTHER_ROUTE = '(other)';
const OTHER_KEY = `* ${OTHER_ROUTE}`;
const MINUTE = 60_000;

interface RouteSeries {
  method: string;
  route: string;
  series: MinuteSeries;
}

/**
 * One route's series, resolved once (`routeHandle`) by a layer that sees every request, so that
 * recording a request (`recordRouteRequest`) builds no key and looks nothing up.
 */
export interface RouteHandle {
  readonly method: string;
  readonly route: string;
}

interface CacheSeries {
  hits: MinuteCounter;
  misses: MinuteCounter;
  errors: MinuteCounter;
}

interface QueueSeries {
  submitted: MinuteCounter;
  rejected: MinuteCounter;
  completed: MinuteCounter;
  failed: MinuteCounter;
  wait: MinuteSeries;
  run: MinuteSeries;
}

export interface DashboardSeries {
  http: MinutePoint[];
  db: MinutePoint[];
  slowQueries: Array<{ minute: number; count: number }>;
  cache: Record<string, { hits: Array<{ minute: number; count: number }>; misses: Array<{ minute: number; count: number }>; errors: Array<{ minute: number; count: number }> }>;
  queue: {
    submitted: Array<{ minute: number; count: number }>;
    rejected: Array<{ minute: number; count: number }>;
    completed: Array<{ minute: number; count: number }>;
    /** Final failures only (no attempt left); failed attempts are the errors of `run`. */
    failed: Array<{ minute: number; count: number }>;
    wait: MinutePoint[];
    run: MinutePoint[];
  };
  process: ProcessSample[];
}

/**
 * The monitor's measurements: every request, query, cache and queue event lands here as per-minute
 * aggregates kept 24 hours in bounded memory (routes, caches and task types are capped), plus a
 * process sample per minute. It answers the alert engine (`alertSamples`) and the dashboard
 * (`series`, `routes`).
 */
export class PerformanceMonitor {
  private readonly now: () => number;
  private readonly maxRoutes: number;
  private readonly maxLabels: number;
  private readonly slowQueryMs: number;
  private readonly minutes: number;
  private readonly alertWindowMs: number;
  private readonly minSamples: number;
  private readonly http: MinuteSeries;
  private readonly db: MinuteSeries;
  private readonly slow: MinuteCounter;
  private readonly routeSeries = new Map<string, RouteSeries>();
  private readonly caches = new Map<string, CacheSeries>();
  private readonly queue: QueueSeries;
  private queuePending: number | null = null;
  private readonly probe: ProcessProbe | null;
  private readonly processSamples: ProcessSample[] = [];

  constructor(options: PerformanceMonitorOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxRoutes = checked(options.maxRoutes, 100, 'maxRoutes', (v) => Number.isInteger(v) && v >= 0);
    this.maxLabels = checked(options.maxLabels, 32, 'maxLabels', (v) => Number.isInteger(v) && v >= 0);
    this.slowQueryMs = checked(options.slowQueryMs, 100, 'slowQueryMs', (v) => Number.isFinite(v) && v >= 0);
    this.minutes = checked(options.retentionMinutes, 24 * 60, 'retentionMinutes', (v) => Number.isInteger(v) && v >= 1);
    this.alertWindowMs = checked(options.alertWindowMs, 5 * MINUTE, 'alertWindowMs', (v) => Number.isFinite(v) && v > 0 && v <= this.minutes * MINUTE);
    // The alert window's histograms are kept, so its p95 is the p95 of its requests, not of its worst minute.
    this.http = new MinuteSeries(this.minutes, Math.ceil(this.alertWindowMs / MINUTE) + 1);
    this.minSamples = checked(options.minSamples, 20, 'minSamples', (v) => Number.isInteger(v) && v >= 1);
    this.db = new MinuteSeries(this.minutes);
    this.slow = new MinuteCounter(this.minutes);
    this.queue = {
      submitted: new MinuteCounter(this.minutes),
      rejected: new MinuteCounter(this.minutes),
      completed: new MinuteCounter(this.minutes),
      failed: new MinuteCounter(this.minutes),
      wait: new MinuteSeries(this.minutes),
      run: new MinuteSeries(this.minutes),
    };
    this.probe = options.processProbe === false ? null : new ProcessProbe(this.now);
  }

  recordRequest(record: HttpRequestRecord): void {
    this.recordRouteRequest(this.routeFor(record.method, record.route), record.durationMs, record.status >= 500);
  }

  /**
   * The series of `method route` (past `maxRoutes`, the shared `(other)` one), for
   * `recordRouteRequest`: resolve it once per route, record into it for every request.
   */
  routeHandle(method: string, route: string): RouteHandle {
    return this.routeFor(method, route);
  }

  /** One request of a route resolved by `routeHandle`; `error`: a server error (5xx). */
  recordRouteRequest(handle: RouteHandle, durationMs: number, error: boolean): void {
    const now = this.now();
    this.http.record(now, durationMs, error);
    (handle as RouteSeries).series.record(now, durationMs, error);
  }

  recordQuery(sample: QuerySample, failed = false): void {
    this.db.record(sample.startedAt, sample.durationMs, failed);
    if (sample.durationMs >= this.slowQueryMs) this.slow.add(sample.startedAt);
  }

  /** `count` lookups with this outcome (default one). */
  recordCache(event: CacheMonitorEvent, count = 1): void {
    const series = this.cacheFor(event.cache);
    const now = this.now();
    if (event.outcome === 'hit') series.hits.add(now, count);
    else if (event.outcome === 'miss') series.misses.add(now, count);
    else series.errors.add(now, count);
  }

  recordQueue(event: QueueMonitorEvent): void {
    const now = this.now();
    const n = event.count ?? 1;
    switch (event.kind) {
      case 'submitted':
        this.queue.submitted.add(now, n);
        break;
      case 'rejected':
        this.queue.rejected.add(now, n);
        break;
      case 'started':
        if (event.waitMs !== undefined) this.queue.wait.record(now, event.waitMs);
        break;
      case 'completed':
        this.queue.completed.add(now, n);
        if (event.runMs !== undefined) this.queue.run.record(now, event.runMs);
        break;
      case 'failed':
        if (event.final === true) this.queue.failed.add(now, n);
        if (event.runMs !== undefined) this.queue.run.record(now, event.runMs, true);
        break;
      case 'released':
        break;
    }
  }

  /** The task backlog as the processor last reported it (pending tasks). */
  setQueuePending(pending: number): void {
    this.queuePending = pending;
  }

  /** Takes a process sample (call once a minute); keeps 24 h of them. */
  sampleProcess(): ProcessSample | null {
    if (this.probe === null) return null;
    const sample = this.probe.sample();
    this.processSamples.push(sample);
    const oldest = sample.at - this.minutes * MINUTE;
    while ((this.processSamples[0]?.at ?? Infinity) < oldest) this.processSamples.shift();
    return sample;
  }

  /**
   * The figures the default alert rules watch, over the alert window (see `DEFAULT_ALERT_RULES`).
   * Ratios and p95 cover every minute that overlaps the window (5 to 6 minutes for a 5-minute
   * window); the slow-query rate is over exactly the window, the oldest minute counting pro rata.
   */
  alertSamples(): MetricSample[] {
    const now = this.now();
    const window = this.alertWindowMs;
    const samples: MetricSample[] = [];
    // A ratio or a percentile of a handful of events says nothing: one 5xx among three requests is not a 33% error rate.
    const http = merge(this.http.points(now, window));
    if (http.count >= this.minSamples) {
      samples.push({ metric: 'http.p95_ms', value: this.http.quantileOver(now, window, 0.95).value });
      samples.push({ metric: 'http.error_rate', value: http.errors / http.count });
    }
    samples.push({ metric: 'db.slow_queries_per_min', value: perMinute(this.slow.points(now, window), now, window) });
    for (const [cache, series] of this.caches) {
      const hits = series.hits.sum(now, window);
      const lookups = hits + series.misses.sum(now, window);
      if (lookups >= this.minSamples) samples.push({ metric: 'cache.hit_rate', labels: { cache }, value: hits / lookups });
    }
    if (this.queuePending !== null) samples.push({ metric: 'queue.pending', value: this.queuePending });
    const last = this.processSamples.at(-1);
    if (last !== undefined) {
      samples.push({ metric: 'process.event_loop_lag_p99_ms', value: last.eventLoopLagP99Ms });
      samples.push({ metric: 'process.rss_bytes', value: last.rssBytes });
    }
    return samples;
  }

  /** Per-minute series over the last `sinceMs` (default one hour), oldest first, for charts. */
  series(sinceMs = 60 * MINUTE): DashboardSeries {
    const now = this.now();
    const cache: DashboardSeries['cache'] = {};
    for (const [name, s] of this.caches) {
      cache[name] = { hits: s.hits.points(now, sinceMs), misses: s.misses.points(now, sinceMs), errors: s.errors.points(now, sinceMs) };
    }
    return {
      http: this.http.points(now, sinceMs),
      db: this.db.points(now, sinceMs),
      slowQueries: this.slow.points(now, sinceMs),
      cache,
      queue: {
        submitted: this.queue.submitted.points(now, sinceMs),
        rejected: this.queue.rejected.points(now, sinceMs),
        completed: this.queue.completed.points(now, sinceMs),
        failed: this.queue.failed.points(now, sinceMs),
        wait: this.queue.wait.points(now, sinceMs),
        run: this.queue.run.points(now, sinceMs),
      },
      process: this.processSamples.filter((s) => s.at >= now - sinceMs),
    };
  }

  /** Each tracked route over the last `sinceMs`: requests, errors, mean and p95 (merged minutes: p95 is the worst minute's). */
  routes(sinceMs = 60 * MINUTE): Array<{ method: string; route: string; count: number; errors: number; meanMs: number; p95Ms: number; maxMs: number }> {
    const now = this.now();
    const out = [];
    for (const { method, route, series } of this.routeSeries.values()) {
      const m = merge(series.points(now, sinceMs));
      if (m.count > 0) out.push({ method, route, count: m.count, errors: m.errors, meanMs: m.sumMs / m.count, p95Ms: m.p95Ms, maxMs: m.maxMs });
    }
    return out.sort((a, b) => b.count - a.count);
  }

  stop(): void {
    this.probe?.stop();
  }

  private routeFor(method: string, route: string): RouteSeries {
    const key = `${method} ${route}`;
    let series = this.routeSeries.get(key);
    if (series !== undefined) return series;
    // Past the cap, new routes share one series (created past the cap itself: maxRoutes + 1 at most).
    if (this.routeSeries.size >= this.maxRoutes && key !== OTHER_KEY) return this.routeFor('*', OTHER_ROUTE);
    series = { method, route, series: new MinuteSeries(this.minutes) };
    this.routeSeries.set(key, series);
    return series;
  }

  private cacheFor(name: string): CacheSeries {
    let series = this.caches.get(name);
    if (series !== undefined) return series;
    if (this.caches.size >= this.maxLabels && name !== OTHER_ROUTE) return this.cacheFor(OTHER_ROUTE);
    series = { hits: new MinuteCounter(this.minutes), misses: new MinuteCounter(this.minutes), errors: new MinuteCounter(this.minutes) };
    this.caches.set(name, series);
    return series;
  }
}

/**
 * Events per minute over exactly `[now - windowMs, now]`: minutes wholly inside count in full, the
 * oldest one, partly before the window, counts for the share of it inside (the events of a minute
 * are assumed evenly spread). Summing whole overlapping minutes would read up to one minute too
 * much (a steady 10/min shows as up to 12/min on a 5-minute window).
 */
function perMinute(points: ReadonlyArray<{ minute: number; count: number }>, now: number, windowMs: number): number {
  const start = now - windowMs;
  let total = 0;
  for (const p of points) total += p.count * Math.min(1, Math.max(0, (p.minute + MINUTE - start) / MINUTE));
  return total / (windowMs / MINUTE);
}

function checked(value: number | undefined, fallback: number, name: string, valid: (v: number) => boolean): number {
  if (value === undefined) return fallback;
  if (!valid(value)) throw new RangeError(`PerformanceMonitor: invalid ${name} (got ${String(value)})`);
  return value;
}

/**
 * Minutes merged into one figure: counts and sums add up, max is the max, and the percentiles are
 * the worst minute's (an upper bound: exact merging would need each minute's histogram).
 */
function merge(points: MinutePoint[]): { count: number; errors: number; sumMs: number; maxMs: number; p95Ms: number } {
  let count = 0;
  let errors = 0;
  let sumMs = 0;
  let maxMs = 0;
  let p95Ms = 0;
  for (const p of points) {
    count += p.count;
    errors += p.errors;
    sumMs += p.sumMs;
    maxMs = Math.max(maxMs, p.maxMs);
    p95Ms = Math.max(p95Ms, p.p95Ms);
  }
  return { count, errors, sumMs, maxMs, p95Ms };
}
