import type { QuerySample } from '../queries/query-sample.js';
import { ExplainConnection, explainableKind, type ExplainConnectionOptions, type ExplainSessions } from './explain-connection.js';
import { systemNow } from './rate-limit.js';

/**
 * `pg_stat_statements`: what ran on the database, including outside this process.
 *
 * Available means both: the extension is installed in this database (`CREATE EXTENSION`), and its
 * library is loaded through `shared_preload_libraries` (a server restart). With only the first,
 * reading the view raises `pg_stat_statements must be loaded via "shared_preload_libraries"`
 * (SQLSTATE 55000): that is detected by actually reading it, and reported as `not-loaded`.
 */
export type PgStatStatementsAvailability =
  | { available: true; schema: string; version: string }
  | {
      available: false;
      reason: 'not-installed' | 'not-loaded' | 'error';
      detail: string;
      /** The server has the extension files (`CREATE EXTENSION pg_stat_statements` would work for a superuser). */
      installable: boolean;
    };

export interface StatementStat {
  /** `queryid` (a bigint, kept as a string). */
  queryId: string;
  /** Normalized text: constants replaced by `$n`. */
  query: string;
  calls: number;
  totalTimeMs: number;
  meanTimeMs: number;
  rows: number;
  meanRows: number;
}

/** A row as `pg` returns it (bigints as strings). Columns are aliased to these names whatever the PostgreSQL version. */
export interface RawStatementRow {
  queryid: string | number | null;
  query: string | null;
  calls: string | number | null;
  total_time: string | number | null;
  mean_time: string | number | null;
  rows: string | number | null;
}

export interface TopStatementsOptions {
  /** Order by total time (default) or mean time. */
  by?: 'total' | 'mean';
  /** Default 20, at most 1000. */
  limit?: number;
  /** Ignore statements called fewer times (default 1). */
  minCalls?: number;
}

function toNumber(value: string | number | null): number {
  const n = typeof value === 'number' ? value : Number(value ?? Number.NaN);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Raw rows to `StatementStat`s: numbers parsed, statements without text (`<insufficient privilege>`,
 * null) and, by default, statements EXPLAIN cannot take (utility commands such as the monitor's own
 * EXPLAINs, SET, BEGIN) dropped.
 */
export function shapeStatementRows(
  rows: readonly RawStatementRow[],
  options: { explainableOnly?: boolean; minCalls?: number } = {},
): StatementStat[] {
  const explainableOnly = options.explainableOnly ?? true;
  const minCalls = options.minCalls ?? 1;
  const result: StatementStat[] = [];
  for (const row of rows) {
    const query = row.query;
    if (query === null || query === '' || query.startsWith('<insufficient privilege>')) continue;
    if (explainableOnly && explainableKind(query) === null) continue;
    const calls = toNumber(row.calls);
    if (calls < minCalls) continue;
    const rowCount = toNumber(row.rows);
    const total = toNumber(row.total_time);
    result.push({
      queryId: row.queryid === null ? '' : String(row.queryid),
      query,
      calls,
      totalTimeMs: total,
      meanTimeMs: row.mean_time === null ? (calls > 0 ? total / calls : 0) : toNumber(row.mean_time),
      rows: rowCount,
      meanRows: calls > 0 ? rowCount / calls : 0,
    });
  }
  return result;
}

/**
 * Statements whose mean time is at or over the threshold, as `QuerySample`s for
 * `SlowQueryAnalyzer.consider()`. They carry no parameter values (pg_stat_statements keeps none), so
 * they are explained as generic plans. `fingerprint` defaults to `pgss:<queryid>`; pass the
 * libpg-query fingerprinter to merge them with the same queries captured in this process.
 */
export function statementsToSamples(
  stats: readonly StatementStat[],
  options: { thresholdMs: number; now?: () => number; fingerprint?: (sql: string) => string },
): QuerySample[] {
  const now = (options.now ?? systemNow)();
  return stats
    .filter((s) => s.meanTimeMs >= options.thresholdMs && explainableKind(s.query) !== null)
    .map((s) => ({
      sql: s.query,
      parameters: [],
      fingerprint: options.fingerprint?.(s.query) ?? `pgss:${s.queryId}`,
      durationMs: s.meanTimeMs,
      rows: Math.round(s.meanRows),
      operation: explainableKind(s.query) ?? 'UNKNOWN',
      route: null,
      startedAt: now,
    }));
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function sqlState(error: unknown): string | null {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : null;
}

export class PgStatStatementsReader {
  private readonly connection: ExplainSessions;
  private readonly owned: ExplainConnection | null;
  private readonly recheckAfterMs: number;
  private readonly now: () => number;
  private cached: { value: PgStatStatementsAvailability; at: number; columns: { total: string; mean: string; toplevel: boolean } | null } | null = null;
  lastError: string | null = null;

  constructor(
    connection: ExplainSessions | ExplainConnectionOptions,
    options: { recheckAfterMs?: number; now?: () => number } = {},
  ) {
    if (typeof (connection as Partial<ExplainSessions>).session === 'function') {
      this.connection = connection as ExplainSessions;
      this.owned = null;
    } else {
      this.owned = new ExplainConnection(connection as ExplainConnectionOptions);
      this.connection = this.owned;
    }
    this.recheckAfterMs = options.recheckAfterMs ?? 5 * 60_000;
    this.now = options.now ?? systemNow;
  }

  /** Whether the view can be read; re-checked every `recheckAfterMs` (an operator may install it). Never rejects. */
  async availability(): Promise<PgStatStatementsAvailability> {
    const now = this.now();
    if (this.cached !== null && now - this.cached.at < this.recheckAfterMs) return this.cached.value;
    let columns: { total: string; mean: string; toplevel: boolean } | null = null;
    let value: PgStatStatementsAvailability;
    try {
      value = await this.connection.session({ readOnly: true }, async (session) => {
        const [ext] = await session.query<{ schema: string; version: string; installable: boolean }>(
          `SELECT n.nspname::text AS schema, e.extversion AS version, true AS installable
             FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'pg_stat_statements'`,
        );
        if (ext === undefined) {
          const [available] = await session.query<{ installable: boolean }>(
            `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') AS installable`,
          );
          return {
            available: false,
            reason: 'not-installed',
            detail: 'the pg_stat_statements extension is not installed in this database',
            installable: available?.installable === true,
          } as const;
        }
        const view = `${quoteIdent(ext.schema)}.pg_stat_statements`;
        const names = (
          await session.query<{ name: string }>(
            `SELECT attname::text AS name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
            [view],
          )
        ).map((r) => r.name);
        // PostgreSQL 13 renamed total_time/mean_time to total_exec_time/mean_exec_time; 14 added toplevel.
        const v13 = names.includes('total_exec_time');
        columns = { total: v13 ? 'total_exec_time' : 'total_time', mean: v13 ? 'mean_exec_time' : 'mean_time', toplevel: names.includes('toplevel') };
        try {
          await session.query(`SELECT 1 FROM ${view} LIMIT 1`);
        } catch (error) {
          if (sqlState(error) === '55000') {
            return {
              available: false,
              reason: 'not-loaded',
              detail: error instanceof Error ? error.message : String(error),
              installable: true,
            } as const;
          }
          throw error;
        }
        return { available: true, schema: ext.schema, version: ext.version } as const;
      });
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      value = { available: false, reason: 'error', detail: this.lastError, installable: false };
    }
    this.cached = { value, at: now, columns: value.available ? columns : null };
    return value;
  }

  /** Top statements of this database by total or mean time; `[]` when unavailable or on error. Never rejects. */
  async top(options: TopStatementsOptions = {}): Promise<StatementStat[]> {
    const availability = await this.availability();
    const columns = this.cached?.columns ?? null;
    if (!availability.available || columns === null) return [];
    const limit = Math.min(1000, Math.max(1, Math.floor(options.limit ?? 20)));
    const order = options.by === 'mean' ? columns.mean : columns.total;
    const view = `${quoteIdent(availability.schema)}.pg_stat_statements`;
    try {
      const rows = await this.connection.session({ readOnly: true }, (session) =>
        session.query<RawStatementRow>(
          `SELECT queryid::text AS queryid, query, calls, ${columns.total} AS total_time, ${columns.mean} AS mean_time, rows
             FROM ${view}
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              ${columns.toplevel ? 'AND toplevel' : ''}
              AND query !~* '^\\s*(EXPLAIN|PREPARE|DEALLOCATE|BEGIN|ROLLBACK|COMMIT|SET)\\M'
            ORDER BY ${order} DESC
            LIMIT $1`,
          [limit * 2],
        ),
      );
      return shapeStatementRows(rows, { minCalls: options.minCalls ?? 1 }).slice(0, limit);
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      // It may have been dropped, or the server restarted without it: check again next time.
      this.cached = null;
      return [];
    }
  }

  async close(): Promise<void> {
    if (this.owned !== null) await this.owned.close().catch(() => undefined);
  }
}
