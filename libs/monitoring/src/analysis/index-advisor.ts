import { randomBytes } from 'node:crypto';
import { ExplainConnection, type ExplainConnectionOptions, type ExplainSessions } from './explain-connection.js';
import { filterPredicates, sortColumns, type SortColumn } from './filter-expression.js';
import type { PlannedQuery } from './plan-capture.js';
import { planUsesIndex, type PlanSummary } from './plan-summary.js';
import { systemNow, systemScheduler, TokenBucket, type Scheduler } from './rate-limit.js';
import { indexName, quoteIdent } from './sql-identifiers.js';

/**
 * Index suggestions from captured plans, each verified by a what-if plan (Dexter's method).
 *
 * 1. Candidates: every `Seq Scan` on a relation above `minTableRows` whose `Filter` compares columns
 *    with constants (equality columns first, then one range column), and the keys of a `Sort` right
 *    above such a scan; columns are matched against the catalog (see filter-expression.ts).
 *    Candidates an existing index already provides (as a prefix of its key columns) are skipped.
 * 2. Verification, one candidate at a time, rate-limited, on the explain connection:
 *    - HypoPG when the extension is installed (or can be created inside the rolled-back transaction):
 *      a hypothetical index costs nothing and locks nothing;
 *    - otherwise `BEGIN; CREATE INDEX …; EXPLAIN …; ROLLBACK`. That builds a real index, and
 *      CREATE INDEX takes a SHARE lock on the table for the rest of the transaction: reads go on,
 *      but INSERT/UPDATE/DELETE on that table wait until our ROLLBACK. So it never runs on the hot
 *      path: it runs on the explain connection, behind a token bucket, with `lock_timeout` (we give up
 *      instead of queueing behind a writer, which would make every later writer queue behind us)
 *      and `statement_timeout` (bounds the build, hence the time writers can be held), and not at all
 *      on tables above `maxTransactionTableRows`. It also needs the role to own the table. One
 *      PostgreSQL subtlety: an index built over HOT chains broken by recent updates is marked
 *      `indcheckxmin` and is invisible to plans of the very transaction that built it; the what-if
 *      then shows no gain and the candidate is dropped (a false negative, never a false positive).
 * 3. A suggestion is kept only when the what-if plan uses the index and
 *    cost_after <= cost_before * maxCostRatio (0.5: "cuts the cost by at least half").
 *    Suggestions on the same (table, columns) are merged; each lists the queries it serves.
 */
export interface IndexAdvisorOptions {
  /** The explain connection (shared with the slow-query analyzer), or options to create one. */
  connection: ExplainSessions | ExplainConnectionOptions;
  /** Only tables with at least this many rows (`pg_class.reltuples`) get suggestions (default 10,000). */
  minTableRows?: number;
  /** For tables never analyzed (`reltuples` = -1): at least this many 8 KiB pages (default 128). */
  minTablePages?: number;
  /** Columns per suggested index (default 3). */
  maxColumns?: number;
  /** What-if plans per query (default 4). */
  maxCandidatesPerQuery?: number;
  /** Keep a suggestion when cost_after <= cost_before * maxCostRatio (default 0.5). */
  maxCostRatio?: number;
  /** What-if verifications started per second (default 1) and burst (default 1). */
  whatIfsPerSecond?: number;
  whatIfBurst?: number;
  /** The transaction path is not used on tables above this many rows (default 5,000,000). */
  maxTransactionTableRows?: number;
  /**
   * `auto` (default): HypoPG when installed, or when available and creatable inside the rolled-back
   * transaction (needs the privilege; nothing persists); else the transaction path.
   * `installed`: HypoPG only when already installed. `off`: always the transaction path.
   */
  hypoPG?: 'auto' | 'installed' | 'off';
  /** Suggestions kept (the least recently confirmed are dropped beyond it; default 100). */
  maxSuggestions?: number;
  /** How long catalog facts about a table are reused (default 60 s). */
  catalogTtlMs?: number;
  now?: () => number;
  scheduler?: Scheduler;
}

export type VerificationMethod = 'hypopg' | 'transaction';

export interface IndexColumn {
  name: string;
  descending: boolean;
  /** Only set when it differs from the direction's default. */
  nullsFirst: boolean | null;
}

export interface ServedQuery {
  fingerprint: string;
  sql: string;
  costBefore: number;
  costAfter: number;
}

export interface IndexSuggestion {
  /** `CREATE INDEX CONCURRENTLY IF NOT EXISTS <name> ON <schema>.<table> (<columns>)`, identifiers quoted. */
  statement: string;
  indexName: string;
  schema: string;
  table: string;
  columns: string[];
  /** The queries it serves, with their plan cost before and after (what-if). */
  queries: ServedQuery[];
  /** Sums over `queries`. */
  costBefore: number;
  costAfter: number;
  verifiedWith: VerificationMethod;
  createdAt: number;
  updatedAt: number;
}

/** What the catalog says about a scanned table. */
export interface RelationInfo {
  schema: string;
  name: string;
  /** `pg_class.relkind`. */
  kind: string;
  /** `pg_class.reltuples`; -1 when never analyzed. */
  rows: number;
  /** Current size in pages. */
  pages: number;
  columns: string[];
  /** Valid, non-partial indexes with their key columns (null for an expression column). */
  indexes: Array<{ name: string; columns: Array<string | null> }>;
}

export interface IndexCandidate {
  schema: string;
  table: string;
  columns: IndexColumn[];
  reason: 'filter' | 'sort' | 'filter+sort';
}

export interface CandidateOptions {
  minTableRows: number;
  minTablePages: number;
  maxColumns: number;
  maxCandidatesPerQuery: number;
}

export interface IndexAdvisorStats {
  queriesAnalyzed: number;
  candidates: number;
  whatIfRuns: number;
  /** What-if plans that used the index and halved the cost. */
  verified: number;
  /** What-if plans that did not. */
  rejected: number;
  failed: number;
  skippedLargeTables: number;
  suggestions: number;
  method: VerificationMethod | null;
  lastError: string | null;
}

const DEFAULTS: CandidateOptions = { minTableRows: 10_000, minTablePages: 128, maxColumns: 3, maxCandidatesPerQuery: 4 };

/** Tables (ordinary, partitioned leaf, materialized view) big enough to be worth an index. */
export function isLargeEnough(relation: RelationInfo, options: Pick<CandidateOptions, 'minTableRows' | 'minTablePages'>): boolean {
  if (!['r', 'm'].includes(relation.kind)) return false;
  return relation.rows >= 0 ? relation.rows >= options.minTableRows : relation.pages >= options.minTablePages;
}

function columnKey(columns: readonly IndexColumn[]): string {
  return columns.map((c) => `${c.name}${c.descending ? ' DESC' : ''}${c.nullsFirst === null ? '' : c.nullsFirst ? ' NULLS FIRST' : ' NULLS LAST'}`).join(', ');
}

const plain = (name: string): IndexColumn => ({ name, descending: false, nullsFirst: null });

/** Sort columns as index columns: directions only matter (and are kept) when they are mixed. */
function sortIndexColumns(sort: SortColumn[]): IndexColumn[] {
  const uniform = sort.every((s) => s.descending === sort[0].descending && s.nullsFirst === null);
  return sort.map((s) => (uniform ? plain(s.column) : { name: s.column, descending: s.descending, nullsFirst: s.nullsFirst }));
}

/** The index candidates a plan suggests, most promising first. */
export function indexCandidates(
  summary: PlanSummary,
  relationOf: (schema: string | null, name: string) => RelationInfo | undefined,
  options: Partial<CandidateOptions> = {},
): IndexCandidate[] {
  const opts = { ...DEFAULTS, ...options };
  const result: IndexCandidate[] = [];
  const seen = new Set<string>();
  for (const scan of summary.seqScans) {
    const relation = relationOf(scan.schema, scan.relation);
    if (relation === undefined || !isLargeEnough(relation, opts)) continue;
    const target = { alias: scan.alias, relation: scan.relation, columns: new Set(relation.columns) };
    const predicates = scan.filter === null ? [] : filterPredicates(scan.filter, target);
    const equality = predicates.filter((p) => p.kind === 'equality').map((p) => p.column);
    const range = predicates.filter((p) => p.kind === 'range').map((p) => p.column);
    const sort = scan.sortKeys === null ? null : sortColumns(scan.sortKeys, target);

    const proposals: Array<{ columns: IndexColumn[]; reason: IndexCandidate['reason'] }> = [];
    if (sort !== null && sort.length > 0 && equality.length > 0 && range.length === 0) {
      const sortCols = sortIndexColumns(sort).filter((c) => !equality.includes(c.name));
      const both = [...equality.map(plain), ...sortCols];
      if (both.length <= opts.maxColumns) proposals.push({ columns: both, reason: 'filter+sort' });
    }
    const composite = [...equality, ...range.slice(0, 1)].slice(0, opts.maxColumns);
    if (composite.length > 1) proposals.push({ columns: composite.map(plain), reason: 'filter' });
    for (const column of equality) proposals.push({ columns: [plain(column)], reason: 'filter' });
    if (sort !== null && sort.length > 0 && sort.length <= opts.maxColumns) proposals.push({ columns: sortIndexColumns(sort), reason: 'sort' });
    for (const column of range) proposals.push({ columns: [plain(column)], reason: 'filter' });

    for (const proposal of proposals) {
      const key = `${relation.schema}.${relation.name}(${columnKey(proposal.columns)})`;
      if (seen.has(key)) continue;
      seen.add(key);
      const names = proposal.columns.map((c) => c.name);
      // An existing index whose key columns start with these already provides this access path.
      const provided = relation.indexes.some((index) => names.every((name, i) => index.columns[i] === name));
      if (provided) continue;
      result.push({ schema: relation.schema, table: relation.name, columns: proposal.columns, reason: proposal.reason });
    }
  }
  return result.slice(0, opts.maxCandidatesPerQuery);
}

/** The `CREATE INDEX` for a candidate; `name` null lets PostgreSQL (or HypoPG) choose. */
export function createIndexStatement(
  candidate: Pick<IndexCandidate, 'schema' | 'table' | 'columns'>,
  options: { name: string | null; concurrently: boolean; ifNotExists: boolean },
): string {
  const columns = candidate.columns
    .map((c) => `${quoteIdent(c.name)}${c.descending ? ' DESC' : ''}${c.nullsFirst === null ? '' : c.nullsFirst ? ' NULLS FIRST' : ' NULLS LAST'}`)
    .join(', ');
  const parts = ['CREATE INDEX'];
  if (options.concurrently) parts.push('CONCURRENTLY');
  if (options.ifNotExists && options.name !== null) parts.push('IF NOT EXISTS');
  if (options.name !== null) parts.push(quoteIdent(options.name));
  parts.push('ON', `${quoteIdent(candidate.schema)}.${quoteIdent(candidate.table)}`, `(${columns})`);
  return parts.join(' ');
}

const CATALOG_SQL = `
SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind,
       c.reltuples::float8 AS rows,
       (pg_relation_size(c.oid) / current_setting('block_size')::int8)::float8 AS pages,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
       COALESCE((SELECT json_agg(json_build_object(
                   'name', ic.relname::text,
                   'columns', ARRAY(SELECT a.attname::text
                                    FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                                    LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                                    WHERE k.ord <= i.indnkeyatts ORDER BY k.ord)))
                 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                 WHERE i.indrelid = c.oid AND i.indisvalid AND i.indpred IS NULL), '[]'::json) AS indexes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = CASE WHEN $1::text IS NULL THEN to_regclass(quote_ident($2::text))
                   ELSE to_regclass(quote_ident($1::text) || '.' || quote_ident($2::text)) END`;

interface CatalogRow {
  schema: string;
  name: string;
  kind: string;
  rows: number;
  pages: number;
  columns: string[];
  indexes: Array<{ name: string; columns: Array<string | null> }>;
}

interface WhatIfMode {
  method: VerificationMethod;
  /** HypoPG is available but not installed: CREATE EXTENSION inside each (rolled back) transaction. */
  createExtension: boolean;
}

interface Verification {
  candidate: IndexCandidate;
  costBefore: number;
  costAfter: number;
  used: boolean;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

export class IndexAdvisor {
  private readonly connection: ExplainSessions;
  private readonly owned: ExplainConnection | null;
  private readonly candidateOptions: CandidateOptions;
  private readonly maxCostRatio: number;
  private readonly maxTransactionTableRows: number;
  private readonly hypoPG: 'auto' | 'installed' | 'off';
  private readonly maxSuggestions: number;
  private readonly catalogTtlMs: number;
  private readonly now: () => number;
  private readonly scheduler: Scheduler;
  private readonly bucket: TokenBucket;
  private mode: WhatIfMode | null = null;
  private closed = false;
  private readonly store = new Map<string, IndexSuggestion>();
  private readonly catalog = new Map<string, { info: RelationInfo | undefined; at: number }>();
  /** `fingerprint@capturedAt` already analyzed (bounded). */
  private readonly analyzed = new Set<string>();
  private running: Promise<unknown> = Promise.resolve();
  private readonly counters = {
    queriesAnalyzed: 0,
    candidates: 0,
    whatIfRuns: 0,
    verified: 0,
    rejected: 0,
    failed: 0,
    skippedLargeTables: 0,
  };
  private lastError: string | null = null;

  constructor(options: IndexAdvisorOptions) {
    const connection = options.connection;
    if (typeof (connection as Partial<ExplainSessions>).session === 'function') {
      this.connection = connection as ExplainSessions;
      this.owned = null;
    } else {
      this.owned = new ExplainConnection(connection as ExplainConnectionOptions);
      this.connection = this.owned;
    }
    this.candidateOptions = {
      minTableRows: options.minTableRows ?? DEFAULTS.minTableRows,
      minTablePages: options.minTablePages ?? DEFAULTS.minTablePages,
      maxColumns: Math.floor(positive(options.maxColumns, DEFAULTS.maxColumns)),
      maxCandidatesPerQuery: Math.floor(positive(options.maxCandidatesPerQuery, DEFAULTS.maxCandidatesPerQuery)),
    };
    this.maxCostRatio = positive(options.maxCostRatio, 0.5);
    this.maxTransactionTableRows = positive(options.maxTransactionTableRows, 5_000_000);
    this.hypoPG = options.hypoPG ?? 'auto';
    this.maxSuggestions = Math.floor(positive(options.maxSuggestions, 100));
    this.catalogTtlMs = options.catalogTtlMs ?? 60_000;
    this.now = options.now ?? systemNow;
    this.scheduler = options.scheduler ?? systemScheduler;
    this.bucket = new TokenBucket(positive(options.whatIfsPerSecond, 1), Math.floor(positive(options.whatIfBurst, 1)) || 1, this.now);
  }

  /**
   * Looks for index candidates in the queries' plans and verifies them. Each (fingerprint, plan) is
   * analyzed once. Calls are serialized. Resolves with the suggestions these queries produced or
   * confirmed; never rejects (failures are counted in `stats()`).
   */
  analyze(queries: PlannedQuery | Iterable<PlannedQuery>): Promise<IndexSuggestion[]> {
    const list = Symbol.iterator in Object(queries) ? [...(queries as Iterable<PlannedQuery>)] : [queries as PlannedQuery];
    const run = this.running.then(() => this.analyzeAll(list));
    this.running = run.catch(() => undefined);
    return run.catch(() => []);
  }

  /** Current suggestions, largest cost saving first. */
  suggestions(): IndexSuggestion[] {
    return [...this.store.values()]
      .map((s) => ({ ...s, columns: [...s.columns], queries: s.queries.map((q) => ({ ...q })) }))
      .sort((a, b) => b.costBefore - b.costAfter - (a.costBefore - a.costAfter));
  }

  stats(): IndexAdvisorStats {
    return { ...this.counters, suggestions: this.store.size, method: this.mode?.method ?? null, lastError: this.lastError };
  }

  /** How candidates are verified on this database (decided once, on first use). */
  async verificationMethod(): Promise<VerificationMethod> {
    return (await this.whatIfMode()).method;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.running;
    if (this.owned !== null) await this.owned.close().catch(() => undefined);
  }

  private async analyzeAll(list: PlannedQuery[]): Promise<IndexSuggestion[]> {
    const touched = new Set<string>();
    for (const query of list) {
      if (this.closed) break;
      const key = `${query.fingerprint}@${query.plan.capturedAt}`;
      if (this.analyzed.has(key)) continue;
      this.analyzed.add(key);
      if (this.analyzed.size > 10_000) this.analyzed.delete(this.analyzed.values().next().value!);
      try {
        for (const suggestionKey of await this.analyzeOne(query)) touched.add(suggestionKey);
      } catch (error) {
        this.counters.failed++;
        this.lastError = message(error);
      }
    }
    return [...touched].flatMap((key) => {
      const suggestion = this.store.get(key);
      return suggestion === undefined ? [] : [{ ...suggestion, columns: [...suggestion.columns], queries: suggestion.queries.map((q) => ({ ...q })) }];
    });
  }

  private async analyzeOne(query: PlannedQuery): Promise<string[]> {
    this.counters.queriesAnalyzed++;
    const summary = query.plan.summary;
    this.forgetServedWithoutSeqScan(query.fingerprint, summary);
    if (summary.seqScans.length === 0) return [];
    const relations = new Map<string, RelationInfo | undefined>();
    for (const scan of summary.seqScans) {
      const key = `${scan.schema ?? ''}.${scan.relation}`;
      if (!relations.has(key)) relations.set(key, await this.relation(scan.schema, scan.relation));
    }
    for (const relation of relations.values()) if (relation !== undefined) this.pruneProvided(relation);
    const candidates = indexCandidates(summary, (schema, name) => relations.get(`${schema ?? ''}.${name}`), this.candidateOptions);
    this.counters.candidates += candidates.length;
    if (candidates.length === 0) return [];

    const mode = await this.whatIfMode();
    const best = new Map<string, Verification>();
    for (const candidate of candidates) {
      if (this.closed) break;
      const relation = [...relations.values()].find((r) => r?.schema === candidate.schema && r.name === candidate.table);
      if (mode.method === 'transaction' && relation !== undefined && relation.rows > this.maxTransactionTableRows) {
        this.counters.skippedLargeTables++;
        continue;
      }
      let verification: Verification;
      try {
        await this.bucket.take(this.scheduler);
        this.counters.whatIfRuns++;
        verification = await this.verify(query, candidate, mode);
      } catch (error) {
        this.counters.failed++;
        this.lastError = message(error);
        continue;
      }
      const passes = verification.used && verification.costAfter <= verification.costBefore * this.maxCostRatio;
      if (!passes) {
        this.counters.rejected++;
        continue;
      }
      this.counters.verified++;
      const table = `${candidate.schema}.${candidate.table}`;
      const current = best.get(table);
      if (current === undefined || this.better(verification, current)) best.set(table, verification);
    }
    return [...best.values()].map((v) => this.upsert(query, v, mode.method));
  }

  /** Lower cost wins, but an extra column must buy more than 5%. */
  private better(a: Verification, b: Verification): boolean {
    const ca = a.candidate.columns.length;
    const cb = b.candidate.columns.length;
    if (ca < cb) return a.costAfter <= b.costAfter * 1.05;
    if (ca > cb) return a.costAfter * 1.05 < b.costAfter;
    return a.costAfter < b.costAfter;
  }

  private async verify(query: PlannedQuery, candidate: IndexCandidate, mode: WhatIfMode): Promise<Verification> {
    const statement = { sql: query.sql, parameters: query.parameters };
    return this.connection.session({ readOnly: false }, async (session) => {
      const before = await session.explain(statement);
      let name: string;
      let afterRoot;
      let costAfter: number;
      if (mode.method === 'hypopg') {
        // Hypothetical indexes live in the backend, not the transaction: reset on success, and drop
        // the connection on failure so that none can leak into a later plain explain.
        try {
          if (mode.createExtension) await session.query('CREATE EXTENSION IF NOT EXISTS hypopg');
          const definition = createIndexStatement(candidate, { name: null, concurrently: false, ifNotExists: false });
          const [row] = await session.query<{ indexname: string }>('SELECT indexname FROM hypopg_create_index($1)', [definition]);
          if (row === undefined) throw new Error('hypopg_create_index returned nothing');
          name = row.indexname;
          const after = await session.explain(statement);
          await session.query('SELECT hypopg_reset()');
          afterRoot = after.root;
          costAfter = after.totalCost;
        } catch (error) {
          session.discard();
          throw error;
        }
      } else {
        // A real index, visible only to this transaction and gone at ROLLBACK. CREATE INDEX holds a
        // SHARE lock on the table until then (writes wait; reads do not): lock_timeout and
        // statement_timeout on this connection bound how long. Not CONCURRENTLY: that cannot run in
        // a transaction block, so it could not be rolled back.
        name = `chat_monitoring_whatif_${randomBytes(6).toString('hex')}`;
        await session.query(createIndexStatement(candidate, { name, concurrently: false, ifNotExists: false }));
        const after = await session.explain(statement);
        afterRoot = after.root;
        costAfter = after.totalCost;
      }
      return { candidate, costBefore: before.totalCost, costAfter, used: planUsesIndex(afterRoot, name) };
    });
  }

  private upsert(query: PlannedQuery, verification: Verification, method: VerificationMethod): string {
    const { candidate } = verification;
    const key = `${candidate.schema}.${candidate.table}(${columnKey(candidate.columns)})`;
    const now = this.now();
    let suggestion = this.store.get(key);
    if (suggestion === undefined) {
      const name = indexName(candidate.table, candidate.columns.map((c) => c.name));
      suggestion = {
        statement: createIndexStatement(candidate, { name, concurrently: true, ifNotExists: true }),
        indexName: name,
        schema: candidate.schema,
        table: candidate.table,
        columns: candidate.columns.map((c) => c.name),
        queries: [],
        costBefore: 0,
        costAfter: 0,
        verifiedWith: method,
        createdAt: now,
        updatedAt: now,
      };
      this.store.set(key, suggestion);
    } else {
      this.store.delete(key);
      this.store.set(key, suggestion); // most recently confirmed last
    }
    const served: ServedQuery = {
      fingerprint: query.fingerprint,
      sql: query.sql,
      costBefore: verification.costBefore,
      costAfter: verification.costAfter,
    };
    const at = suggestion.queries.findIndex((q) => q.fingerprint === query.fingerprint);
    if (at >= 0) suggestion.queries[at] = served;
    else suggestion.queries.push(served);
    suggestion.costBefore = suggestion.queries.reduce((sum, q) => sum + q.costBefore, 0);
    suggestion.costAfter = suggestion.queries.reduce((sum, q) => sum + q.costAfter, 0);
    suggestion.verifiedWith = method;
    suggestion.updatedAt = now;
    while (this.store.size > this.maxSuggestions) this.store.delete(this.store.keys().next().value!);
    return key;
  }

  /** A query whose new plan no longer seq-scans a suggestion's table is no longer served by it. */
  private forgetServedWithoutSeqScan(fingerprint: string, summary: PlanSummary): void {
    for (const [key, suggestion] of this.store) {
      const scans = summary.seqScans.some((scan) => scan.relation === suggestion.table && (scan.schema ?? suggestion.schema) === suggestion.schema);
      if (scans) continue;
      const kept = suggestion.queries.filter((q) => q.fingerprint !== fingerprint);
      if (kept.length === suggestion.queries.length) continue;
      if (kept.length === 0) {
        this.store.delete(key);
        continue;
      }
      suggestion.queries = kept;
      suggestion.costBefore = kept.reduce((sum, q) => sum + q.costBefore, 0);
      suggestion.costAfter = kept.reduce((sum, q) => sum + q.costAfter, 0);
    }
  }

  /** Drops suggestions an index now provides (e.g. once the operator applied it). */
  private pruneProvided(relation: RelationInfo): void {
    for (const [key, suggestion] of this.store) {
      if (suggestion.schema !== relation.schema || suggestion.table !== relation.name) continue;
      const provided = relation.indexes.some((index) => suggestion.columns.every((name, i) => index.columns[i] === name));
      if (provided) this.store.delete(key);
    }
  }

  private async relation(schema: string | null, name: string): Promise<RelationInfo | undefined> {
    const key = `${schema ?? ''}.${name}`;
    const cached = this.catalog.get(key);
    const now = this.now();
    if (cached !== undefined && now - cached.at < this.catalogTtlMs) return cached.info;
    const rows = await this.connection.session({ readOnly: true }, (s) => s.query<CatalogRow>(CATALOG_SQL, [schema, name]));
    const row = rows[0];
    const info: RelationInfo | undefined =
      row === undefined
        ? undefined
        : {
            schema: row.schema,
            name: row.name,
            kind: row.kind,
            rows: Number(row.rows),
            pages: Number(row.pages),
            columns: row.columns,
            indexes: row.indexes.map((i) => ({ name: i.name, columns: i.columns })),
          };
    this.catalog.set(key, { info, at: now });
    if (this.catalog.size > 1000) this.catalog.delete(this.catalog.keys().next().value!);
    return info;
  }

  private async whatIfMode(): Promise<WhatIfMode> {
    if (this.mode !== null) return this.mode;
    let mode: WhatIfMode = { method: 'transaction', createExtension: false };
    if (this.hypoPG !== 'off') {
      const [row] = await this.connection.session({ readOnly: true }, (session) =>
        session.query<{ installed: boolean; available: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hypopg') AS installed,
                  EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg') AS available`,
        ),
      );
      if (row?.installed === true) mode = { method: 'hypopg', createExtension: false };
      else if (row?.available === true && this.hypoPG === 'auto') {
        try {
          // Can we create it (privileges)? Inside a transaction that rolls back: nothing persists.
          mode = await this.connection.session({ readOnly: false }, async (session) => {
            await session.query('CREATE EXTENSION IF NOT EXISTS hypopg');
            return { method: 'hypopg' as const, createExtension: true };
          });
        } catch {
          mode = { method: 'transaction', createExtension: false };
        }
      }
    }
    this.mode = mode;
    return mode;
  }
}

/** Wires the analyzer's captured plans to the advisor: pass as `onPlanCaptured`. */
export function feedAdvisor(advisor: IndexAdvisor): (query: PlannedQuery) => void {
  return (query) => {
    void advisor.analyze(query);
  };
}
