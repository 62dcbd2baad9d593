import { createTestDatabase, type TestDatabase } from '@chat/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuerySample } from '../queries/query-sample.js';
import { ExplainConnection } from './explain-connection.js';
import { IndexAdvisor } from './index-advisor.js';
import { SlowQueryAnalyzer } from './plan-capture.js';
import { ManualTime } from './manual-time.fixture.js';
import { planRoot, planUsesIndex, summarizePlan, walkPlan } from './plan-summary.js';
import type { Scheduler } from './rate-limit.js';

/**
 * Slow queries, plans and verified index suggestions against a real PostgreSQL database:
 * `big` (60,000 rows, only its primary key indexed) and `small` (500 rows).
 */
let database: TestDatabase;
let admin: pg.Client;
const connections: ExplainConnection[] = [];

const BIG_ROWS = 60_000;

beforeAll(async () => {
  database = await createTestDatabase('monitoring_plans');
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  await admin.query(`
    CREATE TABLE big (
      id serial PRIMARY KEY,
      category int NOT NULL,
      name text NOT NULL,
      score int NOT NULL,
      payload text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    INSERT INTO big (category, name, score, payload)
      SELECT g % 5000, 'n' || g, (g * 7919) % 100000, 'p-' || g FROM generate_series(1, ${BIG_ROWS}) g;
    CREATE TABLE small (id serial PRIMARY KEY, category int NOT NULL);
    INSERT INTO small (category) SELECT g % 10 FROM generate_series(1, 500) g;
    -- Counts executed UPDATE rows outside any transaction: sequences do not roll back.
    CREATE SEQUENCE update_probe;
    CREATE FUNCTION count_update() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN PERFORM nextval('update_probe'); RETURN NEW; END $$;
    CREATE TRIGGER big_update_probe BEFORE UPDATE ON big FOR EACH ROW EXECUTE FUNCTION count_update();
    ANALYZE big;
    ANALYZE small;
  `);
});

afterAll(async () => {
  for (const connection of connections) await connection.close().catch(() => undefined);
  await admin?.end();
  await database?.drop();
});

function explainConnection(onStatement?: (text: string) => void): ExplainConnection {
  const connection = new ExplainConnection({ connectionString: database.url, ...(onStatement === undefined ? {} : { onStatement }) });
  connections.push(connection);
  return connection;
}

let fingerprintSeq = 0;
function slow(sql: string, parameters: unknown[], over: Partial<QuerySample> = {}): QuerySample {
  return {
    sql,
    parameters,
    fingerprint: `fp-${++fingerprintSeq}`,
    durationMs: 250,
    rows: 1,
    operation: sql.split(' ')[0].toUpperCase(),
    route: 'GET /test',
    startedAt: Date.now(),
    ...over,
  };
}

/** The plan PostgreSQL chooses now, on the admin connection. */
async function planOf(sql: string, parameters: unknown[]) {
  const result = await admin.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, parameters);
  return planRoot(result.rows[0]['QUERY PLAN'])!;
}

async function indexesOf(table: string): Promise<string[]> {
  const result = await admin.query<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY 1', [table]);
  return result.rows.map((r) => r.indexname);
}

function setup(options: { now?: () => number; scheduler?: Scheduler; onStatement?: (text: string) => void } = {}) {
  const connection = explainConnection(options.onStatement);
  const analyzer = new SlowQueryAnalyzer({
    explainer: connection,
    thresholdMs: 100,
    explainsPerSecond: 50,
    explainBurst: 10,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
  });
  const advisor = new IndexAdvisor({ connection, whatIfsPerSecond: 100, whatIfBurst: 20 });
  return { connection, analyzer, advisor };
}

describe('slow query → plan → verified index suggestion (real PostgreSQL)', () => {
  it('reports a query on an unindexed column of a 60,000-row table as slow, with its plan, and a verified index that the planner then uses', async () => {
    const { analyzer, advisor } = setup();
    const sql = 'SELECT id, name FROM big WHERE category = $1';
    const sample = slow(sql, [42]);

    analyzer.consider(slow(sql, [7], { fingerprint: sample.fingerprint, durationMs: 20 })); // under the threshold
    analyzer.consider(sample);
    await analyzer.idle();

    const record = analyzer.get(sample.fingerprint)!;
    expect(record).toMatchObject({ count: 1, maxDurationMs: 250, exampleSql: sql, explainError: null });
    expect(record.plan).not.toBeNull();
    expect(Array.isArray(record.plan!.json)).toBe(true);
    expect(record.plan!.generic).toBe(false);
    expect(record.plan!.totalCost).toBeGreaterThan(0);
    expect(record.plan!.summary.relations).toEqual(['public.big']);
    expect(record.plan!.summary.seqScans).toEqual([
      expect.objectContaining({ schema: 'public', relation: 'big', filter: '(big.category = 42)' }),
    ]);

    expect(await advisor.verificationMethod()).toBe('transaction'); // HypoPG is not installed here
    const suggestions = await advisor.analyze(analyzer.plannedQueries());
    expect(suggestions).toHaveLength(1);
    const suggestion = suggestions[0];
    expect(suggestion).toMatchObject({
      statement: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS big_category_idx ON public.big (category)',
      indexName: 'big_category_idx',
      schema: 'public',
      table: 'big',
      columns: ['category'],
      verifiedWith: 'transaction',
    });
    expect(suggestion.queries).toEqual([
      { fingerprint: sample.fingerprint, sql, costBefore: suggestion.costBefore, costAfter: suggestion.costAfter },
    ]);
    expect(suggestion.costBefore).toBeCloseTo(record.plan!.totalCost, 0);
    expect(suggestion.costAfter).toBeLessThanOrEqual(suggestion.costBefore / 2);
    // The what-if index was rolled back.
    expect(await indexesOf('big')).toEqual(['big_pkey']);

    const before = await planOf(sql, [42]);
    expect(planUsesIndex(before, 'big_category_idx')).toBe(false);
    await admin.query(suggestion.statement);
    const after = await planOf(sql, [42]);
    const scans = [...walkPlan(after)].filter((n) => n['Index Name'] === 'big_category_idx').map((n) => n['Node Type']);
    expect(scans.length).toBeGreaterThan(0);
    expect(['Index Scan', 'Bitmap Index Scan', 'Index Only Scan']).toContain(scans[0]);

    // Explained again now, the query no longer needs the suggestion.
    await advisor.analyze({ ...analyzer.plannedQueries()[0], plan: { ...record.plan!, capturedAt: record.plan!.capturedAt + 1, summary: { ...record.plan!.summary, seqScans: [] } } });
    expect(advisor.suggestions()).toEqual([]);
  });

  it('suggests nothing for a primary-key lookup or a small table', async () => {
    const { analyzer, advisor } = setup();
    const pk = slow('SELECT * FROM big WHERE id = $1', [7]);
    const tiny = slow('SELECT * FROM small WHERE category = $1', [3]);
    analyzer.consider(pk);
    analyzer.consider(tiny);
    await analyzer.idle();
    expect(analyzer.get(pk.fingerprint)!.plan!.summary.indexes).toEqual(['big_pkey']);
    expect(analyzer.get(tiny.fingerprint)!.plan!.summary.seqScans[0]).toMatchObject({ relation: 'small', filter: '(small.category = 3)' });
    expect(await advisor.analyze(analyzer.plannedQueries())).toEqual([]);
    expect(advisor.suggestions()).toEqual([]);
    expect(advisor.stats()).toMatchObject({ queriesAnalyzed: 2, candidates: 0, whatIfRuns: 0 });
  });

  it('suggests a verified index for ORDER BY an unindexed column with LIMIT', async () => {
    const { analyzer, advisor } = setup();
    const sql = 'SELECT id, score FROM big ORDER BY score LIMIT 10';
    const sample = slow(sql, []);
    analyzer.consider(sample);
    await analyzer.idle();
    const plan = analyzer.get(sample.fingerprint)!.plan!;
    expect(plan.summary.seqScans[0]).toMatchObject({ relation: 'big', filter: null, sortKeys: ['big.score'] });

    const [suggestion, ...more] = await advisor.analyze(analyzer.plannedQueries());
    expect(more).toEqual([]);
    expect(suggestion).toMatchObject({ columns: ['score'], statement: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS big_score_idx ON public.big (score)' });
    expect(suggestion.costAfter).toBeLessThanOrEqual(suggestion.costBefore / 2);

    await admin.query(suggestion.statement);
    expect(planUsesIndex(await planOf(sql, []), 'big_score_idx')).toBe(true);
  });

  it('explains a slow UPDATE inside a read-only transaction that rolls back, without ever executing it', async () => {
    const statements: string[] = [];
    const { analyzer, advisor, connection } = setup({ onStatement: (text) => statements.push(text) });
    const sql = 'UPDATE big SET name = $1 WHERE payload = $2';
    const sample = slow(sql, ['changed!', 'p-77'], { operation: 'UPDATE' });
    analyzer.consider(sample);
    await analyzer.idle();

    const plan = analyzer.get(sample.fingerprint)!.plan!;
    expect(plan.summary.nodeTypes).toContain('ModifyTable');
    expect(plan.summary.seqScans[0]).toMatchObject({ relation: 'big', filter: "(big.payload = 'p-77'::text)" });
    expect(statements).toEqual([
      'BEGIN READ ONLY',
      'SET LOCAL statement_timeout = 5000',
      'SET LOCAL lock_timeout = 200',
      `EXPLAIN (FORMAT JSON, VERBOSE) ${sql}`,
      'ROLLBACK',
    ]);

    // The advisor's what-if (a write transaction: CREATE INDEX) explains it too, then rolls back.
    const [suggestion] = await advisor.analyze(analyzer.plannedQueries());
    expect(suggestion).toMatchObject({ columns: ['payload'], verifiedWith: 'transaction' });
    expect(statements.some((s) => /ANALYZE/i.test(s))).toBe(false);
    expect(statements.filter((s) => s.startsWith('BEGIN')).length).toBe(statements.filter((s) => s === 'ROLLBACK').length);
    expect(statements).not.toContain('COMMIT');

    const row = await admin.query('SELECT name FROM big WHERE payload = $1', ['p-77']);
    expect(row.rows).toEqual([{ name: 'n77' }]);
    // The row trigger never fired: the UPDATE was planned, never executed (not even rolled back).
    const probe = await admin.query<{ is_called: boolean }>('SELECT is_called FROM update_probe');
    expect(probe.rows[0].is_called).toBe(false);
    expect(await indexesOf('big')).not.toContain(expect.stringContaining('whatif'));
    // The explain connection is left idle, not in a transaction.
    const states = await admin.query<{ state: string }>(
      "SELECT state FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'chat-monitoring-explain'",
    );
    expect(states.rows.map((r) => r.state).filter((s) => s !== 'idle')).toEqual([]);
    await connection.close();
  });

  it('explains a query without captured values (pg_stat_statements text) as a generic plan, and cleans up', async () => {
    const { analyzer, advisor, connection } = setup();
    const sql = 'SELECT id FROM big WHERE name = $1';
    const sample = slow(sql, []);
    analyzer.consider(sample);
    await analyzer.idle();
    const plan = analyzer.get(sample.fingerprint)!.plan!;
    expect(plan.generic).toBe(true);
    expect(plan.summary.seqScans[0]).toMatchObject({ relation: 'big', filter: '(big.name = $1)' });
    const [suggestion] = await advisor.analyze(analyzer.plannedQueries());
    expect(suggestion).toMatchObject({ columns: ['name'] });
    const left = await connection.session({ readOnly: true }, (s) => s.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements'));
    expect(left).toEqual([{ n: 0 }]);
  });

  it('gives up a what-if index at lock_timeout instead of queueing behind a writer', async () => {
    const { analyzer, advisor } = setup();
    const sample = slow('SELECT id FROM big WHERE created_at = $1', [new Date('2020-01-01T00:00:00Z')]);
    analyzer.consider(sample);
    await analyzer.idle();
    expect(analyzer.get(sample.fingerprint)!.plan).not.toBeNull();
    const writer = new pg.Client({ connectionString: database.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query('LOCK TABLE big IN ROW EXCLUSIVE MODE'); // what any UPDATE holds
      expect(await advisor.analyze(analyzer.plannedQueries())).toEqual([]);
      expect(advisor.stats()).toMatchObject({ failed: 1, verified: 0 });
      expect(advisor.stats().lastError).toMatch(/lock timeout/);
      // The writer was never blocked by us: it can still write.
      await writer.query("UPDATE small SET category = category WHERE id = 1");
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }
  });
});


describe('explain rate limit (real PostgreSQL, fake clock)', () => {
  it('starts explains no faster than the configured rate, queues a bounded number, and explains a fingerprint once', async () => {
    const time = new ManualTime(5_000_000);
    const explained: string[] = [];
    const connection = explainConnection((text) => {
      if (text.startsWith('EXPLAIN')) explained.push(text);
    });
    const analyzer = new SlowQueryAnalyzer({
      explainer: connection,
      thresholdMs: 100,
      explainsPerSecond: 2,
      explainBurst: 1,
      maxPendingExplains: 4,
      now: () => time.now,
      scheduler: time,
    });
    const samples = Array.from({ length: 10 }, (_, i) => slow(`SELECT id FROM big WHERE score = $1 AND id > ${i}`, [i]));
    for (const sample of samples) analyzer.consider(sample);
    for (let i = 0; i < 5; i++) analyzer.consider({ ...samples[0], durationMs: 300 + i });
    await analyzer.idle();
    expect(explained).toHaveLength(1);
    expect(analyzer.stats()).toMatchObject({ pendingExplains: 4, explainsDropped: 5 });

    time.advance(499);
    await analyzer.idle();
    expect(explained).toHaveLength(1);
    for (let step = 2; step <= 5; step++) {
      time.advance(step === 2 ? 1 : 500);
      await analyzer.idle();
      expect(explained).toHaveLength(step);
    }
    time.advance(10_000);
    await analyzer.idle();
    expect(explained).toHaveLength(5); // 1 + 4 queued; the 5 dropped wait for their next slow sample
    expect(explained.filter((text) => text.endsWith(samples[0].sql))).toHaveLength(1);
    expect(analyzer.get(samples[0].fingerprint)).toMatchObject({ count: 6 });
    expect(analyzer.stats()).toMatchObject({ explainsStarted: 5, explainsSucceeded: 5, explainsFailed: 0 });
  });
});

describe('explain connection failures', () => {
  it('never throws into consider() when the explain connection cannot connect', async () => {
    for (const connectionString of ['postgres://nobody@127.0.0.1:1/nowhere', 'this is :// not a url %%%']) {
      const analyzer = new SlowQueryAnalyzer({ explainer: { connectionString, connectTimeoutMs: 1000 }, thresholdMs: 10 });
      const sample = slow('SELECT * FROM big WHERE category = $1', [1]);
      expect(() => analyzer.consider(sample)).not.toThrow();
      await analyzer.idle();
      const record = analyzer.get(sample.fingerprint)!;
      expect(record.plan).toBeNull();
      expect(record.explainError).toEqual(expect.any(String));
      expect(analyzer.stats().explainsFailed).toBe(1);
      const advisor = new IndexAdvisor({ connection: { connectionString, connectTimeoutMs: 1000 } });
      const root = { 'Node Type': 'Seq Scan', 'Relation Name': 'big', Schema: 'public', Alias: 'big', Filter: '(big.category = 1)' };
      const planned = { fingerprint: 'x', sql: sample.sql, parameters: [1], root, plan: { json: null, totalCost: 1, summary: summarizePlan(root), generic: false, capturedAt: 1 } };
      await expect(advisor.analyze(planned)).resolves.toEqual([]);
      expect(advisor.stats().failed).toBe(1);
      await advisor.close();
      await analyzer.close();
    }
  });
});
