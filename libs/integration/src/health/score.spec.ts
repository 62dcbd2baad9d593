import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cacheStats,
  components,
  dashboardAlert,
  indexSuggestion,
  nPlusOne,
  scored,
  slowQuery,
  type Scored,
} from '../testing/dashboard.fixture.js';
import { performanceScore, SCORE_RULES } from './score.js';

const MB = 1_048_576;
const down = (error?: string) => ({ status: 'down' as const, latencyMs: null, ...(error === undefined ? {} : { error }) });
const requests = (over: Partial<NonNullable<Scored['requests']>>): Scored['requests'] => ({ ...(scored().requests as NonNullable<Scored['requests']>), ...over });
const queue = (over: Partial<NonNullable<Scored['queue']>>): Scored['queue'] => ({ ...(scored().queue as NonNullable<Scored['queue']>), ...over });
const process = (over: Partial<Scored['process']>): Scored['process'] => ({ ...scored().process, ...over });
const database = (over: Partial<NonNullable<Scored['database']>>): Scored['database'] => ({ ...(scored().database as NonNullable<Scored['database']>), ...over });
const firing = (severity: 'info' | 'warning' | 'critical', n = 1) => Array.from({ length: n }, () => dashboardAlert({ severity }));

/** The penalties one rule takes for `data`, in order. */
function penaltiesOf(rule: string, data: Scored): number[] {
  return performanceScore(data).findings.filter((f) => f.rule === rule).map((f) => f.penalty);
}

describe('performanceScore: a healthy dashboard', () => {
  it('scores 100, good, no findings', () => {
    const score = performanceScore(scored());
    expect(score).toMatchObject({ value: 100, grade: 'good', findings: [], recommendations: [] });
    // The rules come along, found or not, for the page to list.
    expect(score.rules.map((r) => r.id)).toEqual(SCORE_RULES.map((r) => r.id));
  });

  it('every rule has an id, a title and a description, ids unique', () => {
    const ids = SCORE_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of SCORE_RULES) {
      expect(rule.title.length).toBeGreaterThan(0);
      expect(rule.description.length).toBeGreaterThan(0);
    }
    expect(ids).toEqual(['component-down', 'alerts-firing', 'latency', 'errors', 'cache-hit-rate', 'slow-queries', 'n-plus-one', 'index-suggestions', 'queue-backlog', 'event-loop', 'memory']);
  });
});

/** [rule, case, data, the rule's penalties]: each threshold, just past it, and at it (nothing). */
const CASES: Array<[string, string, Scored, number[]]> = [
  ['component-down', 'database down', scored({ components: components({ database: down('refused') }) }), [50]],
  ['component-down', 'Redis down', scored({ components: components({ redis: down() }) }), [20]],
  ['component-down', 'queue down', scored({ components: components({ queue: { status: 'down', driver: 'bullmq' } }) }), [20]],
  ['component-down', 'all three down', scored({ components: components({ database: down(), redis: down(), queue: { status: 'down', driver: 'bullmq' } }) }), [50, 20, 20]],
  ['component-down', 'no Redis configured', scored({ components: components({ redis: null }) }), []],
  ['component-down', 'everything disabled', scored({ components: components({ database: { status: 'disabled', latencyMs: null }, queue: { status: 'disabled', driver: null }, cache: { status: 'disabled', l2: null }, monitor: { status: 'disabled' } }) }), []],

  ['alerts-firing', 'one critical', scored({ alerts: { active: firing('critical'), recent: [] } }), [15]],
  ['alerts-firing', 'one warning', scored({ alerts: { active: firing('warning'), recent: [] } }), [5]],
  ['alerts-firing', 'one info', scored({ alerts: { active: firing('info'), recent: [] } }), [1]],
  ['alerts-firing', 'critical + warning + info', scored({ alerts: { active: [...firing('critical'), ...firing('warning'), ...firing('info')], recent: [] } }), [21]],
  ['alerts-firing', 'capped at 40', scored({ alerts: { active: firing('critical', 3), recent: [] } }), [40]],
  ['alerts-firing', 'pending alerts cost nothing', scored({ alerts: { active: [dashboardAlert({ severity: 'critical', state: 'pending' })], recent: [] } }), []],
  ['alerts-firing', 'recent (resolved) alerts cost nothing', scored({ alerts: { active: [], recent: [dashboardAlert({ severity: 'critical', state: 'resolved' })] } }), []],

  ['latency', 'p95 200 ms', scored({ requests: requests({ p95Ms: 200 }) }), []],
  ['latency', 'p95 just over 200 ms', scored({ requests: requests({ p95Ms: 200.5 }) }), [5]],
  ['latency', 'p95 500 ms', scored({ requests: requests({ p95Ms: 500 }) }), [5]],
  ['latency', 'p95 just over 500 ms', scored({ requests: requests({ p95Ms: 500.5 }) }), [10]],
  ['latency', 'p95 1 s', scored({ requests: requests({ p95Ms: 1_000 }) }), [10]],
  ['latency', 'p95 just over 1 s', scored({ requests: requests({ p95Ms: 1_000.5 }) }), [20]],
  ['latency', 'slow but only 19 requests', scored({ requests: requests({ total: 19, p95Ms: 5_000 }) }), []],
  ['latency', 'slow from 20 requests', scored({ requests: requests({ total: 20, p95Ms: 5_000 }) }), [20]],
  ['latency', 'no percentile', scored({ requests: requests({ p95Ms: null }) }), []],
  ['latency', 'the monitor off', scored({ requests: null }), []],

  ['errors', '1% errors', scored({ requests: requests({ errorRate: 0.01 }) }), []],
  ['errors', 'just over 1%', scored({ requests: requests({ errorRate: 0.0101 }) }), [10]],
  ['errors', '5% errors', scored({ requests: requests({ errorRate: 0.05 }) }), [10]],
  ['errors', 'just over 5%', scored({ requests: requests({ errorRate: 0.0501 }) }), [25]],
  ['errors', 'all failing but only 19 requests', scored({ requests: requests({ total: 19, errorRate: 1 }) }), []],
  ['errors', 'all failing from 20 requests', scored({ requests: requests({ total: 20, errorRate: 1 }) }), [25]],

  ['cache-hit-rate', '99 lookups, none hit', scored({ caches: { conversation: cacheStats({ hits: 0, misses: 99, hitRate: 0 }), aiResponse: null, toolResult: null } }), []],
  ['cache-hit-rate', '100 lookups, 49% hits', scored({ caches: { conversation: cacheStats({ hits: 49, misses: 51, hitRate: 0.49 }), aiResponse: null, toolResult: null } }), [10]],
  ['cache-hit-rate', '100 lookups, 50% hits', scored({ caches: { conversation: cacheStats({ hits: 50, misses: 50, hitRate: 0.5 }), aiResponse: null, toolResult: null } }), []],
  [
    'cache-hit-rate',
    'three low caches: capped at 20',
    scored({
      caches: {
        conversation: cacheStats({ misses: 100 }),
        aiResponse: cacheStats({ misses: 100 }),
        toolResult: cacheStats({ misses: 100 }),
        'my-own': cacheStats({ misses: 100 }),
      },
    }),
    [10, 10],
  ],

  ['slow-queries', 'one slow query shape', scored({ database: database({ slowQueries: [slowQuery()] }) }), [5]],
  ['slow-queries', 'four: capped at 15', scored({ database: database({ slowQueries: [slowQuery(), slowQuery(), slowQuery(), slowQuery()] }) }), [5, 5, 5]],
  ['slow-queries', 'the monitor off', scored({ database: null }), []],

  ['n-plus-one', 'one N+1', scored({ database: database({ nPlusOne: [nPlusOne()] }) }), [5]],
  ['n-plus-one', 'four: capped at 15', scored({ database: database({ nPlusOne: [nPlusOne(), nPlusOne(), nPlusOne(), nPlusOne()] }) }), [5, 5, 5]],

  ['index-suggestions', 'one suggestion', scored({ database: database({ indexSuggestions: [indexSuggestion()] }) }), [5]],
  ['index-suggestions', 'four: capped at 15', scored({ database: database({ indexSuggestions: [indexSuggestion(), indexSuggestion(), indexSuggestion(), indexSuggestion()] }) }), [5, 5, 5]],

  ['queue-backlog', '50% of the bound pending', scored({ queue: queue({ waiting: 50, maxPending: 100 }) }), []],
  ['queue-backlog', '51%', scored({ queue: queue({ waiting: 51, maxPending: 100 }) }), [5]],
  ['queue-backlog', '80%', scored({ queue: queue({ waiting: 80, maxPending: 100 }) }), [5]],
  ['queue-backlog', '81%', scored({ queue: queue({ waiting: 81, maxPending: 100 }) }), [15]],
  ['queue-backlog', 'no bound', scored({ queue: queue({ waiting: 1_000, maxPending: null }) }), []],
  ['queue-backlog', 'a zero bound', scored({ queue: queue({ waiting: 1_000, maxPending: 0 }) }), []],
  ['queue-backlog', 'one failed task', scored({ queue: queue({ failed: 1 }) }), [5]],
  ['queue-backlog', 'p95 wait 5 s', scored({ queue: queue({ p95WaitMs: 5_000 }) }), []],
  ['queue-backlog', 'p95 wait just over 5 s', scored({ queue: queue({ p95WaitMs: 5_001 }) }), [10]],
  ['queue-backlog', 'no wait figure', scored({ queue: queue({ p95WaitMs: null }) }), []],
  ['queue-backlog', 'all three', scored({ queue: queue({ waiting: 90, maxPending: 100, failed: 3, p95WaitMs: 9_000 }) }), [15, 10, 5]],
  ['queue-backlog', 'the queue off', scored({ queue: null }), []],

  ['event-loop', 'lag 50 ms', scored({ process: process({ eventLoopLagP99Ms: 50 }) }), []],
  ['event-loop', 'just over 50 ms', scored({ process: process({ eventLoopLagP99Ms: 50.1 }) }), [5]],
  ['event-loop', '100 ms', scored({ process: process({ eventLoopLagP99Ms: 100 }) }), [5]],
  ['event-loop', 'just over 100 ms', scored({ process: process({ eventLoopLagP99Ms: 100.1 }) }), [15]],
  ['event-loop', 'not measured', scored({ process: process({ eventLoopLagP99Ms: null }) }), []],

  ['memory', 'RSS 512 MB', scored({ process: process({ rssBytes: 512 * MB }) }), []],
  ['memory', 'just over 512 MB', scored({ process: process({ rssBytes: 512 * MB + 1 }) }), [5]],
  ['memory', '1 GB', scored({ process: process({ rssBytes: 1_024 * MB }) }), [5]],
  ['memory', 'just over 1 GB', scored({ process: process({ rssBytes: 1_024 * MB + 1 }) }), [10]],
];

describe('performanceScore: each rule at its thresholds', () => {
  it.each(CASES)('%s: %s', (rule, _name, data, expected) => {
    expect(penaltiesOf(rule, data)).toEqual(expected);
    // No other rule fires: each case changes one thing of a healthy dashboard.
    const others = performanceScore(data).findings.filter((f) => f.rule !== rule);
    expect(others).toEqual([]);
    expect(performanceScore(data).value).toBe(100 - expected.reduce((s, p) => s + p, 0));
  });
});

describe('performanceScore: findings and recommendations', () => {
  it('a finding names its rule and title, says what was measured and what to do', () => {
    const [finding] = performanceScore(scored({ components: components({ redis: down('ECONNREFUSED 127.0.0.1:1') }) })).findings;
    expect(finding).toEqual({
      rule: 'component-down',
      title: SCORE_RULES[0]?.title,
      penalty: 20,
      detail: 'redis: ECONNREFUSED 127.0.0.1:1',
      recommendation: expect.stringContaining('Redis'),
    });
  });

  it('the latency finding names the slowest route', () => {
    const byRoute = [
      { method: 'GET', route: '/fast', count: 100, errors: 0, meanMs: 1, p95Ms: 2, maxMs: 3 },
      { method: 'POST', route: '/v1/slow', count: 10, errors: 0, meanMs: 700, p95Ms: 900, maxMs: 950 },
    ];
    const [finding] = performanceScore(scored({ requests: requests({ p95Ms: 600, byRoute }) })).findings;
    expect(finding?.detail).toBe('p95 600 ms');
    expect(finding?.recommendation).toContain('POST /v1/slow');
  });

  it('an index suggestion\'s recommendation is its CREATE INDEX statement', () => {
    const s = indexSuggestion();
    const { findings, recommendations } = performanceScore(scored({ database: database({ indexSuggestions: [s] }) }));
    expect(findings[0]?.recommendation).toBe(`${s.statement};`);
    expect(recommendations).toEqual([`${s.statement};`]);
  });

  it('recommendations are deduplicated and ordered by penalty, highest first', () => {
    const data = scored({
      components: components({ redis: down() }),
      database: database({ slowQueries: [slowQuery(), slowQuery(), slowQuery()] }),
      process: process({ eventLoopLagP99Ms: 200 }),
      queue: queue({ failed: 2 }),
    });
    const { findings, recommendations } = performanceScore(data);
    // 20 (redis), 15 (event loop), then the 5s: three slow queries sharing one recommendation, one failed-tasks.
    expect(findings.map((f) => f.penalty)).toEqual([20, 15, 5, 5, 5, 5]);
    expect(recommendations).toHaveLength(4);
    expect(new Set(recommendations).size).toBe(recommendations.length);
    expect(recommendations[0]).toBe(findings[0]?.recommendation);
    expect(recommendations[1]).toBe(findings[1]?.recommendation);
    expect(recommendations.slice(2)).toEqual(expect.arrayContaining([findings.find((f) => f.rule === 'slow-queries')?.recommendation, findings.find((f) => f.rule === 'queue-backlog')?.recommendation]));
  });
});

describe('performanceScore: value and grade', () => {
  const critical = (n: number) => ({ active: firing('critical', n), recent: [] });
  it.each<[string, Scored, number, 'good' | 'fair' | 'poor']>([
    ['100', scored(), 100, 'good'],
    ['90 (−10)', scored({ requests: requests({ p95Ms: 600 }) }), 90, 'good'],
    ['89 (−10 −1)', scored({ requests: requests({ p95Ms: 600 }), alerts: { active: firing('info'), recent: [] } }), 89, 'fair'],
    ['70 (−20 −10)', scored({ components: components({ redis: down() }), requests: requests({ p95Ms: 600 }) }), 70, 'fair'],
    ['69 (−20 −10 −1)', scored({ components: components({ redis: down() }), requests: requests({ p95Ms: 600 }), alerts: { active: firing('info'), recent: [] } }), 69, 'poor'],
  ])('%s', (_name, data, value, grade) => {
    expect(performanceScore(data)).toMatchObject({ value, grade });
  });

  it('floored at 0 when the penalties pass 100', () => {
    const data = scored({
      components: components({ database: down(), redis: down(), queue: { status: 'down', driver: 'bullmq' } }),
      alerts: critical(4),
      requests: requests({ p95Ms: 5_000, errorRate: 0.5 }),
    });
    expect(performanceScore(data).findings.reduce((s, f) => s + f.penalty, 0)).toBeGreaterThan(100);
    expect(performanceScore(data)).toMatchObject({ value: 0, grade: 'poor' });
  });
});

// ── properties ─────────────────────────────────────────────────────────────────────────────────

const status = fc.constantFrom('up' as const, 'down' as const, 'disabled' as const);
const severity = fc.constantFrom('info' as const, 'warning' as const, 'critical' as const);
const alertState = fc.constantFrom('pending' as const, 'firing' as const, 'resolved' as const);
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null });
const nat = (max: number) => fc.integer({ min: 0, max });
const cache = fc.record({ hits: nat(1_000), misses: nat(1_000) }).map(({ hits, misses }) => cacheStats({ hits, misses, hitRate: hits + misses === 0 ? 0 : hits / (hits + misses) }));

/** Any dashboard, from healthy to everything on fire. */
const anyScored: fc.Arbitrary<Scored> = fc
  .record({
    database: status,
    redis: maybe(status),
    queueStatus: status,
    alerts: fc.array(fc.record({ severity, state: alertState }), { maxLength: 8 }),
    requests: maybe(fc.record({ total: nat(10_000), errorRate: fc.double({ min: 0, max: 1, noNaN: true }), p95Ms: maybe(fc.double({ min: 0, max: 10_000, noNaN: true })) })),
    caches: fc.dictionary(fc.constantFrom('conversation', 'aiResponse', 'toolResult', 'a', 'b'), maybe(cache)),
    database_: maybe(fc.record({ slow: nat(5), n1: nat(5), ix: nat(5) })),
    queue: maybe(fc.record({ waiting: nat(2_000), maxPending: maybe(nat(1_000)), failed: nat(10), p95WaitMs: maybe(nat(20_000)) })),
    lag: maybe(fc.double({ min: 0, max: 1_000, noNaN: true })),
    rss: nat(4 * 1_024 * MB),
  })
  .map((r) =>
    scored({
      components: components({
        database: { status: r.database, latencyMs: null },
        redis: r.redis === null ? null : { status: r.redis, latencyMs: null },
        queue: { status: r.queueStatus, driver: 'bullmq' },
      }),
      alerts: { active: r.alerts.map((a) => dashboardAlert(a)), recent: [] },
      requests: r.requests === null ? null : requests(r.requests),
      caches: { conversation: null, aiResponse: null, toolResult: null, ...r.caches },
      database:
        r.database_ === null
          ? null
          : database({
              slowQueries: Array.from({ length: r.database_.slow }, () => slowQuery()),
              nPlusOne: Array.from({ length: r.database_.n1 }, () => nPlusOne()),
              indexSuggestions: Array.from({ length: r.database_.ix }, () => indexSuggestion()),
            }),
      queue: r.queue === null ? null : queue(r.queue),
      process: process({ eventLoopLagP99Ms: r.lag, rssBytes: r.rss }),
    }),
  );

/** Changes that can only add problems. */
const worsen: fc.Arbitrary<(d: Scored) => Scored> = fc.constantFrom(
  (d: Scored) => ({ ...d, components: { ...d.components, database: down() } }),
  (d: Scored) => ({ ...d, components: { ...d.components, redis: down() } }),
  (d: Scored) => ({ ...d, components: { ...d.components, queue: { status: 'down' as const, driver: 'bullmq' as const } } }),
  (d: Scored) => ({ ...d, alerts: { ...d.alerts, active: [...d.alerts.active, dashboardAlert({ severity: 'critical' })] } }),
  (d: Scored) => ({ ...d, alerts: { ...d.alerts, active: [...d.alerts.active, dashboardAlert({ severity: 'info' })] } }),
  (d: Scored) => (d.database === null ? d : { ...d, database: { ...d.database, slowQueries: [...d.database.slowQueries, slowQuery()] } }),
  (d: Scored) => (d.database === null ? d : { ...d, database: { ...d.database, nPlusOne: [...d.database.nPlusOne, nPlusOne()] } }),
  (d: Scored) => (d.database === null ? d : { ...d, database: { ...d.database, indexSuggestions: [...d.database.indexSuggestions, indexSuggestion()] } }),
  (d: Scored) => (d.queue === null ? d : { ...d, queue: { ...d.queue, failed: d.queue.failed + 1 } }),
  (d: Scored) => ({ ...d, process: { ...d.process, rssBytes: d.process.rssBytes + 600 * MB } }),
  (d: Scored) => ({ ...d, caches: { ...d.caches, extra: cacheStats({ misses: 500 }) } }),
);

describe('performanceScore: properties', () => {
  it('is always an integer within 0..100, graded by its value', () => {
    fc.assert(
      fc.property(anyScored, (data) => {
        const { value, grade } = performanceScore(data);
        expect(Number.isInteger(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThanOrEqual(100);
        expect(grade).toBe(value >= 90 ? 'good' : value >= 70 ? 'fair' : 'poor');
      }),
      { numRuns: 500 },
    );
  });

  it('adding a problem never raises the score', () => {
    fc.assert(
      fc.property(anyScored, fc.array(worsen, { minLength: 1, maxLength: 4 }), (data, changes) => {
        const before = performanceScore(data).value;
        const after = performanceScore(changes.reduce((d, change) => change(d), data)).value;
        expect(after).toBeLessThanOrEqual(before);
      }),
      { numRuns: 500 },
    );
  });

  it('recommendations are unique and come from the findings', () => {
    fc.assert(
      fc.property(anyScored, (data) => {
        const { findings, recommendations } = performanceScore(data);
        expect(new Set(recommendations).size).toBe(recommendations.length);
        expect(new Set(recommendations)).toEqual(new Set(findings.map((f) => f.recommendation)));
        const penalties = findings.map((f) => f.penalty);
        expect(penalties).toEqual([...penalties].sort((a, b) => b - a));
      }),
      { numRuns: 300 },
    );
  });
});
