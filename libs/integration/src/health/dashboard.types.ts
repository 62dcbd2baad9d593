import type { CacheStats } from '@chat/cache';
import type { IndexSuggestion, NPlusOneAggregate, SlowQuery } from '@chat/monitoring';

export type ComponentStatus = 'up' | 'down' | 'disabled';

export interface ComponentsHealth {
  database: { status: ComponentStatus; latencyMs: number | null; error?: string };
  /** null when no Redis is configured (embedded defaults: in-process caches and queue). */
  redis: { status: ComponentStatus; latencyMs: number | null; error?: string } | null;
  queue: { status: ComponentStatus; driver: 'bullmq' | 'in-process' | null };
  cache: { status: ComponentStatus; l2: 'none' | 'closed' | 'open' | 'half-open' | null };
  monitor: { status: ComponentStatus };
}

/** The contract's `Alert`, plus what an operator needs to read it (metric, labels, message). */
export interface DashboardAlert {
  id: string;
  rule: string;
  severity: 'info' | 'warning' | 'critical';
  state: 'pending' | 'firing' | 'resolved';
  value: number;
  threshold: number;
  /** ISO time the condition started holding. */
  since: string;
  firedAt: string | null;
  resolvedAt: string | null;
  metric: string;
  labels: Record<string, string>;
}

export interface RouteFigures {
  method: string;
  route: string;
  count: number;
  errors: number;
  meanMs: number;
  p95Ms: number;
  maxMs: number;
}

/** One point per minute (epoch ms of its start) over the dashboard's window, oldest first. */
export interface DashboardSeries {
  minutes: number[];
  /** Latencies are null for a minute without requests (no figure, not zero). */
  requests: { count: number[]; errors: number[]; p50Ms: Array<number | null>; p95Ms: Array<number | null>; p99Ms: Array<number | null> };
  /** Per cache (the contract's three by their contract names, then any other the app keeps): hits ÷ (hits + misses) per minute, null where the minute had no lookup. */
  cacheHitRate: Record<string, Array<number | null>>;
  /** Pending tasks at the end of each minute (null before the first reading), and tasks done per minute. */
  queue: { depth: Array<number | null>; completed: number[]; failed: number[]; submitted: number[] };
  database: { count: number[]; p95Ms: Array<number | null>; slow: number[] };
  process: { rssBytes: Array<number | null>; eventLoopLagP99Ms: Array<number | null>; cpuPercent: Array<number | null> };
}

export interface ScoreFinding {
  /** The rule's id (see `SCORE_RULES`). */
  rule: string;
  title: string;
  /** Points taken off 100. */
  penalty: number;
  /** What was measured. */
  detail: string;
  recommendation: string;
}

export interface PerformanceScore {
  value: number;
  grade: 'good' | 'fair' | 'poor';
  findings: ScoreFinding[];
  recommendations: string[];
  /** Every rule the score applies, found or not: what the page lists as "how the score is made". */
  rules: Array<{ id: string; title: string; description: string }>;
}

/** `GET /v1/admin/health`: the contract's dashboard JSON (see api-contract.md), and the series the page draws. */
export interface DashboardData {
  status: 'ok' | 'degraded' | 'down';
  generatedAt: string;
  uptimeSeconds: number;
  version: string;
  windowMinutes: number;
  components: ComponentsHealth;
  caches: Record<'conversation' | 'aiResponse' | 'toolResult', CacheStats | null> & Record<string, CacheStats | null>;
  queue: {
    waiting: number;
    active: number;
    completed: number;
    failed: number;
    delayed: number;
    byPriority: Record<string, { waiting: number; active: number; completed: number; failed: number }>;
    throughputPerMin: number;
    p95WaitMs: number | null;
    p95RunMs: number | null;
    maxPending: number | null;
    driver: 'bullmq' | 'in-process' | null;
  } | null;
  requests: {
    total: number;
    ratePerSec: number;
    errorRate: number;
    p50Ms: number | null;
    p95Ms: number | null;
    p99Ms: number | null;
    byRoute: RouteFigures[];
  } | null;
  database: {
    queries: number;
    p95Ms: number | null;
    /** The costliest first (total time), at most `MAX_SLOW_QUERIES`. */
    slowQueries: SlowQuery[];
    nPlusOne: NPlusOneAggregate[];
    indexSuggestions: IndexSuggestion[];
  } | null;
  alerts: { active: DashboardAlert[]; recent: DashboardAlert[] };
  process: { rssBytes: number; heapUsedBytes: number; eventLoopLagP99Ms: number | null; cpuPercent: number | null };
  score: PerformanceScore;
  series: DashboardSeries | null;
}
