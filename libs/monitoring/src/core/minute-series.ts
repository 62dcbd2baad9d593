import { LatencyHistogram } from '../queries/query-stats.js';

/** One minute of one series, as kept for 24 hours. Durations in ms. */
export interface MinutePoint {
  /** Epoch ms of the minute's start. */
  minute: number;
  count: number;
  /** Events the series counts as errors (HTTP 5xx, failed queries, cache errors, failed tasks). */
  errors: number;
  sumMs: number;
  maxMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

const FIELDS = 8;
const MINUTE = 60_000;

/**
 * Per-minute aggregates of one timed series over a fixed window (24 h by default), in bounded
 * memory: the current minute feeds a {@link LatencyHistogram}; when the minute turns, its count,
 * errors, sum, max and p50/p95/p99 are written into a ring of `FIELDS × minutes` float64s
 * (≈ 92 kB for 24 h) and the histogram is reused. Minutes with no events cost nothing extra.
 */
export class MinuteSeries {
  private readonly ring: Float64Array;
  private current: LatencyHistogram = new LatencyHistogram();
  private currentMinute = -1;
  private currentErrors = 0;
  private currentSum = 0;
  /** The last `keepHistograms` finished minutes' histograms, newest last, for exact percentiles over a window. */
  private readonly recent: Array<{ minute: number; histogram: LatencyHistogram }> = [];

  /**
   * @param keepHistograms finished minutes whose full histogram is kept (2.4 kB each) so that
   * `quantileOver` is exact within ±2 % over that many minutes; 0 keeps none.
   */
  constructor(
    private readonly minutes = 24 * 60,
    private readonly keepHistograms = 0,
  ) {
    this.ring = new Float64Array(minutes * FIELDS).fill(Number.NaN);
  }

  /**
   * Quantile `q` of every event in the minutes overlapping `[now - sinceMs, now]`, merged from the
   * kept histograms (±2 %), with their count; minutes older than the kept ones are not included.
   */
  quantileOver(now: number, sinceMs: number, q: number): { value: number; count: number } {
    this.roll(now);
    const first = Math.floor((now - sinceMs) / MINUTE) * MINUTE;
    const merged = new LatencyHistogram();
    for (const { minute, histogram } of this.recent) if (minute >= first && minute <= now) merged.merge(histogram);
    if (this.currentMinute >= first && this.currentMinute <= now) merged.merge(this.current);
    return { value: merged.quantile(q), count: merged.count };
  }

  /**
   * Records one event that took `ms` at epoch `now`. An unusable duration (NaN, ±Infinity, negative)
   * counts as a 0 ms event, so it still counts (and as an error) without poisoning the sum.
   * An event older than the running minute (the clock stepped back, or a late report) is counted in
   * the running minute: the finished minutes are summaries and cannot take it any more.
   */
  record(now: number, ms: number, error = false): void {
    this.roll(now);
    const duration = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.current.record(duration);
    this.currentSum += duration;
    if (error) this.currentErrors++;
  }

  /**
   * Every minute with events that overlaps `[now - sinceMs, now]` (at most the retention), oldest
   * first, the running minute included when it is not after `now`.
   */
  points(now: number, sinceMs: number): MinutePoint[] {
    this.roll(now);
    const thisMinute = Math.floor(now / MINUTE) * MINUTE;
    const first = Math.max(thisMinute - (this.minutes - 1) * MINUTE, Math.floor((now - sinceMs) / MINUTE) * MINUTE);
    const out: MinutePoint[] = [];
    for (let minute = first; minute <= thisMinute; minute += MINUTE) {
      // The running minute is read live (its ring copy, if any, is a stale flush); when the clock has
      // stepped back, the running minute is after `thisMinute` and every minute here is in the ring.
      const point = minute === this.currentMinute ? (this.current.count > 0 ? this.summarise(minute) : null) : this.read(minute);
      if (point !== null) out.push(point);
    }
    return out;
  }

  private slot(minute: number): number {
    return ((minute / MINUTE) % this.minutes) * FIELDS;
  }

  private read(minute: number): MinutePoint | null {
    const at = this.slot(minute);
    if (this.ring[at] !== minute) return null;
    const r = this.ring;
    return {
      minute,
      count: r[at + 1] ?? 0,
      errors: r[at + 2] ?? 0,
      sumMs: r[at + 3] ?? 0,
      maxMs: r[at + 4] ?? 0,
      p50Ms: r[at + 5] ?? 0,
      p95Ms: r[at + 6] ?? 0,
      p99Ms: r[at + 7] ?? 0,
    };
  }

  private summarise(minute: number): MinutePoint {
    const h = this.current;
    return {
      minute,
      count: h.count,
      errors: this.currentErrors,
      sumMs: this.currentSum,
      maxMs: h.max,
      p50Ms: h.quantile(0.5),
      p95Ms: h.quantile(0.95),
      p99Ms: h.quantile(0.99),
    };
  }

  /** Moves the running minute into the ring when `now` is in a later minute. */
  private roll(now: number): void {
    const minute = Math.floor(now / MINUTE) * MINUTE;
    if (minute === this.currentMinute) return;
    if (this.currentMinute >= 0 && this.current.count > 0) {
      const p = this.summarise(this.currentMinute);
      this.ring.set([p.minute, p.count, p.errors, p.sumMs, p.maxMs, p.p50Ms, p.p95Ms, p.p99Ms], this.slot(p.minute));
      if (this.keepHistograms > 0 && minute > this.currentMinute) {
        this.recent.push({ minute: this.currentMinute, histogram: this.current });
        while (this.recent.length > this.keepHistograms) this.recent.shift();
      }
    }
    if (minute > this.currentMinute) {
      this.currentMinute = minute;
      this.current = new LatencyHistogram();
      this.currentErrors = 0;
      this.currentSum = 0;
    }
  }
}

/** Per-minute counts of named outcomes (cache hits/misses, task events), 24 h in bounded memory. */
export class MinuteCounter {
  private readonly ring: Float64Array;
  /** The newest minute with events and its slot: the fast path of `add`. */
  private runningStart = Number.NEGATIVE_INFINITY;
  private runningAt = 0;

  constructor(private readonly minutes = 24 * 60) {
    this.ring = new Float64Array(minutes * 2).fill(Number.NaN);
  }

  add(now: number, n = 1): void {
    // Most events land in the same minute as the one before: one comparison, one addition.
    if (now >= this.runningStart && now < this.runningStart + MINUTE) {
      this.ring[this.runningAt + 1] = (this.ring[this.runningAt + 1] ?? 0) + n;
      return;
    }
    const minute = Math.floor(now / MINUTE) * MINUTE;
    const at = ((minute / MINUTE) % this.minutes) * 2;
    const held = this.ring[at] ?? Number.NaN;
    // The slot holds a newer minute: this event is older than the retention (clock stepped back).
    if (held > minute) return;
    if (held !== minute) {
      this.ring[at] = minute;
      this.ring[at + 1] = 0;
    }
    this.ring[at + 1] = (this.ring[at + 1] ?? 0) + n;
    // Only the newest minute is the running one: an event in an older minute (a stepped-back clock)
    // keeps the fast path on the newer minute it had.
    if (minute > this.runningStart) {
      this.runningStart = minute;
      this.runningAt = at;
    }
  }

  /** Sum over the minutes that overlap `[now - sinceMs, now]` (the running minute included). */
  sum(now: number, sinceMs: number): number {
    let total = 0;
    for (const p of this.points(now, sinceMs)) total += p.count;
    return total;
  }

  /** The minutes with counts that overlap `[now - sinceMs, now]` (at most the retention), oldest first. */
  points(now: number, sinceMs: number): Array<{ minute: number; count: number }> {
    const thisMinute = Math.floor(now / MINUTE) * MINUTE;
    const first = Math.max(thisMinute - (this.minutes - 1) * MINUTE, Math.floor((now - sinceMs) / MINUTE) * MINUTE);
    const out: Array<{ minute: number; count: number }> = [];
    for (let minute = first; minute <= thisMinute; minute += MINUTE) {
      const at = ((minute / MINUTE) % this.minutes) * 2;
      if (this.ring[at] === minute) out.push({ minute, count: this.ring[at + 1] ?? 0 });
    }
    return out;
  }
}
