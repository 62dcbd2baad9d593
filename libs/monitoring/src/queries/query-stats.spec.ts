import { describe, expect, it } from 'vitest';
import { LatencyHistogram, QueryStats, type QueryStatsInput } from './query-stats.js';

function sample(overrides: Partial<QueryStatsInput> = {}): QueryStatsInput {
  return { fingerprint: 'f1', sql: 'SELECT 1', durationMs: 1, rows: 1, operation: 'SELECT', startedAt: 1_000, ...overrides };
}

describe('LatencyHistogram', () => {
  it('answers quantiles within its stated relative error', () => {
    const histogram = new LatencyHistogram();
    const values = Array.from({ length: 10_000 }, (_, i) => 0.05 * 1.0007 ** i); // 0.05 ms .. ≈ 55 ms
    for (const v of values) histogram.record(v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.95, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1] ?? Number.NaN;
      expect(Math.abs(histogram.quantile(q) - exact) / exact).toBeLessThanOrEqual(LatencyHistogram.RELATIVE_ERROR + 1e-9);
    }
    expect(histogram.max).toBe(sorted.at(-1));
  });

  it('bounds answers by the exact min and max, including outside its range', () => {
    const histogram = new LatencyHistogram();
    histogram.record(0);
    histogram.record(1e12);
    expect(histogram.quantile(0.01)).toBeLessThanOrEqual(0.001);
    expect(histogram.quantile(1)).toBe(1e12);
    expect(new LatencyHistogram().quantile(0.95)).toBeNaN();
  });
});

describe('QueryStats', () => {
  it('aggregates calls, total, mean, p95, max, rows, errors, first/last seen, one example', () => {
    const stats = new QueryStats();
    for (let i = 1; i <= 100; i++) {
      stats.record(sample({ durationMs: i, rows: 2, startedAt: 1_000 + i, sql: `SELECT ${i}`, failed: i === 50 }));
    }
    const row = stats.get('f1');
    expect(row).toMatchObject({ calls: 100, errors: 1, totalMs: 5050, meanMs: 50.5, maxMs: 100, rows: 200, firstSeenAt: 1_001, lastSeenAt: 1_100, exampleSql: 'SELECT 1' });
    expect(Math.abs((row?.p95Ms ?? 0) - 95) / 95).toBeLessThanOrEqual(LatencyHistogram.RELATIVE_ERROR);
  });

  it('counts rows the driver did not report as 0', () => {
    const stats = new QueryStats();
    stats.record(sample({ rows: null }));
    expect(stats.get('f1')?.rows).toBe(0);
  });

  it('ranks by any measure with top(n, by)', () => {
    const stats = new QueryStats();
    stats.record(sample({ fingerprint: 'slow', durationMs: 100 }));
    for (let i = 0; i < 10; i++) stats.record(sample({ fingerprint: 'frequent', durationMs: 1, rows: 5 }));
    expect(stats.top(1, 'maxMs').map((s) => s.fingerprint)).toEqual(['slow']);
    expect(stats.top(1, 'calls').map((s) => s.fingerprint)).toEqual(['frequent']);
    expect(stats.top(2, 'rows').map((s) => s.fingerprint)).toEqual(['frequent', 'slow']);
    expect(stats.top(0)).toEqual([]);
  });

  it('keeps at most maxFingerprints, evicting the least recently seen and keeping totals exact', () => {
    const stats = new QueryStats({ maxFingerprints: 3 });
    stats.record(sample({ fingerprint: 'a' }));
    stats.record(sample({ fingerprint: 'b' }));
    stats.record(sample({ fingerprint: 'c' }));
    stats.record(sample({ fingerprint: 'a' })); // a is now the most recent; b the least
    stats.record(sample({ fingerprint: 'd' }));
    expect(stats.size).toBe(3);
    expect(stats.get('b')).toBeUndefined();
    expect(stats.all().map((s) => s.fingerprint)).toEqual(['d', 'a', 'c']);
    for (let i = 0; i < 1000; i++) stats.record(sample({ fingerprint: `x${i}` }));
    expect(stats.size).toBe(3);
    const totals = stats.totals();
    expect(totals.calls).toBe(1005);
    expect(totals.evicted.fingerprints).toBe(1001);
  });

  it('cuts the example SQL', () => {
    const stats = new QueryStats({ maxExampleSqlLength: 10 });
    stats.record(sample({ sql: 'SELECT 1234567890' }));
    expect(stats.get('f1')?.exampleSql).toBe('SELECT 123');
  });
});
