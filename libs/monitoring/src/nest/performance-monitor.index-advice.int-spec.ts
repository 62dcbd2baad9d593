/**
 * Slow query → plan → verified index suggestion, end to end through the module: a route filters a
 * 60,000-row table on an unindexed column; the monitor explains the query on its own connection,
 * the advisor verifies an index with a what-if plan, and the suggested statement, run for real,
 * makes PostgreSQL use that index.
 */
import { createTestDatabase, type TestDatabase } from '@chat/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRoot, planUsesIndex } from '../analysis/plan-summary.js';
import type { IndexSuggestion } from '../analysis/index-advisor.js';
import type { SlowQuery } from '../analysis/plan-capture.js';
import { seedItems, startTestApp, type TestApp } from './test-app.fixture.js';

const ROWS = 60_000;
const ROUTE = 'GET /items/by-code/:code';

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase('monitor_nest_index');
  await seedItems(database.url, ROWS);
  // 1 ms: a sequential scan of 60,000 rows takes longer than that.
  t = await startTestApp(database.url, { slowQueryMs: 1 });
});

afterAll(async () => {
  await t?.app.close();
  await database?.drop();
});

/** The slow query that filters on `code`, once the monitor has one with a plan. */
function codeQuery(): SlowQuery | undefined {
  return t.service.report().slowQueries.find((q) => /"code"\s*=\s*\$1/.test(q.exampleSql) && q.plan !== null);
}

async function explainJson(client: pg.Client, sql: string, parameters: unknown[]): Promise<unknown> {
  const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, parameters);
  return rows[0]?.['QUERY PLAN'];
}

describe('slow queries and index suggestions through the module', () => {
  it('explains a slow query of a route (a Seq Scan) and suggests a verified index that PostgreSQL then uses', async () => {
    expect((await t.request(`/items/by-code/code-${ROWS - 1}`)).status).toBe(200);
    // Explains are rate-limited (1/s) and run one at a time: the query's plan comes a moment later.
    await expect.poll(codeQuery, { timeout: 20_000, interval: 100 }).toBeDefined();

    const slow = codeQuery()!;
    expect(slow.operation).toBe('SELECT');
    expect(slow.routes).toContain(ROUTE);
    expect(slow.count).toBeGreaterThanOrEqual(1);
    expect(slow.maxDurationMs).toBeGreaterThanOrEqual(1);
    expect(slow.explainError).toBeNull();
    expect(slow.plan?.summary.nodeTypes).toContain('Seq Scan');
    expect(slow.plan?.summary.seqScans.map((s) => s.relation)).toEqual(['items']);
    expect(slow.plan?.summary.seqScans[0]?.filter).toMatch(/code/);
    expect(slow.plan?.summary.indexes).toEqual([]);

    // The analyzer hands the plan to the advisor, which verifies its candidate with a what-if plan.
    const suggestionFor = (): IndexSuggestion | undefined => t.service.report().indexSuggestions.find((s) => s.table === 'items');
    await expect.poll(suggestionFor, { timeout: 20_000, interval: 100 }).toBeDefined();
    const suggestion = suggestionFor()!;
    expect(suggestion).toMatchObject({ schema: 'public', table: 'items', columns: ['code'] });
    expect(['hypopg', 'transaction']).toContain(suggestion.verifiedWith);
    expect(suggestion.statement).toMatch(/^CREATE INDEX CONCURRENTLY IF NOT EXISTS /);
    expect(suggestion.costAfter).toBeLessThanOrEqual(suggestion.costBefore * 0.5);
    const served = suggestion.queries.find((q) => q.fingerprint === slow.fingerprint);
    expect(served).toBeDefined();

    // Nothing was created by the verification: the table still has its primary key only.
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      // The plans came from the monitor's own connection, not the app's pool.
      const explainSessions = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'chat-monitoring-explain'",
      );
      expect(explainSessions.rows[0]?.n).toBe(1);

      const indexes = async (): Promise<string[]> =>
        (await client.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'items' ORDER BY 1")).rows.map((r) => r.indexname);
      expect(await indexes()).toEqual(['items_pkey']);
      const before = planRoot(await explainJson(client, served!.sql, [`code-${ROWS - 1}`]));
      expect(before !== null && planUsesIndex(before, suggestion.indexName)).toBe(false);

      // Run the suggestion for real: the same query is then planned on that index.
      await client.query(suggestion.statement);
      expect(await indexes()).toEqual(['items_pkey', suggestion.indexName].sort());
      const after = planRoot(await explainJson(client, served!.sql, [`code-${ROWS - 1}`]));
      expect(after).not.toBeNull();
      expect(planUsesIndex(after!, suggestion.indexName)).toBe(true);
    } finally {
      await client.end();
    }
  });
});
