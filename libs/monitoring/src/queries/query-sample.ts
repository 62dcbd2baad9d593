/**
 * One database query as the monitor captured it: what the query capture hands to the analysis
 * (slow queries, plans, index suggestions). Shared by `queries/` and `analysis/`.
 */
export interface QuerySample {
  /** The SQL as sent, with `$n` placeholders. */
  sql: string;
  /** The bound values, as sent. */
  parameters: readonly unknown[];
  /** libpg-query fingerprint: literals and `$n` collapse to one value per query shape. */
  fingerprint: string;
  /** Wall time from send to result, in milliseconds (sub-millisecond resolution). */
  durationMs: number;
  /** Rows returned or affected; null when the driver did not say. */
  rows: number | null;
  /** `SELECT`, `INSERT`, `UPDATE`, `DELETE`, … (the statement's first keyword). */
  operation: string;
  /** The route template of the request it ran in (e.g. `GET /v1/items/:id`), or null outside a request. */
  route: string | null;
  /** Epoch milliseconds when it started (from the monitor's clock). */
  startedAt: number;
}
