import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CacheMonitorEvent, HttpRequestRecord, QueueMonitorEvent } from '../core/monitor-events.js';
import type { QuerySample } from '../queries/query-sample.js';
import type { Severity } from '../alerts/alert.types.js';
import { ArrayCounter, ArrayHistogram, type CounterSeries, type HistogramSeries } from './array-metrics.js';

export type { HistogramSeries } from './array-metrics.js';

/** One cache's counter series, resolved on first use: a lookup event then costs one increment. */
interface CacheCounters {
  /** The bounded label value (the name, or `(other)`). */
  cache: string;
  hitL1: CounterSeries | undefined;
  hitL2: CounterSeries | undefined;
  /** A hit with no tier. */
  hit: CounterSeries | undefined;
  miss: CounterSeries | undefined;
  error: CounterSeries | undefined;
}

/** Seconds; OpenTelemetry's advice for HTTP server and DB client durations. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Tasks wait and run far longer than a request (model calls, backlogs). */
const TASK_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export interface MonitorMetricsOptions {
  /** Where the metrics live; default a registry of their own (pass prom-client's global `register` to share). */
  registry?: Registry;
  /** Node's default process metrics (memory, CPU, event-loop lag, GC) in the same registry; default true. */
  defaultMetrics?: boolean;
  /** Distinct values one label may take (routes, task types, caches); past it, `(other)`. Default 100. */
  maxLabelValues?: number;
}

export const OTHER_LABEL = '(other)';


/** HTTP methods as OpenTelemetry names them; anything else is `_OTHER` (a client may send any token). */
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

function methodLabel(method: string): string {
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : '_OTHER';
}

/** Keeps one label's values bounded: the first `max` distinct values pass, later ones become `(other)`. */
class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(value);
    return value;
  }
}

/**
 * The monitor's Prometheus metrics, named and labelled after the OpenTelemetry semantic
 * conventions (`http_server_request_duration_seconds`, `db_client_operation_duration_seconds`, …).
 * Every label is bounded: route templates, operation names, table names, cache names, task types
 * and priorities, each capped at `maxLabelValues`; never a user, conversation or raw path.
 */
export class MonitorMetrics {
  readonly registry: Registry;
  private readonly httpDuration: ArrayHistogram;
  private readonly dbDuration: Histogram<'db_operation_name' | 'db_collection_name' | 'error_type'>;
  private readonly slowQueries: Counter<'db_operation_name'>;
  private readonly nPlusOne: Counter<'http_request_method' | 'http_route'>;
  private readonly cacheOps: ArrayCounter;
  private readonly cachePending: Gauge<'cache'>;
  private readonly taskEvents: Counter<'event' | 'task_type' | 'priority'>;
  private readonly taskWait: Histogram<'task_type' | 'priority'>;
  private readonly taskRun: Histogram<'task_type' | 'outcome'>;
  private readonly tasksPending: Gauge;
  private readonly alertsFiring: Gauge<'severity'>;
  private readonly routes: BoundedLabel;
  private readonly tables: BoundedLabel;
  private readonly caches: BoundedLabel;
  private readonly taskTypes: BoundedLabel;
  private readonly priorities = new BoundedLabel(8);
  private readonly operations = new BoundedLabel(16);
  /** By the name events carry: only names `caches` admitted, so this is as bounded as the label. */
  private readonly cacheCounters = new Map<string, CacheCounters>();

  constructor(options: MonitorMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    const max = options.maxLabelValues ?? 100;
    this.routes = new BoundedLabel(max);
    this.tables = new BoundedLabel(max);
    this.caches = new BoundedLabel(max);
    this.taskTypes = new BoundedLabel(max);
    const registers = [this.registry];
    // Several monitors in one process (tests, two apps) may share one registry: reuse what exists.
    const existing = <T>(name: string, create: () => T): T => (this.registry.getSingleMetric(name) as T | undefined) ?? create();
    // The two metrics fed on every request are plain arrays exported at scrape time (see ArrayHistogram).
    this.httpDuration = existing(
      'http_server_request_duration_seconds',
      () =>
        new ArrayHistogram(
          'http_server_request_duration_seconds',
          'Duration of HTTP server requests, by method, route template and status code.',
          DURATION_BUCKETS,
          this.registry,
        ),
    );
    this.dbDuration = existing('db_client_operation_duration_seconds', () => new Histogram({ name: 'db_client_operation_duration_seconds',
      help: 'Duration of database client operations, by operation and table (first table of the statement).',
      labelNames: ['db_operation_name', 'db_collection_name', 'error_type'],
      buckets: DURATION_BUCKETS,
      registers,
    }));
    this.slowQueries = existing('db_client_slow_operations_total', () => new Counter({ name: 'db_client_slow_operations_total',
      help: 'Database operations at or over the slow-query threshold.',
      labelNames: ['db_operation_name'],
      registers,
    }));
    this.nPlusOne = existing('db_client_n_plus_one_total', () => new Counter({ name: 'db_client_n_plus_one_total',
      help: 'Requests in which one query shape ran 5 or more times (N+1), by route template.',
      labelNames: ['http_request_method', 'http_route'],
      registers,
    }));
    this.cacheOps = existing(
      'cache_operations_total',
      () =>
        new ArrayCounter(
          'cache_operations_total',
          'Cache lookups by cache, result (hit, miss, error) and tier that served a hit (l1, l2).',
          this.registry,
        ),
    );
    // Registered after cache_operations_total: a scrape reads the metrics in the order they were
    // registered, so this one is read after that one's beforeCacheScrape callbacks set it.
    this.cachePending = existing('cache_l2_pending', () => new Gauge({ name: 'cache_l2_pending',
      help: 'Writes that did not reach the second tier (Redis) and wait to be replayed, by cache (keys, plus one for a namespace version).',
      labelNames: ['cache'],
      registers,
    }));
    this.taskEvents = existing('queue_tasks_total', () => new Counter({ name: 'queue_tasks_total',
      help: 'Task lifecycle events (submitted, rejected, started, completed, failed, retried, released) by task type and priority.',
      labelNames: ['event', 'task_type', 'priority'],
      registers,
    }));
    this.taskWait = existing('queue_task_wait_duration_seconds', () => new Histogram({ name: 'queue_task_wait_duration_seconds',
      help: 'Time from submission to the start of an attempt.',
      labelNames: ['task_type', 'priority'],
      buckets: TASK_BUCKETS,
      registers,
    }));
    this.taskRun = existing('queue_task_run_duration_seconds', () => new Histogram({ name: 'queue_task_run_duration_seconds',
      help: 'Duration of one attempt, by task type and outcome (completed, failed).',
      labelNames: ['task_type', 'outcome'],
      buckets: TASK_BUCKETS,
      registers,
    }));
    this.tasksPending = existing('queue_tasks_pending', () => new Gauge({ name: 'queue_tasks_pending', help: 'Tasks waiting to run (the queue backlog).', registers }));
    this.alertsFiring = existing('alerts_firing', () => new Gauge({ name: 'alerts_firing',
      help: 'Alerts firing now, by severity.',
      labelNames: ['severity'],
      registers,
    }));
    for (const severity of ['info', 'warning', 'critical'] as const) this.alertsFiring.set({ severity }, 0);
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  recordRequest(r: HttpRequestRecord): void {
    this.observeRequest(this.requestSeries(r.method, r.route, r.status), r.durationMs);
  }

  /**
   * The request-duration series of one method, route template and status, for `observeRequest`:
   * resolve it once, observe into it for every request (no key, no lookup). Re-resolve it when its
   * `live` is false (the metric was reset).
   */
  requestSeries(method: string, route: string, status: number): HistogramSeries {
    // Keyed by the bounded label values, so the series stay as bounded as the labels.
    const methodValue = methodLabel(method);
    const routeValue = this.routes.of(route);
    return this.httpDuration.series(`${methodValue}\u0000${routeValue}\u0000${status}`, () => ({
      http_request_method: methodValue,
      http_route: routeValue,
      http_response_status_code: String(status),
    }));
  }

  /** One request of `series` (from `requestSeries`) that took `durationMs`. */
  observeRequest(series: HistogramSeries, durationMs: number): void {
    this.httpDuration.observe(series, durationMs / 1_000);
  }

  recordQuery(sample: QuerySample & { tables?: readonly string[] }, failed = false, slowThresholdMs = Infinity): void {
    const operation = this.operations.of(sample.operation || 'OTHER');
    this.dbDuration.observe(
      { db_operation_name: operation, db_collection_name: this.tables.of(sample.tables?.[0] ?? ''), error_type: failed ? 'error' : '' },
      sample.durationMs / 1_000,
    );
    if (sample.durationMs >= slowThresholdMs) this.slowQueries.inc({ db_operation_name: operation });
  }

  /** `route` as findings carry it: `METHOD /template` (or a bare template). */
  recordNPlusOne(route: string): void {
    const space = route.indexOf(' ');
    const method = space > 0 ? route.slice(0, space) : '';
    const template = space > 0 ? route.slice(space + 1) : route;
    this.nPlusOne.inc({ http_request_method: method === '' ? '' : methodLabel(method), http_route: this.routes.of(template) });
  }

  /** `count` lookups with this outcome (default one). */
  recordCache(event: CacheMonitorEvent, count = 1): void {
    const counters = this.cacheCounters.get(event.cache) ?? this.cacheCountersOf(event.cache);
    const tier = event.tier;
    let series: CounterSeries | undefined;
    switch (event.outcome) {
      case 'hit':
        series = tier === 'l1' ? counters.hitL1 : tier === 'l2' ? counters.hitL2 : tier === undefined ? counters.hit : undefined;
        break;
      case 'miss':
        series = tier === undefined ? counters.miss : undefined;
        break;
      case 'error':
        series = tier === undefined ? counters.error : undefined;
        break;
    }
    if (series === undefined || !series.live) series = this.resolveCacheSeries(counters, event);
    series.value += count;
  }

  /** Runs `collect` before each scrape reads the cache counters (see `PerformanceMonitorService.watchCaches`). */
  beforeCacheScrape(collect: () => void): () => void {
    return this.cacheOps.beforeCollect(collect);
  }

  private cacheCountersOf(name: string): CacheCounters {
    const cache = this.caches.of(name);
    const counters: CacheCounters = { cache, hitL1: undefined, hitL2: undefined, hit: undefined, miss: undefined, error: undefined };
    // A name past the cap is not remembered (it would make the map unbounded): it resolves each time.
    if (cache === name) this.cacheCounters.set(name, counters);
    return counters;
  }

  /** The series of `event` (labels: cache, result = outcome, tier or ''), remembered in `counters` for the usual combinations. */
  private resolveCacheSeries(counters: CacheCounters, event: CacheMonitorEvent): CounterSeries {
    const { cache } = counters;
    const result = event.outcome;
    const tier = event.tier ?? '';
    const series = this.cacheOps.series(`${cache}\u0000${result}\u0000${tier}`, () => ({ cache, result, tier }));
    if (result === 'hit') {
      if (tier === 'l1') counters.hitL1 = series;
      else if (tier === 'l2') counters.hitL2 = series;
      else if (tier === '') counters.hit = series;
    } else if (tier === '') {
      if (result === 'miss') counters.miss = series;
      else if (result === 'error') counters.error = series;
    }
    return series;
  }

  recordQueue(event: QueueMonitorEvent): void {
    const type = this.taskTypes.of(event.type ?? '');
    const priority = this.priorities.of(event.priority ?? '');
    const name = event.kind === 'failed' && event.final !== true ? 'retried' : event.kind;
    this.taskEvents.inc({ event: name, task_type: type, priority }, event.count ?? 1);
    if (event.kind === 'started' && event.waitMs !== undefined) this.taskWait.observe({ task_type: type, priority }, event.waitMs / 1_000);
    if ((event.kind === 'completed' || event.kind === 'failed') && event.runMs !== undefined) {
      this.taskRun.observe({ task_type: type, outcome: event.kind }, event.runMs / 1_000);
    }
  }

  /** A cache's writes waiting to be replayed to its second tier, as it last reported them. */
  setCachePending(cache: string, pending: number): void {
    const label = this.caches.of(cache);
    // Past the cap, caches share `(other)`: one's level would overwrite another's, so none is shown.
    if (label === OTHER_LABEL) return;
    this.cachePending.set({ cache: label }, pending);
  }

  setTasksPending(pending: number): void {
    this.tasksPending.set(pending);
  }

  setAlertsFiring(counts: Readonly<Record<Severity, number>>): void {
    for (const [severity, n] of Object.entries(counts)) this.alertsFiring.set({ severity }, n);
  }

  /** The exposition text (what `/metrics` serves). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
