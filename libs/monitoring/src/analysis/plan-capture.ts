import type { QuerySample } from '../queries/query-sample.js';
import { ExplainConnection, explainableKind, type ExplainConnectionOptions, type Explainer } from './explain-connection.js';
import { summarizePlan, type PlanNode, type PlanSummary } from './plan-summary.js';
import { systemNow, systemScheduler, TokenBucket, type Scheduler } from './rate-limit.js';

/**
 * Slow queries and their plans.
 *
 * `consider(sample)` is called on the hot path for every captured query. It is synchronous, cheap and
 * never throws: a sample at or over the threshold updates its fingerprint's record, and when the
 * fingerprint has no plan yet (or its plan is older than `reexplainAfterMs`) an explain is queued.
 * A token bucket lets at most `explainsPerSecond` explains start (bursts of `explainBurst`); the queue
 * of pending explains is bounded and drops what does not fit. Explains run one at a time on the
 * explain connection (see `ExplainConnection`: its own pool, every statement time-limited, every
 * explain inside `BEGIN READ ONLY … ROLLBACK`, never ANALYZE).
 */
export interface SlowQueryAnalyzerOptions {
  /** Where plans come from: an `ExplainConnection` (or any `Explainer`), or options to create one. */
  explainer: Explainer | ExplainConnectionOptions;
  /** A query is slow when `durationMs >= thresholdMs` (default 100). */
  thresholdMs?: number;
  /** Explains started per second (default 1). */
  explainsPerSecond?: number;
  /** Explains that may start at once after a quiet period (default 1). */
  explainBurst?: number;
  /** Pending explains beyond this are dropped (default 20). */
  maxPendingExplains?: number;
  /** A fingerprint's plan is captured again when older than this (default 10 minutes); also the retry delay after a failed explain. */
  reexplainAfterMs?: number;
  /** Fingerprints tracked; the least recently seen is forgotten beyond this (default 500). */
  maxFingerprints?: number;
  /** Plans whose JSON is larger than this keep only their summary (default 256 KiB). */
  maxPlanJsonChars?: number;
  /** Called (never awaited, errors swallowed) after each plan capture, e.g. to feed the index advisor. */
  onPlanCaptured?: (query: PlannedQuery) => void;
  /** Epoch milliseconds (default `Date.now`). */
  now?: () => number;
  scheduler?: Scheduler;
}

export interface CapturedPlan {
  /** The `EXPLAIN (FORMAT JSON, VERBOSE)` output, or null when it was larger than `maxPlanJsonChars`. */
  json: unknown;
  totalCost: number;
  summary: PlanSummary;
  /** True when explained as a generic plan (no captured values). */
  generic: boolean;
  capturedAt: number;
}

/** One slow query shape, as the dashboard shows it (no parameter values: they may hold user data). */
export interface SlowQuery {
  fingerprint: string;
  /** The SQL of the slowest occurrence. */
  exampleSql: string;
  operation: string;
  /** Up to 5 distinct routes it ran in. */
  routes: string[];
  count: number;
  maxDurationMs: number;
  meanDurationMs: number;
  totalDurationMs: number;
  firstSeenAt: number;
  lastSeenAt: number;
  plan: CapturedPlan | null;
  /** Why the last explain failed, when it did. */
  explainError: string | null;
  lastExplainAttemptAt: number | null;
}

/** A slow query with a plan and the statement that produced it: the index advisor's input. */
export interface PlannedQuery {
  fingerprint: string;
  sql: string;
  parameters: readonly unknown[];
  plan: CapturedPlan;
  /** Root of the captured plan (also inside `plan.json` unless it was dropped for size). */
  root: PlanNode;
}

export interface SlowQueryAnalyzerStats {
  tracked: number;
  slowSamples: number;
  explainsQueued: number;
  explainsStarted: number;
  explainsSucceeded: number;
  explainsFailed: number;
  /** Explains dropped because the pending queue was full. */
  explainsDropped: number;
  /** Samples whose statement EXPLAIN cannot take (e.g. DDL, COPY): recorded, never explained. */
  notExplainable: number;
  pendingExplains: number;
  evictedFingerprints: number;
}

interface Entry {
  record: SlowQuery;
  sql: string;
  parameters: readonly unknown[];
  root: PlanNode | null;
  /** The statement the current plan was captured from. */
  planned: { sql: string; parameters: readonly unknown[] } | null;
  /** An explain for it is queued or running. */
  explaining: boolean;
}

const MAX_ROUTES = 5;

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class SlowQueryAnalyzer {
  readonly thresholdMs: number;
  private readonly explainer: Explainer;
  private readonly ownsExplainer: ExplainConnection | null;
  private readonly bucket: TokenBucket;
  private readonly maxPending: number;
  private readonly reexplainAfterMs: number;
  private readonly maxFingerprints: number;
  private readonly maxPlanJsonChars: number;
  private readonly now: () => number;
  private readonly scheduler: Scheduler;
  private readonly onPlanCaptured: ((query: PlannedQuery) => void) | undefined;

  /** Insertion order = least recently seen first. */
  private readonly entries = new Map<string, Entry>();
  private readonly queue: string[] = [];
  private running = 0;
  private wakeHandle: unknown = null;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly counters = {
    slowSamples: 0,
    explainsQueued: 0,
    explainsStarted: 0,
    explainsSucceeded: 0,
    explainsFailed: 0,
    explainsDropped: 0,
    notExplainable: 0,
    evictedFingerprints: 0,
  };

  constructor(options: SlowQueryAnalyzerOptions) {
    const explainer = options.explainer;
    if (typeof (explainer as Partial<Explainer>).explain === 'function') {
      this.explainer = explainer as Explainer;
      this.ownsExplainer = null;
    } else {
      const owned = new ExplainConnection(explainer as ExplainConnectionOptions);
      this.explainer = owned;
      this.ownsExplainer = owned;
    }
    this.thresholdMs = options.thresholdMs !== undefined && options.thresholdMs >= 0 ? options.thresholdMs : 100;
    this.now = options.now ?? systemNow;
    this.scheduler = options.scheduler ?? systemScheduler;
    this.bucket = new TokenBucket(positive(options.explainsPerSecond, 1), Math.floor(positive(options.explainBurst, 1)) || 1, this.now);
    this.maxPending = Math.floor(positive(options.maxPendingExplains, 20));
    this.reexplainAfterMs = positive(options.reexplainAfterMs, 10 * 60_000);
    this.maxFingerprints = Math.floor(positive(options.maxFingerprints, 500));
    this.maxPlanJsonChars = positive(options.maxPlanJsonChars, 256 * 1024);
    this.onPlanCaptured = options.onPlanCaptured;
  }

  /** Hot path: records a slow sample and maybe queues an explain. Never throws, never waits. */
  consider(sample: QuerySample): void {
    try {
      if (this.closed || !(sample.durationMs >= this.thresholdMs)) return;
      this.counters.slowSamples++;
      const entry = this.record(sample);
      this.maybeQueueExplain(entry);
    } catch {
      // A monitor must never break the query it watches.
    }
  }

  /** Slow queries, slowest mean first. */
  slowQueries(): SlowQuery[] {
    return [...this.entries.values()]
      .map((e) => ({ ...e.record, routes: [...e.record.routes] }))
      .sort((a, b) => b.meanDurationMs - a.meanDurationMs);
  }

  get(fingerprint: string): SlowQuery | undefined {
    const entry = this.entries.get(fingerprint);
    return entry === undefined ? undefined : { ...entry.record, routes: [...entry.record.routes] };
  }

  /** The slow queries that have a plan, with the statement and values to explain them again. */
  plannedQueries(): PlannedQuery[] {
    const planned: PlannedQuery[] = [];
    for (const entry of this.entries.values()) {
      const query = this.planned(entry);
      if (query !== null) planned.push(query);
    }
    return planned;
  }

  stats(): SlowQueryAnalyzerStats {
    return { ...this.counters, tracked: this.entries.size, pendingExplains: this.queue.length };
  }

  /**
   * Resolves when no explain is running and none can start without time passing: the queue is
   * empty, or waiting for a token. (With a fake clock this is the point to advance it.)
   */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops explaining, drops the pending queue, waits for a running explain, closes an owned connection. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    if (this.wakeHandle !== null) this.scheduler.cancel(this.wakeHandle);
    this.wakeHandle = null;
    await this.idle();
    if (this.ownsExplainer !== null) await this.ownsExplainer.close().catch(() => undefined);
  }

  private record(sample: QuerySample): Entry {
    const at = Number.isFinite(sample.startedAt) ? sample.startedAt : this.now();
    let entry = this.entries.get(sample.fingerprint);
    if (entry === undefined) {
      entry = {
        record: {
          fingerprint: sample.fingerprint,
          exampleSql: sample.sql,
          operation: sample.operation,
          routes: [],
          count: 0,
          maxDurationMs: sample.durationMs,
          meanDurationMs: 0,
          totalDurationMs: 0,
          firstSeenAt: at,
          lastSeenAt: at,
          plan: null,
          explainError: null,
          lastExplainAttemptAt: null,
        },
        sql: sample.sql,
        parameters: [...sample.parameters],
        root: null,
        planned: null,
        explaining: false,
      };
      this.entries.set(sample.fingerprint, entry);
      this.evictBeyondLimit();
    } else {
      // Most recently seen goes last.
      this.entries.delete(sample.fingerprint);
      this.entries.set(sample.fingerprint, entry);
    }
    const record = entry.record;
    record.count++;
    record.totalDurationMs += sample.durationMs;
    record.meanDurationMs = record.totalDurationMs / record.count;
    record.lastSeenAt = Math.max(record.lastSeenAt, at);
    if (sample.durationMs >= record.maxDurationMs) {
      // The slowest occurrence is the example (and what a later re-explain uses).
      record.maxDurationMs = sample.durationMs;
      record.exampleSql = sample.sql;
      entry.sql = sample.sql;
      entry.parameters = [...sample.parameters];
    }
    if (sample.route !== null && !record.routes.includes(sample.route) && record.routes.length < MAX_ROUTES) {
      record.routes.push(sample.route);
    }
    return entry;
  }

  private evictBeyondLimit(): void {
    while (this.entries.size > this.maxFingerprints) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) return;
      this.entries.delete(oldest);
      this.counters.evictedFingerprints++;
      // A queued explain for it is skipped when its turn comes.
    }
  }

  private maybeQueueExplain(entry: Entry): void {
    if (entry.explaining) return;
    const record = entry.record;
    if (explainableKind(entry.sql) === null) {
      if (record.explainError === null) this.counters.notExplainable++;
      record.explainError = 'not an explainable statement';
      return;
    }
    const now = this.now();
    const lastAttempt = record.lastExplainAttemptAt;
    if (lastAttempt !== null && now - lastAttempt < this.reexplainAfterMs) return;
    if (this.queue.includes(record.fingerprint)) {
      // Forgotten and seen again while its explain was still queued.
      entry.explaining = true;
      return;
    }
    if (this.queue.length >= this.maxPending) {
      this.counters.explainsDropped++;
      return;
    }
    entry.explaining = true;
    this.queue.push(record.fingerprint);
    this.counters.explainsQueued++;
    this.pump();
  }

  private pump(): void {
    try {
      while (!this.closed && this.running === 0 && this.queue.length > 0) {
        if (!this.bucket.tryTake()) {
          this.scheduleWake(this.bucket.msUntilNext());
          break;
        }
        const fingerprint = this.queue.shift()!;
        const entry = this.entries.get(fingerprint);
        if (entry === undefined) continue; // evicted meanwhile; the token is spent, which only slows us down
        this.start(entry);
      }
    } finally {
      this.notifyIfIdle();
    }
  }

  private scheduleWake(ms: number): void {
    if (this.wakeHandle !== null) return;
    this.wakeHandle = this.scheduler.schedule(() => {
      this.wakeHandle = null;
      this.pump();
    }, Math.max(1, ms));
  }

  private start(entry: Entry): void {
    this.running++;
    this.counters.explainsStarted++;
    const record = entry.record;
    const statement = { sql: entry.sql, parameters: entry.parameters };
    record.lastExplainAttemptAt = this.now();
    let explained: Promise<void>;
    try {
      explained = this.explainer.explain(statement).then((result) => {
        const summary = summarizePlan(result.root);
        const tooBig = JSON.stringify(result.json).length > this.maxPlanJsonChars;
        record.plan = {
          json: tooBig ? null : result.json,
          totalCost: result.totalCost,
          summary,
          generic: result.generic,
          capturedAt: this.now(),
        };
        record.explainError = null;
        entry.root = result.root;
        entry.planned = statement;
        this.counters.explainsSucceeded++;
        const planned = this.planned(entry);
        if (planned !== null && this.onPlanCaptured !== undefined) {
          try {
            this.onPlanCaptured(planned);
          } catch {
            // the listener's problem, not the query's
          }
        }
      });
    } catch (error) {
      explained = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    explained
      .catch((error: unknown) => {
        record.explainError = message(error);
        this.counters.explainsFailed++;
      })
      .finally(() => {
        entry.explaining = false;
        this.running--;
        this.pump();
      })
      .catch(() => undefined);
  }

  private planned(entry: Entry): PlannedQuery | null {
    const plan = entry.record.plan;
    if (plan === null || entry.root === null || entry.planned === null) return null;
    const { sql, parameters } = entry.planned;
    return { fingerprint: entry.record.fingerprint, sql, parameters, plan, root: entry.root };
  }

  private isIdle(): boolean {
    return this.running === 0 && (this.queue.length === 0 || this.closed || this.wakeHandle !== null);
  }

  private notifyIfIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
