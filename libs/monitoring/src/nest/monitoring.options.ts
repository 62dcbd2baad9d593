import type { Type } from '@nestjs/common';
import type { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { DataSource } from 'typeorm';
import type { ExplainConnectionOptions } from '../analysis/explain-connection.js';

export interface PerformanceMonitoringOptions {
  /** The TypeORM DataSource whose queries are captured; none: no query capture. */
  dataSource?: DataSource | null;
  /**
   * The monitor's own connection for EXPLAIN and what-if plans; default: the DataSource's URL.
   * `false`: no plans and no index suggestions (e.g. an embedded database with one session).
   */
  explain?: ExplainConnectionOptions | false;
  /** Queries at or over this are slow: counted, explained, fed to the index advisor (default 100 ms). */
  slowQueryMs?: number;
  /** The same query shape this many times in one request is an N+1 (default 5). */
  nPlusOneThreshold?: number;
  /** Alert rules as configuration (see `alertRulesFromConfig`); default the built-in rules. */
  alertRules?: unknown;
  /** POSTed on fired, escalated and resolved alerts. */
  alertWebhookUrl?: string | null;
  /** How often the process is sampled and the alert rules evaluated (default 15 s). */
  evaluateEveryMs?: number;
  /** Routes, caches and task types tracked one by one (default 100). */
  maxRoutes?: number;
  /** Minutes of per-minute aggregates kept (default 1440 = 24 h). */
  retentionMinutes?: number;
  /**
   * The app's per-request object from its own AsyncLocalStorage (e.g. `() => requestContext.getStore()`):
   * the monitor then keeps its request state there rather than opening a second AsyncLocalStorage,
   * which on Node 20 costs on every promise of every request.
   */
  requestCarrier?: () => object | undefined;
  /** Epoch ms; injectable so tests are exact. */
  now?: () => number;
  /** Time requests through the Fastify instance's hooks (default true; Express is not supported). */
  http?: boolean;
}

/** Decided when the module is declared (Nest needs its controllers then), beside `forRoot`/`forRootAsync`'s options. */
export interface PerformanceMonitoringExtras {
  /**
   * `/metrics` through `@willsoto/nestjs-prometheus`: its path and, to put it behind the app's own
   * guards, a controller extending `PrometheusController`. `false`: no endpoint (the metrics are
   * still kept in prom-client's registry). Default `{ path: '/metrics' }`.
   */
  metrics?: { path?: string; controller?: Type<PrometheusController> } | false;
}
