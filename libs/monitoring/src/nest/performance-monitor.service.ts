import { performance } from 'node:perf_hooks';
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
import type { CacheMonitorEvent, HttpRequestRecord, QueueMonitorEvent } from '../core/monitor-events.js';
import { PerformanceMonitor, type DashboardSeries } from '../core/performance-monitor.js';
import { MonitorMetrics } from '../prometheus/monitor-metrics.js';
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
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: unknown, done: () => void) => void): unknown;
  addHook(name: 'onResponse', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: () => void) => void): unknown;
  addHook(name: 'onRequestAbort', hook: (request: FastifyRequestLike, done: () => void) => void): unknown;
}
interface FastifyRequestLike {
  method: string;
  id?: string;
  routeOptions?: { url?: string };
  [REQUEST_SLOT]?: RequestSlot | null;
}

/** What the hooks keep per request, in one slot declared up front (see `hookHttp`). */
interface RequestSlot {
  state: MonitorRequestState | undefined;
  /** `performance.now()` at onRequest. */
  started: number;
  /** Set once the request has been recorded (response sent or client gone). */
  recorded: boolean;
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
const REQUEST_SLOT = 'chatPerformanceMonitor';

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
    this.context = new MonitorRequestContext({ now, ...(options.requestCarrier === undefined ? {} : { carrier: options.requestCarrier }) });
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

  recordCache(event: CacheMonitorEvent): void {
    this.monitor.recordCache(event);
    this.metrics.recordCache(event);
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
    if (!fastify.hasRequestDecorator(REQUEST_SLOT)) fastify.decorateRequest(REQUEST_SLOT, null);
    fastify.addHook('onRequest', (request, _reply, done) => {
      const slot: RequestSlot = { state: undefined, started: performance.now(), recorded: false };
      request[REQUEST_SLOT] = slot;
      const route = request.routeOptions?.url ?? UNMATCHED_ROUTE;
      // The rest of the request runs inside this context: its queries know their route.
      this.context.run({ route, method: request.method, ...(request.id === undefined ? {} : { requestId: request.id }) }, () => {
        slot.state = this.context.current();
        done();
      });
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      this.endRequest(request, reply.statusCode, reply.elapsedTime);
      done();
    });
    // A client that goes away before the response (a timeout, a closed tab): Fastify never runs
    // onResponse for it, so without this the request would be neither timed nor finished.
    fastify.addHook('onRequestAbort', (request, done) => {
      const started = request[REQUEST_SLOT]?.started;
      this.endRequest(request, CLIENT_CLOSED_REQUEST, started === undefined ? 0 : performance.now() - started);
      done();
    });
  }

  /** Records the request once and ends its query context (its N+1 analysis runs then). */
  private endRequest(request: FastifyRequestLike, status: number, durationMs: number): void {
    const slot = request[REQUEST_SLOT];
    if (slot?.recorded === true) return;
    if (slot) slot.recorded = true;
    this.recordRequest({ method: request.method, route: request.routeOptions?.url ?? UNMATCHED_ROUTE, status, durationMs });
    if (slot?.state !== undefined) this.context.finish(slot.state);
  }
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
