import { describe, expect, it } from 'vitest';
import type { ExplainResult, ExplainSession, ExplainSessions, ExplainStatement } from './explain-connection.js';
import { createIndexStatement, IndexAdvisor, indexCandidates, type RelationInfo } from './index-advisor.js';
import type { PlannedQuery } from './plan-capture.js';
import { summarizePlan, type PlanNode } from './plan-summary.js';
import { indexName, quoteIdent } from './sql-identifiers.js';

const bigTable: RelationInfo = {
  schema: 'public',
  name: 'big',
  kind: 'r',
  rows: 50_000,
  pages: 400,
  columns: ['id', 'category', 'name', 'score', 'created_at'],
  indexes: [{ name: 'big_pkey', columns: ['id'] }],
};
const lookup = (relations: RelationInfo[]) => (schema: string | null, name: string) =>
  relations.find((r) => r.name === name && (schema === null || r.schema === schema));

const seqScan = (filter: string | null, extra: Record<string, unknown> = {}): PlanNode => ({
  'Node Type': 'Seq Scan',
  'Relation Name': 'big',
  Schema: 'public',
  Alias: 'big',
  'Total Cost': 1000,
  'Plan Rows': 10,
  ...(filter === null ? {} : { Filter: filter }),
  ...extra,
});
const sorted = (keys: string[], child: PlanNode): PlanNode => ({
  'Node Type': 'Limit',
  'Total Cost': 2000,
  Plans: [{ 'Node Type': 'Sort', 'Parent Relationship': 'Outer', 'Sort Key': keys, 'Total Cost': 2000, Plans: [{ ...child, 'Parent Relationship': 'Outer' }] }],
});

describe('indexCandidates', () => {
  it('proposes the filtered column of a large table', () => {
    const summary = summarizePlan(seqScan('(big.category = 42)'));
    expect(indexCandidates(summary, lookup([bigTable]))).toEqual([
      { schema: 'public', table: 'big', columns: [{ name: 'category', descending: false, nullsFirst: null }], reason: 'filter' },
    ]);
  });

  it('proposes a composite (equality, then range) before single columns', () => {
    const summary = summarizePlan(seqScan("((big.score > 5) AND ((big.name)::text = 'x'::text))"));
    expect(indexCandidates(summary, lookup([bigTable])).map((c) => c.columns.map((x) => x.name))).toEqual([
      ['name', 'score'],
      ['name'],
      ['score'],
    ]);
  });

  it('proposes sort keys over a seq scan, and filter+sort when the filter is all equality', () => {
    expect(indexCandidates(summarizePlan(sorted(['big.score DESC'], seqScan(null))), lookup([bigTable]))).toEqual([
      { schema: 'public', table: 'big', columns: [{ name: 'score', descending: false, nullsFirst: null }], reason: 'sort' },
    ]);
    const both = indexCandidates(summarizePlan(sorted(['big.created_at'], seqScan('(big.category = 1)'))), lookup([bigTable]));
    expect(both.map((c) => [c.reason, c.columns.map((x) => x.name)])).toEqual([
      ['filter+sort', ['category', 'created_at']],
      ['filter', ['category']],
      ['sort', ['created_at']],
    ]);
  });

  it('keeps mixed sort directions', () => {
    const [candidate] = indexCandidates(summarizePlan(sorted(['big.score DESC', 'big.name'], seqScan(null))), lookup([bigTable]));
    expect(candidate?.columns).toEqual([
      { name: 'score', descending: true, nullsFirst: null },
      { name: 'name', descending: false, nullsFirst: null },
    ]);
  });

  it('skips small tables, unknown tables, and columns an existing index leads', () => {
    const small = { ...bigTable, rows: 9_999 };
    expect(indexCandidates(summarizePlan(seqScan('(big.category = 1)')), lookup([small]))).toEqual([]);
    expect(indexCandidates(summarizePlan(seqScan('(big.category = 1)')), lookup([]))).toEqual([]);
    const indexed = { ...bigTable, indexes: [{ name: 'big_category_name_idx', columns: ['category', 'name'] }] };
    expect(indexCandidates(summarizePlan(seqScan('(big.category = 1)')), lookup([indexed]))).toEqual([]);
    // Never analyzed: decided by pages.
    const fresh = { ...bigTable, rows: -1, pages: 1000 };
    expect(indexCandidates(summarizePlan(seqScan('(big.category = 1)')), lookup([fresh]))).toHaveLength(1);
  });

  it('caps the candidates per query', () => {
    const summary = summarizePlan(seqScan('((big.category = 1) AND (big.name = 2) AND (big.score = 3) AND (big.created_at = 4))'));
    expect(indexCandidates(summary, lookup([bigTable]), { maxCandidatesPerQuery: 2 })).toHaveLength(2);
  });
});

describe('CREATE INDEX statements', () => {
  it('quotes identifiers only when needed, like quote_ident()', () => {
    expect(quoteIdent('category')).toBe('category');
    expect(quoteIdent('order')).toBe('"order"');
    expect(quoteIdent('Mixed Case')).toBe('"Mixed Case"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(
      createIndexStatement(
        { schema: 'My Schema', table: 'user', columns: [{ name: 'order', descending: true, nullsFirst: false }, { name: 'x', descending: false, nullsFirst: null }] },
        { name: 'user_order_x_idx', concurrently: true, ifNotExists: true },
      ),
    ).toBe('CREATE INDEX CONCURRENTLY IF NOT EXISTS user_order_x_idx ON "My Schema"."user" ("order" DESC NULLS LAST, x)');
  });

  it('names indexes as PostgreSQL does, within 63 bytes', () => {
    expect(indexName('big', ['category'])).toBe('big_category_idx');
    const long = indexName('a_rather_long_table_name_for_testing', ['first_long_column_name', 'second_long_column_name']);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
    expect(long).toMatch(/_[0-9a-f]{8}_idx$/);
    expect(Buffer.byteLength(indexName('é'.repeat(40), ['ü'.repeat(20)]))).toBeLessThanOrEqual(63);
  });
});

/** Sessions that answer like a database with HypoPG installed and the table above. */
class FakeHypoDatabase implements ExplainSessions {
  statements: string[] = [];
  sessions = 0;
  hypoIndexes: string[] = [];
  session<T>(_options: { readOnly: boolean }, work: (session: ExplainSession) => Promise<T>): Promise<T> {
    this.sessions++;
    const session: ExplainSession = {
      query: async <R extends object>(text: string, values?: readonly unknown[]): Promise<R[]> => {
        this.statements.push(text);
        if (text.includes('pg_available_extensions')) return [{ installed: true, available: true }] as unknown as R[];
        if (text.includes('FROM pg_class c')) return [{ ...bigTable, rows: 50_000, pages: 400 }] as unknown as R[];
        if (text.includes('hypopg_create_index')) {
          const name = `<1>btree_big_${this.hypoIndexes.length}`;
          this.hypoIndexes.push(`${name}:${String(values?.[0])}`);
          return [{ indexname: name }] as unknown as R[];
        }
        if (text.includes('hypopg_reset')) {
          this.hypoIndexes = [];
          return [];
        }
        return [];
      },
      explain: async (statement: ExplainStatement): Promise<ExplainResult> => {
        this.statements.push(`EXPLAIN ${statement.sql}`);
        const hypo = this.hypoIndexes[0];
        const root: PlanNode =
          hypo === undefined
            ? seqScan('(big.category = 42)', { 'Total Cost': 1000 })
            : { 'Node Type': 'Index Scan', 'Index Name': hypo.split(':')[0], 'Relation Name': 'big', 'Total Cost': 8 };
        return { json: [{ Plan: root }], root, totalCost: root['Total Cost'] as number, generic: false };
      },
      afterRollback: () => undefined,
      discard: () => undefined,
    };
    return work(session);
  }
}

function planned(fingerprint: string, sql: string, root: PlanNode): PlannedQuery {
  return { fingerprint, sql, parameters: [42], root, plan: { json: null, totalCost: 1000, summary: summarizePlan(root), generic: false, capturedAt: 1 } };
}

describe('IndexAdvisor with HypoPG (fake database)', () => {
  it('verifies with hypothetical indexes and merges queries served by the same index', async () => {
    const db = new FakeHypoDatabase();
    const advisor = new IndexAdvisor({ connection: db, whatIfsPerSecond: 1000, whatIfBurst: 100, now: () => 42 });
    expect(await advisor.verificationMethod()).toBe('hypopg');
    const root = seqScan('(big.category = 42)');
    const first = await advisor.analyze(planned('q1', 'SELECT * FROM big WHERE category = $1', root));
    expect(first).toHaveLength(1);
    await advisor.analyze([planned('q2', 'SELECT id FROM big WHERE category = $1', root), planned('q1', 'again, same plan', root)]);
    const [suggestion, ...rest] = advisor.suggestions();
    expect(rest).toEqual([]);
    expect(suggestion).toMatchObject({
      statement: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS big_category_idx ON public.big (category)',
      table: 'big',
      columns: ['category'],
      verifiedWith: 'hypopg',
      costBefore: 2000,
      costAfter: 16,
      createdAt: 42,
    });
    expect(suggestion?.queries.map((q) => q.fingerprint)).toEqual(['q1', 'q2']);
    expect(db.statements).toContain('SELECT indexname FROM hypopg_create_index($1)');
    expect(db.statements).not.toContain('CREATE EXTENSION IF NOT EXISTS hypopg');
    expect(db.statements.some((s) => s.startsWith('CREATE INDEX'))).toBe(false);
    expect(db.statements.filter((s) => s === 'SELECT hypopg_reset()')).toHaveLength(2);
    expect(advisor.stats()).toMatchObject({ queriesAnalyzed: 2, verified: 2, method: 'hypopg' });
  });

  it('rejects a candidate that does not halve the cost', async () => {
    const db = new FakeHypoDatabase();
    const advisor = new IndexAdvisor({ connection: db, whatIfsPerSecond: 1000, maxCostRatio: 0.001 });
    expect(await advisor.analyze(planned('q', 'SELECT * FROM big WHERE category = $1', seqScan('(big.category = 42)')))).toEqual([]);
    expect(advisor.stats()).toMatchObject({ rejected: 1, verified: 0, suggestions: 0 });
  });

  it('never rejects when the database fails', async () => {
    const broken: ExplainSessions = { session: () => Promise.reject(new Error('connection refused')) };
    const advisor = new IndexAdvisor({ connection: broken });
    await expect(advisor.analyze(planned('q', 'SELECT 1', seqScan('(big.category = 42)')))).resolves.toEqual([]);
    expect(advisor.stats()).toMatchObject({ failed: 1, lastError: 'connection refused' });
  });
});
