/**
 * Test data for the dashboard and score specs: each factory gives a plausible, healthy value and
 * takes overrides for what a test is about. Not part of the build (`*.fixture.ts`).
 */
import type { ProcessorStats } from '@chat/async';
import type { CacheStats } from '@chat/cache';
import type { Alert, AlertEvent, IndexSuggestion, MinutePoint, MonitorReport, NPlusOneAggregate, ProcessSample, SlowQuery } from '@chat/monitoring';
import { emptyCacheStats } from '../facade/pass-through.namespace.js';
import type { DashboardInputs } from '../health/dashboard.js';
import type { ComponentsHealth, DashboardAlert, DashboardData } from '../health/dashboard.types.js';

export const MINUTE = 60_000;
/** 2026-11-23T02:30:15Z: 15 s into a minute. */
export const NOW = Date.UTC(2026, 10, 23, 2, 30, 15);
/** Start of the minute `NOW` is in. */
export const THIS_MINUTE = Date.UTC(2026, 10, 23, 2, 30, 0);

export function cacheStats(overrides: Partial<CacheStats> = {}): CacheStats {
  return { ...emptyCacheStats(), ...overrides };
}

/** Everything up: database and Redis answering, the BullMQ queue available, caches on L1+L2, the monitor on. */
export function components(overrides: Partial<ComponentsHealth> = {}): ComponentsHealth {
  return {
    database: { status: 'up', latencyMs: 1.5 },
    redis: { status: 'up', latencyMs: 0.8 },
    queue: { status: 'up', driver: 'bullmq' },
    cache: { status: 'up', l2: 'closed' },
    monitor: { status: 'up' },
    ...overrides,
  };
}

export function processorStats(overrides: Partial<ProcessorStats> = {}): ProcessorStats {
  const zero = { pending: 0, running: 0, completed: 0, failed: 0 };
  return {
    driver: 'bullmq',
    byStatus: { ...zero },
    byPriority: { low: { ...zero }, normal: { ...zero }, high: { ...zero }, urgent: { ...zero }, critical: { ...zero } },
    queue: { waiting: 0, delayed: 0, active: 0 },
    maxPending: 10_000,
    waitMs: { p50: null, p95: null },
    runMs: { p50: null, p95: null },
    perMinute: [],
    throughputPerMinute: 0,
    failuresByType: {},
    windowMs: 15 * MINUTE,
    activeHere: 0,
    ...overrides,
  };
}

export function minutePoint(minute: number, overrides: Partial<MinutePoint> = {}): MinutePoint {
  return { minute, count: 1, errors: 0, sumMs: 10, maxMs: 10, p50Ms: 10, p95Ms: 10, p99Ms: 10, ...overrides };
}

export function processSample(at: number, overrides: Partial<ProcessSample> = {}): ProcessSample {
  return { at, rssBytes: 100_000_000, heapUsedBytes: 40_000_000, heapTotalBytes: 60_000_000, eventLoopLagP99Ms: 2, cpuCores: 0.25, ...overrides };
}

let alertIds = 0;

export function alert(overrides: Partial<Alert> = {}): Alert {
  return {
    id: `alert-${++alertIds}`,
    rule: 'http-latency-p95',
    metric: 'http.p95_ms',
    labels: {},
    severity: 'warning',
    state: 'firing',
    comparison: '>',
    value: 812,
    threshold: 500,
    clearThreshold: 500,
    startedAt: NOW - 5 * MINUTE,
    firedAt: NOW - 4 * MINUTE,
    escalatedAt: null,
    resolvedAt: null,
    resolveReason: null,
    updatedAt: NOW - MINUTE,
    description: 'p95 latency',
    summary: '[WARNING] http-latency-p95: http.p95_ms = 812 (> 500)',
    ...overrides,
  };
}

export function alertEvent(a: Alert, at: number, kind: AlertEvent['kind'] = 'fired'): AlertEvent {
  return { kind, at, alert: a, previousSeverity: null };
}

/** The contract's `Alert` as the dashboard shows it (firing unless told). */
export function dashboardAlert(overrides: Partial<DashboardAlert> = {}): DashboardAlert {
  return {
    id: `alert-${++alertIds}`,
    rule: 'some-rule',
    severity: 'warning',
    state: 'firing',
    value: 1,
    threshold: 1,
    since: new Date(NOW - MINUTE).toISOString(),
    firedAt: new Date(NOW - MINUTE).toISOString(),
    resolvedAt: null,
    metric: 'some.metric',
    labels: {},
    ...overrides,
  };
}

export function slowQuery(overrides: Partial<SlowQuery> = {}): SlowQuery {
  return {
    fingerprint: `fp-${++alertIds}`,
    exampleSql: 'SELECT * FROM messages WHERE body ILIKE $1',
    operation: 'SELECT',
    routes: ['GET /v1/search'],
    count: 3,
    maxDurationMs: 240,
    meanDurationMs: 180,
    totalDurationMs: 540,
    firstSeenAt: NOW - 10 * MINUTE,
    lastSeenAt: NOW - MINUTE,
    plan: null,
    explainError: null,
    lastExplainAttemptAt: null,
    ...overrides,
  };
}

export function nPlusOne(overrides: Partial<NPlusOneAggregate> = {}): NPlusOneAggregate {
  return {
    route: 'GET /v1/conversations',
    fingerprint: `fp-${++alertIds}`,
    operation: 'SELECT',
    exampleSql: 'SELECT * FROM messages WHERE conversation_id = $1',
    occurrences: 4,
    maxCount: 20,
    lastCount: 20,
    totalCount: 80,
    totalMs: 40,
    firstSeenAt: NOW - 10 * MINUTE,
    lastSeenAt: NOW - MINUTE,
    ...overrides,
  };
}

export function indexSuggestion(overrides: Partial<IndexSuggestion> = {}): IndexSuggestion {
  const n = ++alertIds;
  return {
    statement: `CREATE INDEX CONCURRENTLY IF NOT EXISTS "messages_body_idx_${n}" ON "public"."messages" ("body")`,
    indexName: `messages_body_idx_${n}`,
    schema: 'public',
    table: 'messages',
    columns: ['body'],
    queries: [],
    costBefore: 1234.5,
    costAfter: 8.2,
    verifiedWith: 'hypopg',
    createdAt: NOW - MINUTE,
    updatedAt: NOW - MINUTE,
    ...overrides,
  };
}

type Series = MonitorReport['series'];

/** A monitor report with no measurement at all; `series` overrides are merged one level deep. */
export type SeriesOverrides = Partial<Omit<Series, 'queue'>> & { queue?: Partial<Series['queue']> };

export function monitorReport(overrides: Omit<Partial<MonitorReport>, 'series'> & { series?: SeriesOverrides } = {}): MonitorReport {
  const { series, ...rest } = overrides;
  const queue: Series['queue'] = { submitted: [], rejected: [], completed: [], failed: [], wait: [], run: [], ...series?.queue };
  return {
    generatedAt: new Date(NOW).toISOString(),
    routes: [],
    queries: { top: [], totals: {} as MonitorReport['queries']['totals'] },
    slowQueries: [],
    nPlusOne: [],
    indexSuggestions: [],
    alerts: { active: [], recent: [] },
    pgStatStatements: null,
    ...rest,
    series: { http: [], db: [], slowQueries: [], cache: {}, process: [], ...series, queue },
  };
}

export function dashboardInputs(overrides: Partial<DashboardInputs> = {}): DashboardInputs {
  return {
    now: NOW,
    startedAt: NOW - 3_600_000,
    version: '1.2.3',
    windowMinutes: 60,
    components: components(),
    caches: { conversation: cacheStats(), aiResponse: cacheStats(), toolResult: cacheStats() },
    processor: processorStats(),
    report: monitorReport(),
    liveProcess: { rssBytes: 123_000_000, heapUsedBytes: 45_000_000 },
    ...overrides,
  };
}

export type Scored = Omit<DashboardData, 'score'>;

/** A healthy dashboard (no finding of any rule), for the score's rules. */
export function scored(overrides: Partial<Scored> = {}): Scored {
  return {
    status: 'ok',
    generatedAt: new Date(NOW).toISOString(),
    uptimeSeconds: 3_600,
    version: '1.2.3',
    windowMinutes: 60,
    components: components(),
    caches: { conversation: cacheStats(), aiResponse: cacheStats(), toolResult: cacheStats() },
    queue: {
      waiting: 0,
      active: 0,
      completed: 10,
      failed: 0,
      delayed: 0,
      byPriority: {},
      throughputPerMin: 1,
      p95WaitMs: 20,
      p95RunMs: 30,
      maxPending: 100,
      driver: 'bullmq',
    },
    requests: { total: 1_000, ratePerSec: 10, errorRate: 0, p50Ms: 5, p95Ms: 50, p99Ms: 100, byRoute: [] },
    database: { queries: 100, p95Ms: 3, slowQueries: [], nPlusOne: [], indexSuggestions: [] },
    alerts: { active: [], recent: [] },
    process: { rssBytes: 200_000_000, heapUsedBytes: 80_000_000, eventLoopLagP99Ms: 5, cpuPercent: 10 },
    series: null,
    ...overrides,
  };
}
