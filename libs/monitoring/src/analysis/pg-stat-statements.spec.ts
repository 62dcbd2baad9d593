import { describe, expect, it } from 'vitest';
import { shapeStatementRows, statementsToSamples, type RawStatementRow } from './pg-stat-statements.js';

/** Rows as `pg` returns them from pg_stat_statements: bigints as strings, float8 as numbers. */
const fixture: RawStatementRow[] = [
  { queryid: '-4012345678901234567', query: 'SELECT * FROM big WHERE category = $1', calls: '120', total_time: 6000.5, mean_time: 50.004, rows: '240' },
  { queryid: '77', query: 'UPDATE big SET name = $1 WHERE id = $2', calls: '3', total_time: 9, mean_time: 3, rows: '3' },
  { queryid: '78', query: 'EXPLAIN (FORMAT JSON, VERBOSE) SELECT 1', calls: '10', total_time: 1, mean_time: 0.1, rows: '10' },
  { queryid: '79', query: '<insufficient privilege>', calls: '5', total_time: 100, mean_time: 20, rows: '0' },
  { queryid: '80', query: 'SET statement_timeout = $1', calls: '50', total_time: 1, mean_time: 0.02, rows: '0' },
  { queryid: '81', query: '  /* app */ WITH x AS (SELECT 1) SELECT * FROM x', calls: '0', total_time: 0, mean_time: null, rows: '0' },
];

describe('shapeStatementRows', () => {
  it('parses numbers, keeps query ids as strings and drops utility and hidden statements', () => {
    expect(shapeStatementRows(fixture)).toEqual([
      { queryId: '-4012345678901234567', query: 'SELECT * FROM big WHERE category = $1', calls: 120, totalTimeMs: 6000.5, meanTimeMs: 50.004, rows: 240, meanRows: 2 },
      { queryId: '77', query: 'UPDATE big SET name = $1 WHERE id = $2', calls: 3, totalTimeMs: 9, meanTimeMs: 3, rows: 3, meanRows: 1 },
    ]);
  });

  it('can keep utility statements and filter by calls', () => {
    const all = shapeStatementRows(fixture, { explainableOnly: false, minCalls: 0 });
    expect(all.map((s) => s.queryId)).toEqual(['-4012345678901234567', '77', '78', '80', '81']);
    expect(all.find((s) => s.queryId === '81')).toMatchObject({ meanTimeMs: 0, meanRows: 0 });
    expect(shapeStatementRows(fixture, { minCalls: 100 }).map((s) => s.queryId)).toEqual(['-4012345678901234567']);
  });

  it('survives garbage', () => {
    expect(shapeStatementRows([{ queryid: null, query: 'SELECT 1', calls: 'x', total_time: null, mean_time: null, rows: null }], { minCalls: 0 })).toEqual([
      { queryId: '', query: 'SELECT 1', calls: 0, totalTimeMs: 0, meanTimeMs: 0, rows: 0, meanRows: 0 },
    ]);
  });
});

describe('statementsToSamples', () => {
  it('turns statements at or over the threshold into samples explained as generic plans', () => {
    const samples = statementsToSamples(shapeStatementRows(fixture), { thresholdMs: 50, now: () => 123 });
    expect(samples).toEqual([
      {
        sql: 'SELECT * FROM big WHERE category = $1',
        parameters: [],
        fingerprint: 'pgss:-4012345678901234567',
        durationMs: 50.004,
        rows: 2,
        operation: 'SELECT',
        route: null,
        startedAt: 123,
      },
    ]);
    const custom = statementsToSamples(shapeStatementRows(fixture), { thresholdMs: 1, fingerprint: (sql) => `fp:${sql.length}` });
    expect(custom.map((s) => s.fingerprint)).toEqual(['fp:37', 'fp:38']);
  });
});
