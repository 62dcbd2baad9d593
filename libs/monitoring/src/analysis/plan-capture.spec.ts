import { describe, expect, it } from 'vitest';
import type { QuerySample } from '../queries/query-sample.js';
import type { ExplainResult, ExplainStatement, Explainer } from './explain-connection.js';
import { SlowQueryAnalyzer, type PlannedQuery } from './plan-capture.js';
import { ManualTime } from './manual-time.fixture.js';


const plan = (cost: number) => ({
  'Node Type': 'Seq Scan',
  'Relation Name': 'big',
  Schema: 'public',
  Alias: 'big',
  'Total Cost': cost,
  'Startup Cost': 0,
  'Plan Rows': 10,
  Filter: '(big.category = 42)',
});

class FakeExplainer implements Explainer {
  calls: ExplainStatement[] = [];
  fail: Error | null = null;
  throwSync = false;
  explain(statement: ExplainStatement): Promise<ExplainResult> {
    if (this.throwSync) throw new Error('sync boom');
    this.calls.push(statement);
    if (this.fail !== null) return Promise.reject(this.fail);
    const root = plan(1234.5);
    return Promise.resolve({ json: [{ Plan: root }], root, totalCost: 1234.5, generic: statement.parameters.length === 0 });
  }
}

function sample(fingerprint: string, durationMs: number, over: Partial<QuerySample> = {}): QuerySample {
  return {
    sql: 'SELECT * FROM big WHERE category = $1',
    parameters: [42],
    fingerprint,
    durationMs,
    rows: 1,
    operation: 'SELECT',
    route: 'GET /v1/items',
    startedAt: 1_000_000,
    ...over,
  };
}

function setup(options: Partial<ConstructorParameters<typeof SlowQueryAnalyzer>[0]> = {}) {
  const time = new ManualTime();
  const explainer = new FakeExplainer();
  const captured: PlannedQuery[] = [];
  const analyzer = new SlowQueryAnalyzer({
    explainer,
    thresholdMs: 50,
    explainsPerSecond: 1,
    explainBurst: 1,
    maxPendingExplains: 3,
    reexplainAfterMs: 60_000,
    now: () => time.now,
    scheduler: time,
    onPlanCaptured: (q) => captured.push(q),
    ...options,
  });
  return { time, explainer, analyzer, captured };
}

describe('SlowQueryAnalyzer', () => {
  it('ignores samples under the threshold and records slow ones per fingerprint', async () => {
    const { analyzer } = setup();
    analyzer.consider(sample('fast', 49.9));
    analyzer.consider(sample('a', 60, { route: 'GET /a' }));
    analyzer.consider(sample('a', 100, { sql: 'SELECT * FROM big WHERE category = $1 /* slowest */', startedAt: 1_000_500 }));
    analyzer.consider(sample('a', 80, { route: 'GET /a' }));
    await analyzer.idle();
    expect(analyzer.get('fast')).toBeUndefined();
    const a = analyzer.get('a')!;
    expect(a.count).toBe(3);
    expect(a.maxDurationMs).toBe(100);
    expect(a.meanDurationMs).toBeCloseTo(80);
    expect(a.exampleSql).toContain('slowest');
    expect(a.lastSeenAt).toBe(1_000_500);
    expect(a.routes).toEqual(['GET /a', 'GET /v1/items']);
    expect(a.plan?.totalCost).toBe(1234.5);
    expect(a.plan?.summary.seqScans[0]).toMatchObject({ relation: 'big', filter: '(big.category = 42)' });
  });

  it('explains a fingerprint once, and again only after reexplainAfterMs', async () => {
    const { analyzer, explainer, time, captured } = setup({ explainBurst: 10 });
    for (let i = 0; i < 5; i++) analyzer.consider(sample('same', 60));
    await analyzer.idle();
    expect(explainer.calls).toHaveLength(1);
    expect(captured).toHaveLength(1);
    expect(captured[0]).toMatchObject({ fingerprint: 'same', parameters: [42] });
    time.advance(59_999);
    analyzer.consider(sample('same', 60));
    await analyzer.idle();
    expect(explainer.calls).toHaveLength(1);
    time.advance(1);
    analyzer.consider(sample('same', 60));
    await analyzer.idle();
    expect(explainer.calls).toHaveLength(2);
  });

  it('starts explains no faster than the token bucket allows and drops beyond the queue', async () => {
    const { analyzer, explainer, time } = setup();
    for (let i = 0; i < 10; i++) analyzer.consider(sample(`fp${i}`, 60));
    await analyzer.idle();
    // 1 started (the one token), 3 queued, 6 dropped: all while the clock stood still.
    expect(explainer.calls).toHaveLength(1);
    expect(analyzer.stats()).toMatchObject({ explainsStarted: 1, pendingExplains: 3, explainsDropped: 6 });
    time.advance(999);
    await analyzer.idle();
    expect(explainer.calls).toHaveLength(1);
    time.advance(1);
    await analyzer.idle();
    expect(explainer.calls).toHaveLength(2);
    time.advance(1000);
    await analyzer.idle();
    time.advance(1000);
    await analyzer.idle();
    expect(explainer.calls).toHaveLength(4);
    expect(analyzer.stats().pendingExplains).toBe(0);
    // A dropped fingerprint is queued again when it is seen again.
    analyzer.consider(sample('fp9', 60));
    time.advance(1000);
    await analyzer.idle();
    expect(explainer.calls.map((c) => c.sql)).toHaveLength(5);
    expect(analyzer.get('fp9')?.plan).not.toBeNull();
  });

  it('never throws into consider(), whatever the explainer does', async () => {
    const { analyzer, explainer, time } = setup({ explainBurst: 10 });
    explainer.fail = new Error('connect ECONNREFUSED');
    expect(() => analyzer.consider(sample('x', 60))).not.toThrow();
    await analyzer.idle();
    expect(analyzer.get('x')).toMatchObject({ plan: null, explainError: 'connect ECONNREFUSED' });
    explainer.throwSync = true;
    time.advance(60_000);
    expect(() => analyzer.consider(sample('x', 60))).not.toThrow();
    await analyzer.idle();
    expect(analyzer.get('x')?.explainError).toBe('sync boom');
    expect(analyzer.stats().explainsFailed).toBe(2);
    // Nonsense input does not throw either.
    expect(() => analyzer.consider({} as QuerySample)).not.toThrow();
    expect(() => analyzer.consider(null as unknown as QuerySample)).not.toThrow();
  });

  it('records but never explains statements EXPLAIN cannot take', async () => {
    const { analyzer, explainer } = setup();
    analyzer.consider(sample('ddl', 500, { sql: 'CREATE INDEX foo ON big (x)', operation: 'CREATE', parameters: [] }));
    await analyzer.idle();
    expect(explainer.calls).toHaveLength(0);
    expect(analyzer.get('ddl')).toMatchObject({ count: 1, explainError: 'not an explainable statement' });
    expect(analyzer.stats().notExplainable).toBe(1);
  });

  it('tracks a bounded number of fingerprints, forgetting the least recently seen', async () => {
    const { analyzer } = setup({ maxFingerprints: 3, maxPendingExplains: 100, explainBurst: 100 });
    for (const fp of ['a', 'b', 'c']) analyzer.consider(sample(fp, 60));
    analyzer.consider(sample('a', 60)); // a is now the most recent
    analyzer.consider(sample('d', 60)); // evicts b
    await analyzer.idle();
    expect(analyzer.slowQueries().map((q) => q.fingerprint).sort()).toEqual(['a', 'c', 'd']);
    expect(analyzer.stats()).toMatchObject({ tracked: 3, evictedFingerprints: 1 });
  });

  it('hands planned queries (with their values) to the advisor, and slow queries without them', async () => {
    const { analyzer } = setup();
    analyzer.consider(sample('p', 60, { parameters: ['secret'] }));
    await analyzer.idle();
    expect(analyzer.plannedQueries()).toEqual([expect.objectContaining({ fingerprint: 'p', parameters: ['secret'] })]);
    expect(JSON.stringify(analyzer.slowQueries())).not.toContain('secret');
  });

  it('close() drops the queue and stops explaining', async () => {
    const { analyzer, explainer, time } = setup();
    for (let i = 0; i < 3; i++) analyzer.consider(sample(`c${i}`, 60));
    await analyzer.close();
    time.advance(10_000);
    analyzer.consider(sample('after', 60));
    await analyzer.idle();
    expect(explainer.calls).toHaveLength(1);
    expect(analyzer.stats().pendingExplains).toBe(0);
  });
});
