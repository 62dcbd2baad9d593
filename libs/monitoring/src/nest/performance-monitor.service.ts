import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { register } from 'prom-client';
import { alertRulesFromConfig } from '../alerts/alert-config.js';
import { AlertEngine } from '../alerts/alert-engine.js';
import type { Alert, AlertEvent } from '../alerts/alert.types.js';
import { WebhookNotifier } from '../alerts/webhook-notifier.js';
import { ExplainConnection, type ExplainConnectionOptions } from '../analysis/explain-connection.js';
import { feedAdvisor, IndexAdvisor, type IndexSuggestion } from '../analysis/index-advisor.js';
import { PgStatStatementsReader, statementsToSamples, type PgStatStatementsAvailability } from '../analysis/pg-stat-statements.js';
import { SlowQueryAnalyzer, type SlowQuery } from '../analysis/plan-capture.js';
import { CacheTotalsReader } from '../core/cache-totals.js';
import type { CacheMonitorEvent, CacheTotals, HttpRequestRecord, QueueMonitorEvent } from '../core/monitor-events.js';
import { PerformanceMonitor, type DashboardSeries, type RouteHandle } from '../core/performance-monitor.js';
import { MonitorMetrics, type HistogramSeries } from '../prometheus/monitor-metrics.js';
import type { NPlusOneAggregate } from '../queries/n-plus-one.js';
import { NPlusOneDetector } from '../queries/n-plus-one.js';
import { QueryFingerprinter } from '../queries/fingerprint.js';
import { QueryCapture, type CapturedQuery } from '../queries/query-capture.js';
import { QueryStats, type FingerprintStats } from '../queries/query-stats.js';
import { MonitorRequestContext, type MonitorRequestState } from '../queries/request-context.js';
import { MONITORING_OPTIONS } from './monitoring.module-definition.js';
import type { PerformanceMonitoringOptions } from './monitoring.options.js';

/** Requests that matched no route are timed under this name (never the raw path). */
export const UNMATCHED_ROUTE = '(unmatched)';

/**
 * The status a request is timed with when the client went away before its response was sent
 * (nginx's "client closed request"): not a server error, but its time until then still counts, or
 * the slowest requests (the ones clients give up on) would vanish from the latency figures.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/** Everything the monitor knows, for an admin route or a dashboard. */
export interface MonitorReport {
  generatedAt: string;
  routes: ReturnType<PerformanceMonitor['routes']>;
  series: DashboardSeries;
  queries: { top: FingerprintStats[]; totals: ReturnType<QueryStats['totals']> };
  slowQueries: SlowQuery[];
  nPlusOne: NPlusOneAggregate[];
  indexSuggestions: IndexSuggestion[];
  alerts: { active: Alert[]; recent: AlertEvent[] };
  /** Whether `pg_stat_statements` feeds the slow-query analysis (and why not); null before the first check. */
  pgStatStatements: PgStatStatementsAvailability | null;
}

/** How often `pg_stat_statements` is read for slow statements that ran outside this process. */
const PG_STAT_STATEMENTS_EVERY_MS = 5 * 60_000;

interface FastifyLike {
  decorateRequest(name: string, value: null): unknown;
  hasRequestDecorator(name: string): boolean;
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: () => void) => void): unknown;
  addHook(name: 'onResponse', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: () => void) => void): unknown;
}
/** Node's `IncomingMessage` (HTTP/1.x) or `Http2ServerRequest`, as far as abandonment goes. */
interface RawRequestLike {
  httpVersionMajor: number;
  /** True once the client went away before the request was complete (Node sets it before `close`). */
  aborted?: boolean;
  socket: SocketLike | null;
  once(event: 'close', listener: () => void): unknown;
}
interface SocketLike {
  on(event: 'close', listener: (this: SocketLike) => void): unknown;
  /** The connection's request in flight (HTTP/1.x); undefined until the connection's first request. */
  [PENDING_SLOT]?: FastifyRequestLike | null;
}
interface FastifyRequestLike {
  method: string;
  id?: string;
  routeOptions?: { url?: string };
  raw?: RawRequestLike;
  /** The reply while the request is in flight; `RECORDED` once it was timed; null before onRequest. */
  [REPLY_SLOT]?: FastifyReplyLike | typeof RECORDED | null;
  /** The request's query state, made on its first query (see `stateOf`); null when none ran. */
  [STATE_SLOT]?: MonitorRequestState | null;
  /** Where the request is the context's current one (the app's carrier, or the monitor's holder), until it ends. */
  [BINDING_SLOT]?: object | null;
  [key: symbol]: unknown;
}
interface FastifyReplyLike {
  statusCode: number;
  elapsedTime: number;
}

/**
 * Declared on Fastify's Request with `decorateRequest` before the first request: a property added
 * to requests on the fly changes their hidden class and slows every Fastify code path they reach
 * (measured here: that alone was most of the monitor's cost per request).
 */
const REPLY_SLOT = 'chatPerformanceMonitorReply';
const STATE_SLOT = 'chatPerformanceMonitor';
const BINDING_SLOT = 'chatPerformanceMonitorBinding';
/** In `REPLY_SLOT` once the request was timed: the response and an abort may both report it. */
const RECORDED: unique symbol = Symbol('recorded');
/** On a connection's socket: its HTTP/1.x request in flight, watched for abandonment (see `watchAbandon`). */
const PENDING_SLOT: unique symbol = Symbol('chatPerformanceMonitorPending');

/**
 * What a request's route resolves to, once per route (and method): its series in the monitor and,
 * per status code, its Prometheus series. Requests of the route record into these without building
 * a key or looking anything up.
 */
class RouteEntry {
  /** By status code (sparse). */
  readonly statuses: Array<HistogramSeries | undefined> = [];
  /** The entry of another method on the same Fastify route context (e.g. HEAD beside GET). */
  next: RouteEntry | undefined = undefined;

  constructor(
    readonly method: string,
    readonly route: string,
    readonly series: RouteHandle,
  ) {}
}

/**
 * The performance monitor as one Nest service: it times every request (Fastify hooks, route
 * templates only), captures every query of the DataSource (fingerprints, per-shape stats, N+1 per
 * request, slow queries explained on its own connection, verified index suggestions), takes cache
 * and queue events (`recordCache`, `recordQueue`), samples the process, evaluates the alert rules,
 * and keeps the Prometheus metrics that `/metrics` serves.
 */
@Injectable()
export class PerformanceMonitorService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('PerformanceMonitor');
  readonly monitor: PerformanceMonitor;
  readonly metrics: MonitorMetrics;
  readonly context: MonitorRequestContext;
  readonly queryStats = new QueryStats();
  readonly nPlusOne: NPlusOneDetector;
  readonly alerts: AlertEngine;
  readonly analyzer: SlowQueryAnalyzer | null;
  readonly advisor: IndexAdvisor | null;
  private readonly capture: QueryCapture | null;
  private readonly explainConnection: ExplainConnection | null;
  private readonly fingerprinter = new QueryFingerprinter();
  private readonly pgss: PgStatStatementsReader | null;
  private pgssAvailability: PgStatStatementsAvailability | null = null;
  private lastPgssRead = Number.NEGATIVE_INFINITY;
  private readonly slowQueryMs: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly detach: Array<() => void> = [];
  private readonly cacheTotals = new CacheTotalsReader(
    (event, count) => {
      this.monitor.recordCache(event, count);
      this.metrics.recordCache(event, count);
    },
    (cache, pending) => this.metrics.setCachePending(cache, pending),
  );
  /** Route entries by Fastify route context (one object per route), found through `contextKey`. */
  private readonly routeEntries = new WeakMap<object, RouteEntry>();
  /** Route entries by `route`, when requests do not expose their route context. */
  private readonly routeEntriesByTemplate = new Map<string, RouteEntry>();
  /**
   * Fastify's own symbol for a request's route context (`fastify.context`), found on the first
   * request: `request.routeOptions` builds and freezes a new object on every read. null: not found
   * (another Fastify), so the route is read from `routeOptions`.
   */
  private contextKey: symbol | null | undefined = undefined;

  constructor(
    @Inject(MONITORING_OPTIONS) private readonly options: PerformanceMonitoringOptions,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {
    const now = options.now ?? Date.now;
    this.slowQueryMs = options.slowQueryMs ?? 100;
    this.monitor = new PerformanceMonitor({
      now,
      slowQueryMs: this.slowQueryMs,
      ...(options.maxRoutes === undefined ? {} : { maxRoutes: options.maxRoutes }),
      ...(options.retentionMinutes === undefined ? {} : { retentionMinutes: options.retentionMinutes }),
    });
    // prom-client's global registry: the one `@willsoto/nestjs-prometheus` serves at /metrics.
    this.metrics = new MonitorMetrics({ registry: register, defaultMetrics: false, maxLabelValues: options.maxRoutes ?? 100 });
    this.context = new MonitorRequestContext({
      now,
      resolve: (handle) => this.stateOf(handle as FastifyRequestLike),
      ...(options.requestCarrier === undefined ? {} : { carrier: options.requestCarrier }),
    });
    // Watched caches' counts are brought in before each scrape reads them (and at each tick and report).
    this.detach.push(this.metrics.beforeCacheScrape(() => this.cacheTotals.collect()));
    this.nPlusOne = new NPlusOneDetector({ threshold: options.nPlusOneThreshold ?? 5 });
    this.detach.push(this.nPlusOne.attach(this.context));
    this.detach.push(this.nPlusOne.onFinding((finding) => this.metrics.recordNPlusOne(finding.route)));

    const rules = alertRulesFromConfig(options.alertRules, { source: 'alert rules' });
    this.alerts = new AlertEngine({
      rules,
      clock: { now },
      ...(options.alertWebhookUrl ? { notifiers: [new WebhookNotifier({ url: options.alertWebhookUrl })] } : {}),
    });

    const dataSource = options.dataSource ?? null;
    this.capture = dataSource === null ? null : new QueryCapture(dataSource, { context: this.context, now, fingerprinter: this.fingerprinter });
    const explain = options.explain === false || dataSource === null ? null : (options.explain ?? explainOptionsOf(dataSource));
    this.explainConnection = explain === null ? null : new ExplainConnection(explain);
    this.advisor = this.explainConnection === null ? null : new IndexAdvisor({ connection: this.explainConnection, now });
    this.analyzer =
      this.explainConnection === null || this.advisor === null
        ? null
        : new SlowQueryAnalyzer({ explainer: this.explainConnection, thresholdMs: this.slowQueryMs, now, onPlanCaptured: feedAdvisor(this.advisor) });
    this.pgss = this.explainConnection === null ? null : new PgStatStatementsReader(this.explainConnection, { now });
  }

  onModuleInit(): void {
    if (this.capture !== null) {
      this.detach.push(this.capture.onQuery((query) => this.recordQuery(query)));
      this.capture.instrument();
    }
    if (this.options.http !== false) this.hookHttp();
    const every = this.options.evaluateEveryMs ?? 15_000;
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
    this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const detach of this.detach.splice(0)) detach();
    this.capture?.uninstrument();
    await this.analyzer?.close();
    await this.advisor?.close();
    await this.explainConnection?.close();
    await this.alerts.flush();
    this.monitor.stop();
  }

  /** One request, as the HTTP layer saw it (the Fastify hooks call this; other adapters may too). */
  recordRequest(record: HttpRequestRecord): void {
    this.monitor.recordRequest(record);
    this.metrics.recordRequest(record);
  }

  /** One cache lookup (or `count` of them) as it happens. For a cache read on every request, prefer `watchCaches`. */
  recordCache(event: CacheMonitorEvent, count = 1): void {
    this.monitor.recordCache(event, count);
    this.metrics.recordCache(event, count);
  }

  /**
   * Counts cache lookups from their owner's own counters instead of one `recordCache` call per
   * lookup: `read` returns each cache's totals so far (monotonic), and the monitor records what
   * grew since its last read, at every tick (`evaluateEveryMs`), every report and every scrape of
   * `/metrics`. Until the returned function is called. This keeps the monitor off the path of a
   * cache hit entirely; a lookup shows in the per-minute figures at most one tick late.
   */
  watchCaches(read: () => Iterable<CacheTotals>): () => void {
    return this.cacheTotals.watch(read);
  }

  recordQueue(event: QueueMonitorEvent): void {
    this.monitor.recordQueue(event);
    this.metrics.recordQueue(event);
  }

  /** The task backlog (pending tasks), as the processor's stats report it. */
  setQueuePending(pending: number): void {
    this.monitor.setQueuePending(pending);
    this.metrics.setTasksPending(pending);
  }

  /** Samples the process and evaluates the alert rules now (the timer does it every `evaluateEveryMs`). */
  tick(): void {
    try {
      this.cacheTotals.collect();
      this.monitor.sampleProcess();
      this.alerts.evaluate(this.monitor.alertSamples());
      this.metrics.setAlertsFiring(this.alerts.firingCountBySeverity());
      const now = (this.options.now ?? Date.now)();
      if (this.pgss !== null && now - this.lastPgssRead >= PG_STAT_STATEMENTS_EVERY_MS) {
        this.lastPgssRead = now;
        void this.readPgStatStatements();
      }
    } catch (error) {
      this.logger.warn(`monitor tick failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * Slow statements seen by `pg_stat_statements` (other processes, other apps on the database)
   * join the slow-query analysis, under the same fingerprints as the queries captured here.
   */
  private async readPgStatStatements(): Promise<void> {
    if (this.pgss === null || this.analyzer === null) return;
    try {
      this.pgssAvailability = await this.pgss.availability();
      if (!this.pgssAvailability.available) return;
      const top = await this.pgss.top({ by: 'mean', limit: 20 });
      const samples = statementsToSamples(top, {
        thresholdMs: this.slowQueryMs,
        now: this.options.now ?? Date.now,
        fingerprint: (sql) => this.fingerprinter.fingerprint(sql).fingerprint,
      });
      for (const sample of samples) this.analyzer.consider(sample);
    } catch (error) {
      this.logger.debug(`pg_stat_statements: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  report(sinceMs = 60 * 60_000): MonitorReport {
    this.cacheTotals.collect();
    return {
      generatedAt: new Date((this.options.now ?? Date.now)()).toISOString(),
      routes: this.monitor.routes(sinceMs),
      series: this.monitor.series(sinceMs),
      queries: { top: this.queryStats.top(20, 'totalMs'), totals: this.queryStats.totals() },
      slowQueries: this.analyzer?.slowQueries() ?? [],
      nPlusOne: this.nPlusOne.findings(),
      indexSuggestions: this.advisor?.suggestions() ?? [],
      alerts: { active: this.alerts.active(), recent: this.alerts.recent(50) },
      pgStatStatements: this.pgssAvailability,
    };
  }

  private recordQuery(query: CapturedQuery): void {
    this.queryStats.record(query);
    this.monitor.recordQuery(query, query.failed);
    this.metrics.recordQuery(query, query.failed, this.slowQueryMs);
    if (!query.failed) this.analyzer?.consider(query);
  }

  private hookHttp(): void {
    const instance: Partial<FastifyLike> | undefined = this.adapterHost?.httpAdapter?.getInstance<Partial<FastifyLike>>();
    if (instance === undefined || typeof instance.addHook !== 'function') {
      this.logger.warn('HTTP timing needs the Fastify adapter; requests will not be timed');
      return;
    }
    const fastify = instance as FastifyLike;
    if (!fastify.hasRequestDecorator(REPLY_SLOT)) fastify.decorateRequest(REPLY_SLOT, null);
    if (!fastify.hasRequestDecorator(STATE_SLOT)) fastify.decorateRequest(STATE_SLOT, null);
    if (!fastify.hasRequestDecorator(BINDING_SLOT)) fastify.decorateRequest(BINDING_SLOT, null);
    // Nothing is created per request here: the request becomes the context's handle, and its query
    // state is made only if a query runs (`stateOf`). With the app's request carrier this is a few
    // property writes; without one, the monitor's own AsyncLocalStorage is entered.
    // A client that goes away before the response (a timeout, a closed tab): Fastify never runs
    // onResponse for it, so without this the request would be neither timed nor finished. Fastify's
    // onRequestAbort hook would do it with a closure and a `close` listener on every request (about
    // 0.8 µs a request, measured on a bare Fastify route); an HTTP/1.x client can only abandon a
    // request by closing its connection, so one listener per connection does, for the connection's
    // request in flight.
    const abandoned = (request: FastifyRequestLike): void => this.abandoned(request);
    function onConnectionClose(this: SocketLike): void {
      const pending = this[PENDING_SLOT];
      this[PENDING_SLOT] = null;
      if (pending != null) abandoned(pending);
    }
    fastify.addHook('onRequest', (request, reply, done) => {
      request[REPLY_SLOT] = reply;
      const raw = request.raw;
      if (raw !== undefined) this.watchAbandon(request, raw, onConnectionClose);
      const carrier = this.context.bind(request);
      if (carrier !== undefined) {
        request[BINDING_SLOT] = carrier;
        done();
      } else {
        // Set once `done` returns: the response (and so onResponse) always comes later.
        request[BINDING_SLOT] = this.context.enter(request, done);
      }
    });
    // Fastify measures the time itself (reply.elapsedTime, from the request's start).
    fastify.addHook('onResponse', (request, reply, done) => {
      if (request[REPLY_SLOT] !== RECORDED) this.endRequest(request, reply.statusCode, reply.elapsedTime);
      done();
    });
  }

  /**
   * Watches `request` for abandonment: on HTTP/1.x through its connection (one `close` listener per
   * connection, which holds the request in flight); a second request in flight on the same
   * connection (pipelining) and HTTP/2 streams get a `close` listener of their own.
   */
  private watchAbandon(request: FastifyRequestLike, raw: RawRequestLike, onConnectionClose: (this: SocketLike) => void): void {
    const socket = raw.socket;
    if (raw.httpVersionMajor === 1 && socket !== null) {
      const pending = socket[PENDING_SLOT];
      if (pending == null) {
        if (pending === undefined) socket.on('close', onConnectionClose);
        socket[PENDING_SLOT] = request;
        return;
      }
    }
    raw.once('close', () => this.abandoned(request));
  }

  /** The client is gone: a request that was not answered (Node's `aborted`, as Fastify's onRequestAbort checks) is timed as 499, once. */
  private abandoned(request: FastifyRequestLike): void {
    const reply = request[REPLY_SLOT];
    if (reply === RECORDED || request.raw?.aborted !== true) return;
    this.endRequest(request, CLIENT_CLOSED_REQUEST, reply == null ? 0 : reply.elapsedTime);
  }

  /** Records the request once and ends its query state, if a query made one (its N+1 analysis runs then). */
  private endRequest(request: FastifyRequestLike, status: number, durationMs: number): void {
    request[REPLY_SLOT] = RECORDED;
    const socket = request.raw?.socket;
    if (socket != null && socket[PENDING_SLOT] === request) socket[PENDING_SLOT] = null;
    const binding = request[BINDING_SLOT];
    if (binding != null) this.context.leave(binding, request);
    const entry = this.routeEntryOf(request);
    let series = entry.statuses[status];
    if (series === undefined || !series.live) {
      series = this.metrics.requestSeries(entry.method, entry.route, status);
      entry.statuses[status] = series;
    }
    this.metrics.observeRequest(series, durationMs);
    this.monitor.recordRouteRequest(entry.series, durationMs, status >= 500);
    const state = request[STATE_SLOT];
    if (state != null) state.finish();
  }

  /**
   * The query state of a request in flight, made on its first query (`MonitorRequestContext.resolve`):
   * most requests of a cached API run none, and pay nothing for it. Undefined once it was timed (a
   * late fire-and-forget query is not the request's).
   */
  private stateOf(request: FastifyRequestLike): MonitorRequestState | undefined {
    const existing = request[STATE_SLOT];
    if (existing != null) return existing.finished ? undefined : existing;
    const reply = request[REPLY_SLOT];
    if (reply === RECORDED || reply == null) return undefined;
    const entry = this.routeEntryOf(request);
    const now = (this.options.now ?? Date.now)();
    const state = this.context.open(
      { route: entry.route, method: request.method, ...(request.id === undefined ? {} : { requestId: request.id }) },
      now - reply.elapsedTime,
    );
    request[STATE_SLOT] = state;
    return state;
  }

  /** The request's route entry: by its Fastify route context (no allocation), made on the route's first request. */
  private routeEntryOf(request: FastifyRequestLike): RouteEntry {
    if (this.contextKey === undefined) this.contextKey = findRouteContextKey(request);
    const context = this.contextKey === null ? undefined : (request[this.contextKey] as object | undefined);
    if (context === undefined) return this.routeEntryByTemplate(request.method, request.routeOptions?.url ?? UNMATCHED_ROUTE);
    let entry = this.routeEntries.get(context);
    if (entry === undefined) {
      entry = this.newRouteEntry(request.method, routeTemplateOf(context) ?? UNMATCHED_ROUTE);
      this.routeEntries.set(context, entry);
    }
    while (entry.method !== request.method) {
      entry.next ??= this.newRouteEntry(request.method, entry.route);
      entry = entry.next;
    }
    return entry;
  }

  private routeEntryByTemplate(method: string, route: string): RouteEntry {
    const key = `${method} ${route}`;
    let entry = this.routeEntriesByTemplate.get(key);
    if (entry === undefined) {
      entry = this.newRouteEntry(method, route);
      // Bounded by the routes the app has (route templates, never raw paths) and their methods.
      this.routeEntriesByTemplate.set(key, entry);
    }
    return entry;
  }

  private newRouteEntry(method: string, route: string): RouteEntry {
    return new RouteEntry(method, route, this.monitor.routeHandle(method, route));
  }
}

/**
 * Fastify keeps a request's route context under a symbol of its own, `Symbol(fastify.context)`: one
 * object per route, whose `config.url` is the route template (undefined for the 404 handler).
 */
function findRouteContextKey(request: object): symbol | null {
  for (const key of Object.getOwnPropertySymbols(request)) {
    if (key.description !== 'fastify.context') continue;
    const context = (request as Record<symbol, unknown>)[key];
    if (typeof context === 'object' && context !== null && 'config' in context) return key;
  }
  return null;
}

function routeTemplateOf(context: object): string | undefined {
  const config = (context as { config?: { url?: unknown } }).config;
  return typeof config?.url === 'string' ? config.url : undefined;
}

/** The explain connection's target: the DataSource's own URL, or its host/port/user/database. */
function explainOptionsOf(dataSource: { options: unknown }): ExplainConnectionOptions {
  const o = dataSource.options as { url?: string; host?: string; port?: number; username?: string; password?: string; database?: string };
  if (o.url !== undefined) return { connectionString: o.url };
  return {
    config: {
      ...(o.host === undefined ? {} : { host: o.host }),
      ...(o.port === undefined ? {} : { port: o.port }),
      ...(o.username === undefined ? {} : { user: o.username }),
      ...(o.password === undefined ? {} : { password: o.password }),
      ...(o.database === undefined ? {} : { database: o.database }),
    },
  };
}
