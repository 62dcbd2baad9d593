import { validateRules } from './alert-rules.js';
import type { AlertRule } from './alert.types.js';

/**
 * The metric keys the alert engine expects from the monitor. The monitor produces exactly these
 * keys (one sample per key, or one per label set where labels are listed) at each evaluation.
 *
 * | metric                          | unit          | what                                                         | labels    |
 * | ------------------------------- | ------------- | ------------------------------------------------------------ | --------- |
 * | `http.p95_ms`                   | milliseconds  | p95 of HTTP request duration over the rolling window         | —         |
 * | `http.error_rate`               | fraction 0..1 | responses with status ≥ 500 / all responses, same window     | —         |
 * | `db.slow_queries_per_min`       | queries/min   | queries slower than the slow-query threshold, per minute     | —         |
 * | `cache.hit_rate`                | fraction 0..1 | hits / (hits + misses) over the window, per cache            | `cache`   |
 * | `queue.pending`                 | tasks         | tasks accepted and not yet started (waiting + delayed)       | `queue`?  |
 * | `process.event_loop_lag_p99_ms` | milliseconds  | p99 event-loop delay (`perf_hooks.monitorEventLoopDelay`)    | —         |
 * | `process.rss_bytes`             | bytes         | resident set size (`process.memoryUsage().rss`)              | —         |
 *
 * Ratios are omitted (no sample) when their denominator is too small to mean anything, e.g. a
 * cache with only a handful of lookups in the window: absence changes no alert.
 */
export const ALERT_METRICS = {
  httpP95Ms: 'http.p95_ms',
  httpErrorRate: 'http.error_rate',
  dbSlowQueriesPerMin: 'db.slow_queries_per_min',
  cacheHitRate: 'cache.hit_rate',
  queuePending: 'queue.pending',
  eventLoopLagP99Ms: 'process.event_loop_lag_p99_ms',
  rssBytes: 'process.rss_bytes',
} as const;

const MINUTE = 60_000;
const GIB = 1024 ** 3;

/**
 * The rules the monitor starts with. Thresholds suit a chat API (AI calls make requests slow by
 * nature, so latency is generous); override any of them by name through configuration
 * (`alertRulesFromConfig`). Validated and deeply frozen at import.
 */
export const DEFAULT_ALERT_RULES: readonly AlertRule[] = Object.freeze(validateRules([
  {
    name: 'http-latency-p95',
    description: 'p95 HTTP request latency is high',
    metric: ALERT_METRICS.httpP95Ms,
    comparison: '>',
    levels: [
      { severity: 'warning', threshold: 1_000, clearThreshold: 800 },
      { severity: 'critical', threshold: 3_000, clearThreshold: 2_500 },
    ],
    forMs: 2 * MINUTE,
  },
  {
    name: 'http-5xx-rate',
    description: 'Share of HTTP responses with a 5xx status is high',
    metric: ALERT_METRICS.httpErrorRate,
    comparison: '>',
    levels: [
      { severity: 'warning', threshold: 0.01, clearThreshold: 0.005 },
      { severity: 'critical', threshold: 0.05, clearThreshold: 0.03 },
    ],
    forMs: 1 * MINUTE,
  },
  {
    name: 'db-slow-queries',
    description: 'Slow database queries per minute are high',
    metric: ALERT_METRICS.dbSlowQueriesPerMin,
    comparison: '>',
    levels: [
      { severity: 'warning', threshold: 10, clearThreshold: 5 },
      { severity: 'critical', threshold: 60, clearThreshold: 30 },
    ],
    forMs: 2 * MINUTE,
  },
  {
    name: 'cache-hit-rate',
    description: 'Cache hit rate is low (one alert per cache)',
    metric: ALERT_METRICS.cacheHitRate,
    comparison: '<',
    levels: [
      { severity: 'warning', threshold: 0.5, clearThreshold: 0.6 },
      { severity: 'critical', threshold: 0.2, clearThreshold: 0.3 },
    ],
    forMs: 5 * MINUTE,
  },
  {
    name: 'queue-backlog',
    description: 'Tasks waiting in the queue are piling up',
    metric: ALERT_METRICS.queuePending,
    comparison: '>',
    levels: [
      { severity: 'warning', threshold: 1_000, clearThreshold: 500 },
      { severity: 'critical', threshold: 10_000, clearThreshold: 5_000 },
    ],
    forMs: 2 * MINUTE,
  },
  {
    name: 'event-loop-lag',
    description: 'Event-loop lag p99 is high: the process is CPU-bound or blocked',
    metric: ALERT_METRICS.eventLoopLagP99Ms,
    comparison: '>',
    levels: [
      { severity: 'warning', threshold: 100, clearThreshold: 50 },
      { severity: 'critical', threshold: 500, clearThreshold: 250 },
    ],
    forMs: 1 * MINUTE,
  },
  {
    name: 'process-rss',
    description: 'Resident memory of the process is high',
    metric: ALERT_METRICS.rssBytes,
    comparison: '>',
    levels: [
      { severity: 'warning', threshold: 1 * GIB, clearThreshold: 0.9 * GIB },
      { severity: 'critical', threshold: 2 * GIB, clearThreshold: 1.8 * GIB },
    ],
    forMs: 5 * MINUTE,
  },
] satisfies AlertRule[]));
