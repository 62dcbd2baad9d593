import type { ProcessorStats } from '@chat/async';
import type { CacheStats } from '@chat/cache';
import type { Alert, AlertEvent, MinutePoint, MonitorReport } from '@chat/monitoring';
import type {
  ComponentsHealth,
  DashboardAlert,
  DashboardData,
  DashboardSeries,
} from './dashboard.types.js';
import { performanceScore } from './score.js';

const MINUTE = 60_000;

/** Everything the dashboard is made of, read by `PerformanceIntegrationService.dashboard()`. */
export interface DashboardInputs {
  now: number;
  startedAt: number;
  version: string;
  windowMinutes: number;
  components: ComponentsHealth;
  /** By the contract's names; null for a cache that is off. */
  caches: Record<string, CacheStats | null>;
  processor: ProcessorStats | null;
  report: MonitorReport | null;
  /** Pending tasks at the end of each minute, when the monitor keeps them (epoch ms → depth). */
  queueDepth?: ReadonlyArray<{ minute: number; value: number }>;
  /** Used when the monitor is off, or has no sample yet. */
  liveProcess: { rssBytes: number; heapUsedBytes: number };
}

/** The overall status: down when the database is; degraded when any other component is, or a critical alert fires. */
export function overallStatus(components: ComponentsHealth, active: readonly DashboardAlert[]): DashboardData['status'] {
  if (components.database.status === 'down') return 'down';
  const degraded =
    components.redis?.status === 'down' ||
    components.queue.status === 'down' ||
    active.some((a) => a.state === 'firing' && a.severity === 'critical');
  return degraded ? 'degraded' : 'ok';
}

export function dashboardAlert(alert: Alert): DashboardAlert {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: alert.id,
    rule: alert.rule,
    severity: alert.severity,
    state: alert.state,
    value: alert.value,
    threshold: alert.threshold,
    since: new Date(alert.startedAt).toISOString(),
    firedAt: iso(alert.firedAt),
    resolvedAt: iso(alert.resolvedAt),
    metric: alert.metric,
    labels: { ...alert.labels },
  };
}

/** Recent transitions, newest first, one line per alert (its latest state). */
function recentAlerts(events: readonly AlertEvent[]): DashboardAlert[] {
  const seen = new Set<string>();
  const out: DashboardAlert[] = [];
  for (const event of events) {
    if (seen.has(event.alert.id)) continue;
    seen.add(event.alert.id);
    out.push(dashboardAlert(event.alert));
  }
  return out;
}

/**
 * A percentile over a window from per-minute percentiles, each minute weighted by its count: an
 * approximation (exact per minute, not across minutes), which the page labels as such.
 */
export function weightedPercentile(points: readonly MinutePoint[], pick: (p: MinutePoint) => number, q: number): number | null {
  const used = points.filter((p) => p.count > 0).map((p) => ({ v: pick(p), w: p.count }));
  if (used.length === 0) return null;
  used.sort((a, b) => a.v - b.v);
  const total = used.reduce((s, p) => s + p.w, 0);
  let seen = 0;
  for (const p of used) {
    seen += p.w;
    if (seen >= q * total) return p.v;
  }
  return used.at(-1)?.v ?? null;
}

/** Minute starts covering the window, oldest first, ending with the current minute. */
export function minuteAxis(now: number, windowMinutes: number): number[] {
  const last = Math.floor(now / MINUTE) * MINUTE;
  return Array.from({ length: windowMinutes }, (_, i) => last - (windowMinutes - 1 - i) * MINUTE);
}

function onAxis<T extends { minute: number }, V>(axis: readonly number[], points: readonly T[], pick: (p: T) => V, empty: V): V[] {
  const byMinute = new Map(points.map((p) => [p.minute, p]));
  return axis.map((m) => {
    const p = byMinute.get(m);
    return p === undefined ? empty : pick(p);
  });
}

/** A minute's latency figure, or null when it timed nothing. */
function latency(point: MinutePoint, value: number): number | null {
  return point.count === 0 ? null : value;
}

/** Slow query shapes the dashboard lists: the costliest (total time) first. */
export const MAX_SLOW_QUERIES = 20;

function series(inputs: DashboardInputs, report: MonitorReport, cacheNames: Record<string, string>): DashboardSeries {
  const axis = minuteAxis(inputs.now, inputs.windowMinutes);
  const s = report.series;
  const cacheHitRate: Record<string, Array<number | null>> = {};
  // The contract's caches by their contract names (a line even before their first lookup), then the app's own.
  const names = new Map<string, string>(Object.entries(cacheNames).map(([name, internal]) => [internal, name]));
  for (const internal of Object.keys(s.cache)) if (!names.has(internal)) names.set(internal, internal);
  for (const [internal, name] of names) {
    const c = s.cache[internal];
    if (c === undefined) {
      cacheHitRate[name] = axis.map(() => null);
      continue;
    }
    const hits = onAxis(axis, c.hits, (p) => p.count, 0);
    const misses = onAxis(axis, c.misses, (p) => p.count, 0);
    cacheHitRate[name] = axis.map((_, i) => {
      const total = (hits[i] ?? 0) + (misses[i] ?? 0);
      return total === 0 ? null : (hits[i] ?? 0) / total;
    });
  }
  // Process samples are taken every few seconds: the minute's last one stands for it.
  const processByMinute = new Map<number, (typeof s.process)[number]>();
  for (const p of s.process) processByMinute.set(Math.floor(p.at / MINUTE) * MINUTE, p);
  const processAt = <V>(pick: (p: (typeof s.process)[number]) => V): Array<V | null> =>
    axis.map((m) => {
      const p = processByMinute.get(m);
      return p === undefined ? null : pick(p);
    });
  return {
    minutes: axis,
    requests: {
      count: onAxis(axis, s.http, (p) => p.count, 0),
      errors: onAxis(axis, s.http, (p) => p.errors, 0),
      p50Ms: onAxis<MinutePoint, number | null>(axis, s.http, (p) => latency(p, p.p50Ms), null),
      p95Ms: onAxis<MinutePoint, number | null>(axis, s.http, (p) => latency(p, p.p95Ms), null),
      p99Ms: onAxis<MinutePoint, number | null>(axis, s.http, (p) => latency(p, p.p99Ms), null),
    },
    cacheHitRate,
    queue: {
      depth: onAxis<{ minute: number; value: number }, number | null>(axis, inputs.queueDepth ?? [], (p) => p.value, null),
      completed: onAxis(axis, s.queue.completed, (p) => p.count, 0),
      failed: onAxis(axis, s.queue.failed, (p) => p.count, 0),
      submitted: onAxis(axis, s.queue.submitted, (p) => p.count, 0),
    },
    database: {
      count: onAxis(axis, s.db, (p) => p.count, 0),
      p95Ms: onAxis<MinutePoint, number | null>(axis, s.db, (p) => latency(p, p.p95Ms), null),
      slow: onAxis(axis, s.slowQueries, (p) => p.count, 0),
    },
    process: {
      rssBytes: processAt((p) => p.rssBytes),
      eventLoopLagP99Ms: processAt((p) => p.eventLoopLagP99Ms),
      cpuPercent: processAt((p) => p.cpuCores * 100),
    },
  };
}

/** Maps the contract's cache names to the namespaces the cache lib keeps them in. */
export const CACHE_NAMESPACES = { conversation: 'conversation', aiResponse: 'ai-response', toolResult: 'tool-result' } as const;

/** The dashboard JSON from what the three libs report. Pure: every figure comes from `inputs`. */
export function buildDashboard(inputs: DashboardInputs): DashboardData {
  const { report, processor } = inputs;
  const windowMs = inputs.windowMinutes * MINUTE;
  const active = report === null ? [] : report.alerts.active.map(dashboardAlert);
  const recent = report === null ? [] : recentAlerts(report.alerts.recent);

  let requests: DashboardData['requests'] = null;
  let database: DashboardData['database'] = null;
  if (report !== null) {
    const http = report.series.http;
    const total = http.reduce((s, p) => s + p.count, 0);
    const errors = http.reduce((s, p) => s + p.errors, 0);
    // Rate over the minutes that saw traffic since the first one (a fresh process is not diluted by empty minutes).
    const first = http.find((p) => p.count > 0)?.minute;
    const spanMs = first === undefined ? windowMs : Math.max(1_000, Math.min(windowMs, inputs.now - first));
    requests = {
      total,
      ratePerSec: total / (spanMs / 1_000),
      errorRate: total === 0 ? 0 : errors / total,
      p50Ms: weightedPercentile(http, (p) => p.p50Ms, 0.5),
      p95Ms: weightedPercentile(http, (p) => p.p95Ms, 0.95),
      p99Ms: weightedPercentile(http, (p) => p.p99Ms, 0.99),
      byRoute: report.routes.slice(0, 50),
    };
    const db = report.series.db;
    database = {
      queries: db.reduce((s, p) => s + p.count, 0),
      p95Ms: weightedPercentile(db, (p) => p.p95Ms, 0.95),
      slowQueries: [...report.slowQueries].sort((a, b) => b.totalDurationMs - a.totalDurationMs).slice(0, MAX_SLOW_QUERIES),
      nPlusOne: report.nPlusOne,
      indexSuggestions: report.indexSuggestions,
    };
  }

  let queue: DashboardData['queue'] = null;
  if (processor !== null) {
    const byPriority: NonNullable<DashboardData['queue']>['byPriority'] = {};
    for (const [priority, counts] of Object.entries(processor.byPriority)) {
      byPriority[priority] = { waiting: counts.pending, active: counts.running, completed: counts.completed, failed: counts.failed };
    }
    queue = {
      waiting: processor.byStatus.pending,
      active: processor.byStatus.running,
      completed: processor.byStatus.completed,
      failed: processor.byStatus.failed,
      delayed: processor.queue?.delayed ?? 0,
      byPriority,
      throughputPerMin: processor.throughputPerMinute,
      p95WaitMs: processor.waitMs.p95,
      p95RunMs: processor.runMs.p95,
      maxPending: processor.maxPending,
      driver: processor.driver,
    };
  }

  const lastSample = report?.series.process.at(-1);
  const process: DashboardData['process'] =
    lastSample === undefined
      ? { ...inputs.liveProcess, eventLoopLagP99Ms: null, cpuPercent: null }
      : {
          rssBytes: lastSample.rssBytes,
          heapUsedBytes: lastSample.heapUsedBytes,
          eventLoopLagP99Ms: lastSample.eventLoopLagP99Ms,
          cpuPercent: lastSample.cpuCores * 100,
        };

  const caches = {
    conversation: inputs.caches['conversation'] ?? null,
    aiResponse: inputs.caches['aiResponse'] ?? null,
    toolResult: inputs.caches['toolResult'] ?? null,
    ...inputs.caches,
  };

  const status = overallStatus(inputs.components, active);
  const base = {
    status,
    generatedAt: new Date(inputs.now).toISOString(),
    uptimeSeconds: Math.max(0, Math.round((inputs.now - inputs.startedAt) / 1_000)),
    version: inputs.version,
    windowMinutes: inputs.windowMinutes,
    components: inputs.components,
    caches,
    queue,
    requests,
    database,
    alerts: { active, recent },
    process,
    series: report === null ? null : series(inputs, report, CACHE_NAMESPACES),
  };
  return { ...base, score: performanceScore(base) };
}
