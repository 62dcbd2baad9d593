import { positiveInt } from './option-checks.js';
import type { MonitorRequestContext, MonitorRequestState } from './request-context.js';

/** One request that ran one query shape `threshold` times or more. */
export interface NPlusOneFinding {
  /** `METHOD route`, e.g. `GET /v1/items/:id`. */
  route: string;
  fingerprint: string;
  operation: string;
  count: number;
  /** Time those queries took together, in ms. */
  totalMs: number;
  exampleSql: string;
  /** Epoch ms of the first and the last of those queries (their starts). */
  firstSeenAt: number;
  lastSeenAt: number;
  requestId: string | null;
}

/** One (route, fingerprint) pair over all the requests that repeated it. */
export interface NPlusOneAggregate {
  route: string;
  fingerprint: string;
  operation: string;
  exampleSql: string;
  /** Requests in which it crossed the threshold. */
  occurrences: number;
  maxCount: number;
  lastCount: number;
  /** Queries over all those requests. */
  totalCount: number;
  totalMs: number;
  firstSeenAt: number;
  lastSeenAt: number;
}

export interface NPlusOneOptions {
  /** Executions of one fingerprint in one request that make a finding (Sentry's N+1 rule uses 5). Default 5. */
  threshold?: number;
  /** (route, fingerprint) pairs remembered; the least recently seen goes first. Default 200. */
  maxFindings?: number;
  /**
   * Operations never reported: transaction control and session statements repeat per unit of work
   * by design (a route saving 5 rows in 5 transactions is not an N+1 of `BEGIN`). Default:
   * `BEGIN START COMMIT END ROLLBACK SAVEPOINT RELEASE SET RESET SHOW DISCARD`.
   */
  ignoreOperations?: readonly string[];
}

const DEFAULT_IGNORED = ['BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'SET', 'RESET', 'SHOW', 'DISCARD'];

/**
 * Detects N+1 query patterns: at the end of a request, every fingerprint run `threshold`+ times in
 * it is a finding, reported to `onFinding` listeners and aggregated per (route, fingerprint) in a
 * bounded table.
 */
export class NPlusOneDetector {
  private readonly threshold: number;
  private readonly maxFindings: number;
  private readonly ignored: ReadonlySet<string>;
  /** Insertion order = recency (re-inserted on every occurrence). */
  private readonly aggregates = new Map<string, NPlusOneAggregate>();
  private readonly listeners = new Set<(finding: NPlusOneFinding) => void>();
  private evictedCount = 0;

  constructor(options: NPlusOneOptions = {}) {
    this.threshold = positiveInt(options.threshold, 5, 'threshold');
    this.maxFindings = positiveInt(options.maxFindings, 200, 'maxFindings');
    this.ignored = new Set((options.ignoreOperations ?? DEFAULT_IGNORED).map((op) => op.toUpperCase()));
  }

  /** Analyses every request the context finishes; returns the unsubscribe function. */
  attach(context: MonitorRequestContext): () => void {
    return context.onFinish((request) => {
      this.analyze(request);
    });
  }

  /** The findings of one request (also aggregated and sent to listeners). Call once per request, at its end. */
  analyze(request: MonitorRequestState): NPlusOneFinding[] {
    const findings: NPlusOneFinding[] = [];
    for (const tally of request.tallies()) {
      if (tally.count < this.threshold || this.ignored.has(tally.operation)) continue;
      const finding: NPlusOneFinding = {
        route: request.name,
        fingerprint: tally.fingerprint,
        operation: tally.operation,
        count: tally.count,
        totalMs: tally.totalMs,
        exampleSql: tally.exampleSql,
        firstSeenAt: tally.firstSeenAt,
        lastSeenAt: tally.lastSeenAt,
        requestId: request.requestId ?? null,
      };
      findings.push(finding);
      this.aggregate(finding);
      for (const listener of this.listeners) {
        try {
          listener(finding);
        } catch {
          // A listener must not stop the others or the request's end.
        }
      }
    }
    return findings;
  }

  /** Called with every new finding; returns the unsubscribe function. */
  onFinding(listener: (finding: NPlusOneFinding) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Every remembered (route, fingerprint) pair, most recently seen first. */
  findings(): NPlusOneAggregate[] {
    return [...this.aggregates.values()].reverse().map((aggregate) => ({ ...aggregate }));
  }

  get size(): number {
    return this.aggregates.size;
  }

  /** Pairs dropped to keep within `maxFindings`. */
  get evicted(): number {
    return this.evictedCount;
  }

  reset(): void {
    this.aggregates.clear();
    this.evictedCount = 0;
  }

  private aggregate(finding: NPlusOneFinding): void {
    const key = `${finding.route}\u0000${finding.fingerprint}`;
    const existing = this.aggregates.get(key);
    if (existing !== undefined) {
      this.aggregates.delete(key);
      existing.occurrences++;
      existing.maxCount = Math.max(existing.maxCount, finding.count);
      existing.lastCount = finding.count;
      existing.totalCount += finding.count;
      existing.totalMs += finding.totalMs;
      existing.lastSeenAt = Math.max(existing.lastSeenAt, finding.lastSeenAt);
      this.aggregates.set(key, existing);
      return;
    }
    this.aggregates.set(key, {
      route: finding.route,
      fingerprint: finding.fingerprint,
      operation: finding.operation,
      exampleSql: finding.exampleSql,
      occurrences: 1,
      maxCount: finding.count,
      lastCount: finding.count,
      totalCount: finding.count,
      totalMs: finding.totalMs,
      firstSeenAt: finding.firstSeenAt,
      lastSeenAt: finding.lastSeenAt,
    });
    while (this.aggregates.size > this.maxFindings) {
      const oldest = this.aggregates.keys().next();
      if (oldest.done === true) break;
      this.aggregates.delete(oldest.value);
      this.evictedCount++;
    }
  }
}
