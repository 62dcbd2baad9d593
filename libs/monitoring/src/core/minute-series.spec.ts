import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../queries/query-stats.js';
import { MinuteCounter, MinuteSeries, type MinutePoint } from './minute-series.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A minute-aligned epoch (2024-01-01T00:00:00Z), so `at(m, s)` is minute `m`, second `s`. */
const T0 = Date.UTC(2024, 0, 1);

function at(minute: number, seconds = 0): number {
  return T0 + minute * MINUTE + seconds * 1_000;
}

/** Nearest-rank quantile, as `LatencyHistogram` defines it. */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] ?? Number.NaN;
}

function expectWithin(actual: number, exact: number, relative = LatencyHistogram.RELATIVE_ERROR): void {
  expect(Math.abs(actual - exact) / exact).toBeLessThanOrEqual(relative + 1e-9);
}

function minutesOf(points: ReadonlyArray<{ minute: number }>): number[] {
  return points.map((p) => (p.minute - T0) / MINUTE);
}

describe('MinuteSeries', () => {
  it('summarises the events of one minute: count, errors, sum, max and p50/p95/p99 within ±2 %', () => {
    const series = new MinuteSeries();
    // A skewed distribution: 1 000 values from 0.5 ms to ≈ 1.2 s, recorded in a shuffled order.
    const values = Array.from({ length: 1_000 }, (_, i) => 0.5 * 1.008 ** i);
    const shuffled = values.map((v, i) => ({ v, key: (i * 7_919) % 1_000 })).sort((a, b) => a.key - b.key);
    shuffled.forEach(({ v }, i) => series.record(at(7, i * 0.05), v, i % 10 === 0));

    const points = series.points(at(7, 59.999), MINUTE);
    expect(points).toHaveLength(1);
    const [p] = points as [MinutePoint];
    const sorted = [...values].sort((a, b) => a - b);
    expect(p.minute).toBe(at(7));
    expect(p.count).toBe(1_000);
    expect(p.errors).toBe(100);
    expect(p.sumMs).toBeCloseTo(values.reduce((a, b) => a + b, 0), 6);
    expect(p.maxMs).toBe(sorted.at(-1));
    expectWithin(p.p50Ms, exactQuantile(sorted, 0.5));
    expectWithin(p.p95Ms, exactQuantile(sorted, 0.95));
    expectWithin(p.p99Ms, exactQuantile(sorted, 0.99));
    // Order holds, and the three are really different quantiles (not one value three times).
    expect(p.p50Ms).toBeLessThan(p.p95Ms);
    expect(p.p95Ms).toBeLessThan(p.p99Ms);
    expect(p.p99Ms).toBeLessThanOrEqual(p.maxMs);
  });

  it('moves the running minute into the ring when the minute turns, and starts the next one empty', () => {
    const series = new MinuteSeries();
    for (let i = 1; i <= 100; i++) series.record(at(3, i * 0.5), i, i > 95);
    series.record(at(4, 1), 1_000, false);

    const [finished, running] = series.points(at(4, 2), 10 * MINUTE) as [MinutePoint, MinutePoint];
    expect(finished).toMatchObject({ minute: at(3), count: 100, errors: 5, sumMs: 5_050, maxMs: 100 });
    expectWithin(finished.p95Ms, 95);
    expectWithin(finished.p99Ms, 99);
    // The new minute's histogram holds only its own event.
    expect(running).toMatchObject({ minute: at(4), count: 1, errors: 0, sumMs: 1_000, maxMs: 1_000 });
    expect(running.p50Ms).toBe(1_000);

    // A read in a later minute rolls too, without any new event; the finished minutes keep their values.
    expect(series.points(at(9, 30), 10 * MINUTE)).toEqual([finished, running]);
  });

  it('returns the minutes overlapping the window oldest first, skipping empty ones, the running one included', () => {
    const series = new MinuteSeries();
    for (const m of [0, 2, 5]) series.record(at(m, 10), m + 1);

    expect(minutesOf(series.points(at(5, 30), 10 * MINUTE))).toEqual([0, 2, 5]);
    // [2:30, 5:30] overlaps minutes 2..5.
    expect(minutesOf(series.points(at(5, 30), 3 * MINUTE))).toEqual([2, 5]);
    // [3:00, 5:30] overlaps minutes 3..5.
    expect(minutesOf(series.points(at(5, 30), 2.5 * MINUTE))).toEqual([5]);
    // On a boundary: [2:00, 5:00] still overlaps minute 2.
    expect(minutesOf(series.points(at(5, 0), 3 * MINUTE))).toEqual([2, 5]);
    expect(series.points(at(5, 30), 3 * MINUTE).map((p) => p.maxMs)).toEqual([3, 6]);
    // Nothing recorded in the running minute: only finished ones.
    expect(minutesOf(series.points(at(6, 30), 10 * MINUTE))).toEqual([0, 2, 5]);
  });

  it('returns nothing before the first event', () => {
    expect(new MinuteSeries().points(at(0), DAY)).toEqual([]);
  });

  it('forgets minutes older than its retention, even when their slot has not been reused', () => {
    const series = new MinuteSeries(60);
    series.record(at(2, 0), 5);
    series.record(at(61, 0), 9);

    // Retention 60 minutes at 61:30: minutes 2..61.
    expect(minutesOf(series.points(at(61, 30), DAY))).toEqual([2, 61]);
    // One minute later, minute 2 is out, although nothing overwrote its slot.
    expect(minutesOf(series.points(at(62, 30), DAY))).toEqual([61]);
  });

  it('does not return a minute from a slot reused a whole ring later (wraparound)', () => {
    const series = new MinuteSeries(60);
    series.record(at(3, 1), 5, true);
    series.record(at(3, 2), 6);
    // Exactly one ring later, minute 63 lands in minute 3's slot.
    series.record(at(63, 1), 42);
    series.record(at(64, 1), 1);

    const points = series.points(at(64, 30), DAY);
    expect(points.map((p) => ({ minute: (p.minute - T0) / MINUTE, count: p.count, errors: p.errors, maxMs: p.maxMs }))).toEqual([
      { minute: 63, count: 1, errors: 0, maxMs: 42 },
      { minute: 64, count: 1, errors: 0, maxMs: 1 },
    ]);
  });

  it('returns nothing after a silent day: stale slots whose minute is a ring earlier are not reported', () => {
    const series = new MinuteSeries();
    for (let m = 0; m < 30; m++) series.record(at(m, 5), 10 + m);
    // The ring still holds minutes 0..29; a day later they sit exactly in the slots of minutes 1440..1469.
    expect(series.points(at(1_440 + 29, 59), DAY)).toEqual([]);
    expect(series.points(at(1_440 + 29, 59), 30 * MINUTE)).toEqual([]);
    // New data a day later comes back alone, with its own values.
    series.record(at(1_440 + 30, 0), 7);
    series.record(at(1_440 + 35, 0), 8);
    const points = series.points(at(1_440 + 35, 1), DAY);
    expect(points.map((p) => [(p.minute - T0) / MINUTE, p.count, p.maxMs])).toEqual([
      [1_470, 1, 7],
      [1_475, 1, 8],
    ]);
  });

  it('keeps the last retention minutes exactly when every minute has data (24 h default)', () => {
    const series = new MinuteSeries();
    for (let m = 0; m < 1_440 + 100; m++) series.record(at(m, 30), m);
    const points = series.points(at(1_539, 31), 2 * DAY);
    expect(points).toHaveLength(1_440);
    expect(minutesOf(points.slice(0, 1))).toEqual([100]);
    expect(minutesOf(points.slice(-1))).toEqual([1_539]);
    expect(points.every((p, i) => p.count === 1 && p.maxMs === 100 + i && p.minute === at(100 + i))).toBe(true);
  });

  it('survives a clock going backwards: no mislabelled minute, no lost or duplicated event', () => {
    const series = new MinuteSeries();
    series.record(at(4, 30), 40);
    series.record(at(5, 10), 10);
    // The clock steps back 20 s, into minute 4.
    series.record(at(4, 50), 20);

    // Read at the stepped-back time: minute 4 is minute 4's own event; minute 5 is not "now" yet.
    const back = series.points(at(4, 50), 10 * MINUTE);
    expect(back.map((p) => ({ minute: (p.minute - T0) / MINUTE, count: p.count, maxMs: p.maxMs }))).toEqual([{ minute: 4, count: 1, maxMs: 40 }]);

    // Once the clock is forward again, every event is there once: the late one in the running minute.
    series.record(at(5, 20), 5);
    const forward = series.points(at(5, 30), 10 * MINUTE);
    expect(forward.map((p) => ({ minute: (p.minute - T0) / MINUTE, count: p.count, sumMs: p.sumMs, maxMs: p.maxMs }))).toEqual([
      { minute: 4, count: 1, sumMs: 40, maxMs: 40 },
      { minute: 5, count: 3, sumMs: 35, maxMs: 20 },
    ]);
    series.record(at(6, 0), 1);
    expect(series.points(at(6, 0), 10 * MINUTE).map((p) => p.count)).toEqual([1, 3, 1]);
    for (const p of series.points(at(6, 0), 10 * MINUTE)) {
      for (const v of Object.values(p)) expect(Number.isFinite(v)).toBe(true);
    }
  });

  it('counts an event with an unusable duration (NaN, negative, infinite) as 0 ms instead of poisoning the sum', () => {
    const series = new MinuteSeries();
    series.record(at(1, 1), 10);
    series.record(at(1, 2), Number.NaN, true);
    series.record(at(1, 3), -5);
    series.record(at(1, 4), Number.POSITIVE_INFINITY);
    const [p] = series.points(at(1, 5), MINUTE) as [MinutePoint];
    expect(p).toMatchObject({ count: 4, errors: 1, sumMs: 10, maxMs: 10 });
    expect(p.errors).toBeLessThanOrEqual(p.count);
  });
});

describe('MinuteCounter', () => {
  it('adds per minute and answers points (oldest first, empty minutes skipped) and sums', () => {
    const counter = new MinuteCounter();
    counter.add(at(0, 1));
    counter.add(at(0, 59.999));
    counter.add(at(1, 0), 5);
    counter.add(at(3, 10), 2);

    expect(counter.points(at(3, 30), 10 * MINUTE)).toEqual([
      { minute: at(0), count: 2 },
      { minute: at(1), count: 5 },
      { minute: at(3), count: 2 },
    ]);
    expect(counter.sum(at(3, 30), 10 * MINUTE)).toBe(9);
    expect(counter.sum(at(3, 30), 2 * MINUTE)).toBe(7); // [1:30, 3:30] overlaps minutes 1..3
    expect(counter.sum(at(3, 30), MINUTE)).toBe(2); // [2:30, 3:30]: minutes 2..3
    expect(counter.sum(at(3, 0), 2 * MINUTE)).toBe(7); // boundary: [1:00, 3:00] still overlaps minute 1
    expect(counter.sum(at(3, 0), 1.5 * MINUTE)).toBe(7); // [1:30, 3:00]: overlaps minute 1 too
    expect(counter.sum(at(3, 0), 0.5 * MINUTE)).toBe(2); // [2:30, 3:00]: minutes 2..3
  });

  it('starts from zero in a slot reused a ring later (wraparound), and forgets minutes past retention', () => {
    const counter = new MinuteCounter(60);
    counter.add(at(5, 0), 3);
    expect(counter.sum(at(5, 1), DAY)).toBe(3);
    counter.add(at(65, 0));
    expect(counter.points(at(65, 1), DAY)).toEqual([{ minute: at(65), count: 1 }]);

    const other = new MinuteCounter(60);
    other.add(at(5, 0), 3);
    // Minute 5 is inside the retention at 64:59 and out of it at 65:00, slot untouched either way.
    expect(other.sum(at(64, 59), DAY)).toBe(3);
    expect(other.sum(at(65, 0), DAY)).toBe(0);
    // A whole ring later, the stale minute must not appear as the new minute of its slot.
    expect(other.points(at(125, 30), DAY)).toEqual([]);
  });

  it('keeps exactly the last retention minutes when every minute has counts', () => {
    const counter = new MinuteCounter(60);
    for (let m = 0; m < 120; m++) counter.add(at(m, 0), m);
    const points = counter.points(at(119, 30), DAY);
    expect(points).toHaveLength(60);
    expect(points[0]).toEqual({ minute: at(60), count: 60 });
    expect(points.at(-1)).toEqual({ minute: at(119), count: 119 });
    expect(counter.sum(at(119, 30), DAY)).toBe((60 + 119) * 30);
  });

  it('does not let an event from a ring earlier (clock stepped far back) overwrite the newer minute', () => {
    const counter = new MinuteCounter(60);
    counter.add(at(65, 0), 4);
    counter.add(at(5, 0), 100); // same slot, 60 minutes older than what it holds
    expect(counter.points(at(65, 30), DAY)).toEqual([{ minute: at(65), count: 4 }]);
    // A small step back lands in its own (older) minute and loses nothing.
    counter.add(at(64, 50), 2);
    expect(counter.points(at(65, 30), DAY)).toEqual([
      { minute: at(64), count: 2 },
      { minute: at(65), count: 4 },
    ]);
  });

  it('counts a run of events in the same minute, then a step back and forth around the minute, each in its own minute', () => {
    const counter = new MinuteCounter(60);
    for (let s = 0; s < 60; s++) counter.add(at(10, s));
    counter.add(at(11, 0)); // the first event of the next minute
    counter.add(at(10, 59.999)); // a late event of the previous one
    counter.add(at(11, 30), 3);
    expect(counter.points(at(11, 59), DAY)).toEqual([
      { minute: at(10), count: 61 },
      { minute: at(11), count: 4 },
    ]);
  });
});
