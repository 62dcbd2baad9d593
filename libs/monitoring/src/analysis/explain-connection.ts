import pg from 'pg';
import { planRoot, type PlanNode } from './plan-summary.js';

/**
 * The monitor's own database connection for EXPLAIN and what-if indexes: never the app's pool.
 *
 * Every use is one transaction that always rolls back:
 *
 *   BEGIN [READ ONLY]; SET LOCAL statement_timeout; SET LOCAL lock_timeout; …; ROLLBACK
 *
 * and the connection itself also carries `statement_timeout`, `lock_timeout` and
 * `idle_in_transaction_session_timeout` as startup settings, so every statement it ever sends
 * (BEGIN, ROLLBACK, DEALLOCATE included) is bounded.
 *
 * EXPLAIN is never `ANALYZE`: the explained statement is planned, not executed. Plain explains run
 * in a `READ ONLY` transaction on top of that, so even an `UPDATE`/`DELETE` sample cannot write.
 * Planning does take the table-level lock the statement would (ACCESS SHARE for a SELECT, ROW
 * EXCLUSIVE for an UPDATE) until the ROLLBACK a moment later; those only conflict with DDL, and
 * `lock_timeout` makes us give up rather than wait behind (and so hold up) a migration.
 *
 * How parameters are handled (PostgreSQL 15 has no `EXPLAIN (GENERIC_PLAN)`):
 * - with captured values: `EXPLAIN (FORMAT JSON, VERBOSE) <sql>` is sent through the extended
 *   protocol with the values bound as `$n`, exactly as the app sent them. PostgreSQL hands bound
 *   parameters of an unnamed statement to the planner as constants, so this is the custom plan the
 *   app's query got, with no literal ever spliced into SQL text (no quoting or injection risk, and
 *   the types are inferred from the query as they were for the app). The extended protocol also
 *   refuses more than one statement, so `sql` cannot smuggle a second command after the EXPLAIN.
 * - without values (text from `pg_stat_statements`, which keeps `$n` but not the values):
 *   `PREPARE` it, `SET LOCAL plan_cache_mode = force_generic_plan`, `EXPLAIN EXECUTE` it with
 *   NULLs (a generic plan does not look at them), and `DEALLOCATE` it after the rollback.
 */
export interface ExplainConnectionOptions {
  /** A PostgreSQL URL; merged over `config`. */
  connectionString?: string;
  /** Any other `pg` pool settings (host, user, ssl, …). */
  config?: pg.PoolConfig;
  /** Bounds every statement on this connection (default 5000 ms). */
  statementTimeoutMs?: number;
  /** Bounds waiting for a lock, e.g. behind a migration (default 200 ms). */
  lockTimeoutMs?: number;
  /** Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Pool size (default 1: explains are serialized, which is also the point). */
  maxConnections?: number;
  /** Default `chat-monitoring-explain`, to recognise these sessions in `pg_stat_activity`. */
  applicationName?: string;
  /** Sees every statement text sent (for tests and debugging). */
  onStatement?: (text: string) => void;
}

export interface ExplainStatement {
  /** The SQL as the app sent it, with `$n` placeholders. */
  sql: string;
  /** The values the app bound; empty for a statement whose values are unknown. */
  parameters: readonly unknown[];
}

export interface ExplainResult {
  /** The raw `EXPLAIN (FORMAT JSON, VERBOSE)` output. */
  json: unknown;
  root: PlanNode;
  totalCost: number;
  /** True when explained as a generic plan (values unknown). */
  generic: boolean;
}

/** What the slow-query analyzer needs; `ExplainConnection` is the real one. */
export interface Explainer {
  explain(statement: ExplainStatement): Promise<ExplainResult>;
}

/** One transaction on the explain connection; it is rolled back when the callback ends. */
export interface ExplainSession {
  query<R extends object = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<R[]>;
  explain(statement: ExplainStatement): Promise<ExplainResult>;
  /** Runs after the ROLLBACK (for session-level state a rollback does not undo). */
  afterRollback(text: string): void;
  /** Closes this connection instead of returning it to the pool (for backend-local state that must not leak). */
  discard(): void;
}

/** What the index advisor needs; `ExplainConnection` is the real one. */
export interface ExplainSessions {
  session<T>(options: { readOnly: boolean }, work: (session: ExplainSession) => Promise<T>): Promise<T>;
}

export class NotExplainableError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NotExplainableError';
  }
}

const EXPLAINABLE = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** Leading whitespace, comments and parentheses removed; trailing semicolons removed. */
function trimStatement(sql: string): { body: string; head: string } {
  let i = 0;
  for (;;) {
    while (i < sql.length && /[\s(]/.test(sql[i])) i++;
    if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else break;
  }
  const body = sql.replace(/[\s;]+$/, '');
  return { body, head: sql.slice(i) };
}

/**
 * The statement's first keyword when EXPLAIN accepts it (`SELECT`, `WITH`, `VALUES`, `TABLE`,
 * `INSERT`, `UPDATE`, `DELETE`, `MERGE`), else null.
 */
export function explainableKind(sql: string): string | null {
  const { head } = trimStatement(sql);
  const word = /^[A-Za-z]+/.exec(head)?.[0].toUpperCase() ?? '';
  return EXPLAINABLE.has(word) ? word : null;
}

/** `$n` placeholders outside string literals, quoted identifiers and comments. */
export function placeholderCount(sql: string): number {
  let max = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const close = sql.indexOf(c, i + 1);
      i = close < 0 ? sql.length : close + 1;
    } else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === '$') {
      const m = /^\$(\d+)/.exec(sql.slice(i, i + 12));
      if (m !== null && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? ' ')) {
        max = Math.max(max, Number(m[1]));
        i += m[0].length;
      } else {
        // A dollar-quoted string ($$…$$ or $tag$…$tag$): skip to its end.
        const tag = /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.exec(sql.slice(i))?.[0];
        if (tag === undefined) i++;
        else {
          const close = sql.indexOf(tag, i + tag.length);
          i = close < 0 ? sql.length : close + tag.length;
        }
      }
    } else i++;
  }
  return max;
}

/** A generic plan is needed when the SQL has `$n` placeholders but no values were captured. */
export function needsGenericPlan(statement: ExplainStatement): boolean {
  return statement.parameters.length === 0 && placeholderCount(statement.sql) > 0;
}

function nonNegativeInt(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;
}

function isClientTimeout(error: unknown): boolean {
  return error instanceof Error && !('code' in error) && /timeout/i.test(error.message);
}

export class ExplainConnection implements Explainer, ExplainSessions {
  private pool: pg.Pool | null = null;
  private closed = false;
  private prepared = 0;
  private readonly statementTimeoutMs: number;
  private readonly lockTimeoutMs: number;
  /** The last error the pool reported on an idle connection (the pool would crash the process without a listener). */
  lastPoolError: Error | null = null;

  constructor(private readonly options: ExplainConnectionOptions = {}) {
    this.statementTimeoutMs = Math.max(1, nonNegativeInt(options.statementTimeoutMs, 5000));
    this.lockTimeoutMs = Math.max(1, nonNegativeInt(options.lockTimeoutMs, 200));
  }

  /** A plain explain in a READ ONLY transaction that rolls back. */
  explain(statement: ExplainStatement): Promise<ExplainResult> {
    return this.session({ readOnly: true }, (session) => session.explain(statement));
  }

  /**
   * Runs `work` inside `BEGIN [READ ONLY] … ROLLBACK` on one connection of the explain pool.
   * The transaction is always rolled back, whatever `work` did or threw.
   */
  async session<T>(options: { readOnly: boolean }, work: (session: ExplainSession) => Promise<T>): Promise<T> {
    const pool = this.getPool();
    const client = await pool.connect();
    const afterRollback: string[] = [];
    let destroy: Error | undefined;
    // pg-pool takes its error listener off a client while it is checked out: a connection dropped
    // under a session (the server restarted, the database went away) would otherwise be an
    // uncaught 'error' event. Here it only means this connection is not returned to the pool.
    const onError = (error: Error): void => {
      destroy ??= error;
    };
    client.on('error', onError);
    const run = async <R extends object>(text: string, values?: readonly unknown[]): Promise<R[]> => {
      this.options.onStatement?.(text);
      // queryMode 'extended' (not in @types/pg): one statement only, even without values.
      const config = { text, values: values === undefined ? [] : [...values], queryMode: 'extended' } as pg.QueryConfig;
      const result = await client.query<R>(config);
      return result.rows;
    };
    const explain = async (statement: ExplainStatement): Promise<ExplainResult> => {
      const kind = explainableKind(statement.sql);
      if (kind === null) throw new NotExplainableError('not an explainable statement (SELECT/WITH/VALUES/TABLE/INSERT/UPDATE/DELETE/MERGE)');
      const sql = trimStatement(statement.sql).body;
      let rows: Array<Record<string, unknown>>;
      const generic = needsGenericPlan(statement);
      if (generic) {
        const name = `chat_monitoring_explain_${++this.prepared}`;
        await run(`PREPARE ${name} AS ${sql}`);
        afterRollback.push(`DEALLOCATE ${name}`);
        await run('SET LOCAL plan_cache_mode = force_generic_plan');
        const [info] = await run<{ n: number | null }>(
          'SELECT cardinality(parameter_types) AS n FROM pg_prepared_statements WHERE name = $1',
          [name],
        );
        const count = info?.n ?? 0;
        const args = count > 0 ? `(${new Array<string>(count).fill('NULL').join(', ')})` : '';
        rows = await run(`EXPLAIN (FORMAT JSON, VERBOSE) EXECUTE ${name}${args}`);
      } else {
        rows = await run(`EXPLAIN (FORMAT JSON, VERBOSE) ${sql}`, statement.parameters);
      }
      const json = rows[0]?.['QUERY PLAN'];
      const root = planRoot(json);
      if (root === null) throw new Error('EXPLAIN returned no plan');
      const cost = root['Total Cost'];
      return { json, root, totalCost: typeof cost === 'number' ? cost : Number.NaN, generic };
    };
    try {
      await run(options.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
      await run(`SET LOCAL statement_timeout = ${this.statementTimeoutMs}`);
      await run(`SET LOCAL lock_timeout = ${this.lockTimeoutMs}`);
      return await work({
        query: run,
        explain,
        afterRollback: (text) => afterRollback.push(text),
        discard: () => {
          destroy ??= new Error('discarded');
        },
      });
    } catch (error) {
      // A client-side read timeout leaves a statement running on a connection we cannot trust:
      // drop it; the server rolls the transaction back when the session ends.
      if (isClientTimeout(error)) destroy ??= error as Error;
      throw error;
    } finally {
      if (destroy === undefined) {
        try {
          await run('ROLLBACK');
          for (const text of afterRollback) await run(text);
        } catch (error) {
          // A dead connection: discard it rather than return it to the pool.
          destroy = error instanceof Error ? error : new Error(String(error));
        }
      }
      client.removeListener('error', onError);
      client.release(destroy ?? false);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    if (pool !== null) await pool.end();
  }

  private getPool(): pg.Pool {
    if (this.closed) throw new Error('explain connection closed');
    if (this.pool !== null) return this.pool;
    const options = this.options;
    const pool = new pg.Pool({
      ...options.config,
      ...(options.connectionString === undefined ? {} : { connectionString: options.connectionString }),
      max: Math.max(1, nonNegativeInt(options.maxConnections, 1)),
      connectionTimeoutMillis: nonNegativeInt(options.connectTimeoutMs, 5000),
      idleTimeoutMillis: 30_000,
      allowExitOnIdle: true,
      application_name: options.applicationName ?? 'chat-monitoring-explain',
      statement_timeout: this.statementTimeoutMs,
      lock_timeout: this.lockTimeoutMs,
      idle_in_transaction_session_timeout: this.statementTimeoutMs * 2,
      // Client-side backstop for a server that stops answering.
      query_timeout: this.statementTimeoutMs + 2000,
    });
    pool.on('error', (error) => {
      this.lastPoolError = error;
    });
    this.pool = pool;
    return pool;
  }
}
