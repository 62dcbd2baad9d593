import { positiveInt } from './option-checks.js';
import type { QuerySample } from './query-sample.js';

/**
 * A log-bucketed latency histogram (the DDSketch mapping with a fixed range): bucket `i` holds
 * durations in (MIN·γ^(i-1), MIN·γ^i] and reports 2·MIN·γ^i/(γ+1), so any quantile between 1 µs and
 * ≈ 7 h is within ±2 % of a duration actually recorded. 600 `Uint32` buckets, 2.4 kB, allocated on
 * first use; recording is O(1), a quantile O(600). Shorter durations fall in the first bucket and
 * longer ones in the last; the exact min and max are kept separately and bound every answer.
 */
export class LatencyHistogram {
  static readonly RELATIVE_ERROR = 0.02;
  private static readonly GAMMA = (1 + LatencyHistogram.RELATIVE_ERROR) / (1 - LatencyHistogram.RELATIVE_ERROR);
  private static readonly LOG_GAMMA = Math.log(LatencyHistogram.GAMMA);
  private static readonly MIN_MS = 0.001;
  private static readonly BUCKETS = 600;

  private buckets: Uint32Array | undefined;
  count = 0;
  min = Infinity;
  max = -Infinity;

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.buckets ??= new Uint32Array(LatencyHistogram.BUCKETS);
    const index =
      ms <= LatencyHistogram.MIN_MS
        ? 0
        : Math.min(LatencyHistogram.BUCKETS - 1, Math.ceil(Math.log(ms / LatencyHistogram.MIN_MS) / LatencyHistogram.LOG_GAMMA));
    this.buckets[index]++;
    this.count++;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  /** Adds another histogram's events to this one (same buckets, so the ±2 % bound holds for the union). */
  merge(other: LatencyHistogram): void {
    if (other.count === 0 || other.buckets === undefined) return;
    this.buckets ??= new Uint32Array(LatencyHistogram.BUCKETS);
    for (let i = 0; i < other.buckets.length; i++) this.buckets[i] = (this.buckets[i] ?? 0) + (other.buckets[i] ?? 0);
    this.count += other.count;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  /** The nearest-rank quantile `q` (0..1) within ±2 %; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0 || this.buckets === undefined) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] ?? 0;
      if (seen >= rank) {
        // The last bucket is open-ended: its only honest answer is the max.
        if (i === this.buckets.length - 1) return this.max;
        const estimate = (2 * LatencyHistogram.MIN_MS * LatencyHistogram.GAMMA ** i) / (LatencyHistogram.GAMMA + 1);
        return Math.min(this.max, Math.max(this.min, estimate));
      }
    }
    return this.max;
  }
}

/** Aggregates of one query shape since it was first seen (or since the last `reset()`). */
export interface FingerprintStats {
  fingerprint: string;
  operation: string;
  tables: readonly string[];
  /** The first SQL text seen with this fingerprint, cut to `maxExampleSqlLength`. */
  exampleSql: string;
  calls: number;
  errors: number;
  totalMs: number;
  meanMs: number;
  /** Within ±2 % (see {@link LatencyHistogram}). */
  p95Ms: number;
  maxMs: number;
  /** Sum of rows returned or affected (queries whose driver did not say count 0). */
  rows: number;
  /** Epoch ms (the samples' `startedAt`). */
  firstSeenAt: number;
  lastSeenAt: number;
}

export type QueryStatsOrder = 'calls' | 'totalMs' | 'meanMs' | 'p95Ms' | 'maxMs' | 'rows' | 'errors' | 'lastSeenAt';

/** What evicted fingerprints had accumulated, so the overall totals stay exact. */
export interface EvictedTotals {
  fingerprints: number;
  calls: number;
  errors: number;
  totalMs: number;
  rows: number;
}

export interface QueryStatsTotals {
  fingerprints: number;
  calls: number;
  errors: number;
  totalMs: number;
  rows: number;
  evicted: EvictedTotals;
}

export interface QueryStatsOptions {
  /** Fingerprints tracked at once. Default 500. */
  maxFingerprints?: number;
  /** Example SQL kept per fingerprint is cut to this many characters. Default 2000. */
  maxExampleSqlLength?: number;
}

/** What `record` reads: a {@link QuerySample}, plus the capture's extras when present. */
export type QueryStatsInput = Pick<QuerySample, 'fingerprint' | 'sql' | 'durationMs' | 'rows' | 'operation' | 'startedAt'> & {
  failed?: boolean;
  tables?: readonly string[];
};

interface Entry {
  fingerprint: string;
  operation: string;
  tables: readonly string[];
  exampleSql: string;
  calls: number;
  errors: number;
  totalMs: number;
  rows: number;
  firstSeenAt: number;
  lastSeenAt: number;
  histogram: LatencyHistogram;
}

/**
 * Per-fingerprint aggregates with a hard cap on how many fingerprints are tracked (≈ 3 kB each, so
 * the default 500 stay under ≈ 1.5 MB plus example SQL).
 *
 * When the cap is reached, the least recently seen fingerprint is evicted and its counts folded into
 * `totals().evicted`. Not an "other" bucket: a mean or p95 over unrelated shapes means nothing, and
 * the shapes that fill the table are mostly one-offs (ad-hoc SQL, migrations) while the hot ones are
 * by definition recently seen, so LRU keeps what the dashboard needs at O(1) per sample.
 */
export class QueryStats {
  private readonly maxFingerprints: number;
  private readonly maxExampleSqlLength: number;
  /** Insertion order = recency: re-inserted on every sample, so the first key is the least recently seen. */
  private readonly entries = new Map<string, Entry>();
  private evicted: EvictedTotals = emptyEvicted();

  constructor(options: QueryStatsOptions = {}) {
    this.maxFingerprints = positiveInt(options.maxFingerprints, 500, 'maxFingerprints');
    this.maxExampleSqlLength = positiveInt(options.maxExampleSqlLength, 2000, 'maxExampleSqlLength');
  }

  get size(): number {
    return this.entries.size;
  }

  record(sample: QueryStatsInput): void {
    let entry = this.entries.get(sample.fingerprint);
    if (entry === undefined) {
      entry = {
        fingerprint: sample.fingerprint,
        operation: sample.operation,
        tables: sample.tables ?? [],
        exampleSql: sample.sql.length > this.maxExampleSqlLength ? sample.sql.slice(0, this.maxExampleSqlLength) : sample.sql,
        calls: 0,
        errors: 0,
        totalMs: 0,
        rows: 0,
        firstSeenAt: sample.startedAt,
        lastSeenAt: sample.startedAt,
        histogram: new LatencyHistogram(),
      };
      this.entries.set(sample.fingerprint, entry);
      while (this.entries.size > this.maxFingerprints) this.evictOldest();
    } else {
      this.entries.delete(sample.fingerprint);
      this.entries.set(sample.fingerprint, entry);
    }
    const ms = Number.isFinite(sample.durationMs) && sample.durationMs > 0 ? sample.durationMs : 0;
    entry.calls++;
    if (sample.failed === true) entry.errors++;
    entry.totalMs += ms;
    entry.rows += sample.rows ?? 0;
    entry.histogram.record(ms);
    if (sample.startedAt > entry.lastSeenAt) entry.lastSeenAt = sample.startedAt;
    if (sample.startedAt < entry.firstSeenAt) entry.firstSeenAt = sample.startedAt;
  }

  get(fingerprint: string): FingerprintStats | undefined {
    const entry = this.entries.get(fingerprint);
    return entry === undefined ? undefined : view(entry);
  }

  /** Every tracked fingerprint, most recently seen first. */
  all(): FingerprintStats[] {
    return [...this.entries.values()].reverse().map(view);
  }

  /** The `n` fingerprints with the highest `by` (default total time), highest first. */
  top(n: number, by: QueryStatsOrder = 'totalMs'): FingerprintStats[] {
    if (!(n > 0)) return [];
    return [...this.entries.values()]
      .map(view)
      .sort((a, b) => b[by] - a[by])
      .slice(0, n);
  }

  totals(): QueryStatsTotals {
    let calls = this.evicted.calls;
    let errors = this.evicted.errors;
    let totalMs = this.evicted.totalMs;
    let rows = this.evicted.rows;
    for (const entry of this.entries.values()) {
      calls += entry.calls;
      errors += entry.errors;
      totalMs += entry.totalMs;
      rows += entry.rows;
    }
    return { fingerprints: this.entries.size, calls, errors, totalMs, rows, evicted: { ...this.evicted } };
  }

  reset(): void {
    this.entries.clear();
    this.evicted = emptyEvicted();
  }

  private evictOldest(): void {
    const oldest = this.entries.values().next();
    if (oldest.done === true) return;
    const entry = oldest.value;
    this.entries.delete(entry.fingerprint);
    this.evicted.fingerprints++;
    this.evicted.calls += entry.calls;
    this.evicted.errors += entry.errors;
    this.evicted.totalMs += entry.totalMs;
    this.evicted.rows += entry.rows;
  }
}

function view(entry: Entry): FingerprintStats {
  return {
    fingerprint: entry.fingerprint,
    operation: entry.operation,
    tables: entry.tables,
    exampleSql: entry.exampleSql,
    calls: entry.calls,
    errors: entry.errors,
    totalMs: entry.totalMs,
    meanMs: entry.calls === 0 ? 0 : entry.totalMs / entry.calls,
    p95Ms: entry.histogram.quantile(0.95),
    maxMs: entry.histogram.max,
    rows: entry.rows,
    firstSeenAt: entry.firstSeenAt,
    lastSeenAt: entry.lastSeenAt,
  };
}

function emptyEvicted(): EvictedTotals {
  return { fingerprints: 0, calls: 0, errors: 0, totalMs: 0, rows: 0 };
}
