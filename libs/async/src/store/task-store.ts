import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { Priority, Task, TaskError, TaskStatus } from '../core/task.types.js';

/** Anything that runs SQL: the DataSource (autocommit) or a transaction's EntityManager. */
export type Sql = Pick<DataSource | EntityManager, 'query'>;

interface TaskRow {
  id: string;
  type: string;
  owner_id: string | null;
  priority: Priority;
  status: TaskStatus;
  payload: unknown;
  attempts: number;
  max_attempts: number;
  timeout_ms: number;
  idempotency_key: string | null;
  result: unknown;
  error: TaskError | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

const COLUMNS = `id, type, owner_id, priority, status, payload, attempts, max_attempts, timeout_ms, idempotency_key,
  result, error, created_at, started_at, finished_at, updated_at`;
const PREFIXED_COLUMNS = COLUMNS.split(',')
  .map((c) => `t.${c.trim()}`)
  .join(', ');

function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    type: row.type,
    ownerId: row.owner_id,
    priority: row.priority,
    status: row.status,
    payload: row.payload,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    timeoutMs: row.timeout_ms,
    idempotencyKey: row.idempotency_key,
    result: row.result ?? null,
    error: row.error ?? null,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
  };
}

/** A task to insert, every option already resolved. */
export interface NewTask {
  type: string;
  ownerId: string | null;
  priority: Priority;
  payload: unknown;
  maxAttempts: number;
  timeoutMs: number;
  idempotencyKey: string | null;
}

export type InsertOutcome = { kind: 'inserted'; tasks: Array<{ task: Task; created: boolean }> } | { kind: 'full'; pending: number };

export interface TaskPage {
  items: Task[];
  nextCursor: string | null;
}

export interface StoredStats {
  counts: Array<{ status: TaskStatus; priority: Priority; count: number }>;
  failuresByType: Array<{ type: string; count: number }>;
  /** Over the window: first start − creation, and finish − first start, of completed tasks, in ms. */
  waitMs: { p50: number | null; p95: number | null };
  runMs: { p50: number | null; p95: number | null };
  perMinute: Array<{ minute: Date; completed: number; failed: number }>;
}

/** `pg` answers UPDATE … RETURNING through TypeORM as `[rows, affected]`; plain SELECTs as `rows`. */
function rowsOf<T>(answer: unknown): T[] {
  if (Array.isArray(answer) && answer.length === 2 && Array.isArray(answer[0]) && typeof answer[1] === 'number') {
    return answer[0] as T[];
  }
  return answer as T[];
}

function affected(answer: unknown): number {
  if (Array.isArray(answer) && answer.length === 2 && typeof answer[1] === 'number') return answer[1];
  return Array.isArray(answer) ? answer.length : 0;
}

/**
 * The cursor keeps `created_at` to the microsecond, as PostgreSQL does (`cursor_at`, an ISO string
 * the list query computes): a JS Date keeps milliseconds only, and a cursor truncated to them would
 * skip the rows between the truncated and the real timestamp (e.g. the rest of a `submitMany` batch).
 */
function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } | null {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (at === undefined || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(at) || Number.isNaN(new Date(at).getTime())) return null;
  if (id === undefined || !/^[0-9a-f-]{36}$/i.test(id)) return null;
  return { createdAt: at, id };
}

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

/**
 * Every statement on the `tasks` table. Lifecycle transitions are single conditional UPDATEs, so two
 * processes racing on one task cannot both win: a claim needs the task pending (or its lease
 * expired), and every later transition needs the claim's token.
 */
export class TaskStore {
  constructor(private readonly db: DataSource) {}

  /**
   * Inserts tasks unless that would put more than `maxPending` tasks in `pending`; an idempotency
   * key already used by the same owner returns the earlier task instead (`created: false`).
   */
  async insert(tasks: NewTask[], maxPending: number, sql: Sql = this.db): Promise<InsertOutcome> {
    const existing = await this.findByIdempotencyKeys(tasks, sql);
    const fresh = tasks.filter((t) => t.idempotencyKey === null || !existing.has(keyOf(t.ownerId, t.idempotencyKey)));
    const ids = fresh.map(() => randomUUID());
    let inserted: Task[] = [];
    if (fresh.length > 0) {
      const answer: unknown = await sql.query(
        `INSERT INTO tasks (id, type, owner_id, priority, payload, max_attempts, timeout_ms, idempotency_key)
         SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::varchar[], $5::jsonb[], $6::int[], $7::int[], $8::varchar[])
         WHERE (SELECT count(*) FROM tasks WHERE status = 'pending') + $9 <= $10
         ON CONFLICT (owner_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING ${COLUMNS}`,
        [
          ids,
          fresh.map((t) => t.type),
          fresh.map((t) => t.ownerId),
          fresh.map((t) => t.priority),
          fresh.map((t) => JSON.stringify(t.payload ?? null)),
          fresh.map((t) => t.maxAttempts),
          fresh.map((t) => t.timeoutMs),
          fresh.map((t) => t.idempotencyKey),
          fresh.length,
          maxPending,
        ],
      );
      inserted = rowsOf<TaskRow>(answer).map(toTask);
      if (inserted.length === 0) {
        // Either the bound refused the batch, or every row lost an idempotency race.
        const raced = await this.findByIdempotencyKeys(fresh, sql);
        if (raced.size === 0 || fresh.some((t) => t.idempotencyKey === null)) {
          return { kind: 'full', pending: await this.pendingCount(sql) };
        }
        for (const [key, task] of raced) existing.set(key, task);
      } else if (inserted.length < fresh.length) {
        for (const [key, task] of await this.findByIdempotencyKeys(fresh, sql)) existing.set(key, task);
      }
    }
    const byId = new Map(inserted.map((t) => [t.id, t]));
    const out = tasks.map((t) => {
      const index = fresh.indexOf(t);
      const mine = index === -1 ? undefined : byId.get(ids[index] ?? '');
      if (mine !== undefined) return { task: mine, created: true };
      const earlier = t.idempotencyKey === null ? undefined : existing.get(keyOf(t.ownerId, t.idempotencyKey));
      if (earlier === undefined) throw new Error('an inserted task was not returned');
      return { task: earlier, created: false };
    });
    return { kind: 'inserted', tasks: out };
  }

  private async findByIdempotencyKeys(tasks: NewTask[], sql: Sql): Promise<Map<string, Task>> {
    const keyed = tasks.filter((t) => t.idempotencyKey !== null);
    if (keyed.length === 0) return new Map();
    const rows = rowsOf<TaskRow>(
      await sql.query(
        `SELECT ${PREFIXED_COLUMNS} FROM tasks t
         JOIN unnest($1::varchar[], $2::varchar[]) AS k(owner_id, idempotency_key)
           ON t.owner_id IS NOT DISTINCT FROM k.owner_id AND t.idempotency_key = k.idempotency_key`,
        [keyed.map((t) => t.ownerId), keyed.map((t) => t.idempotencyKey)],
      ),
    );
    return new Map(rows.map((r) => [keyOf(r.owner_id, r.idempotency_key ?? ''), toTask(r)]));
  }

  async pendingCount(sql: Sql = this.db): Promise<number> {
    const rows = rowsOf<{ n: number }>(await sql.query(`SELECT count(*)::int AS n FROM tasks WHERE status = 'pending'`));
    return rows[0]?.n ?? 0;
  }

  /**
   * Takes a task for one attempt: it must be pending, or running under a lease that expired (its
   * worker died). Counts the attempt. `null`: finished, or leased by a live attempt elsewhere.
   */
  async claim(id: string, token: string, leaseMs: number): Promise<Task | null> {
    const rows = rowsOf<TaskRow>(
      await this.db.query(
        `UPDATE tasks SET status = 'running', attempts = attempts + 1, lease_token = $2,
           lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond',
           started_at = coalesce(started_at, clock_timestamp()), updated_at = clock_timestamp()
         WHERE id = $1 AND (status = 'pending' OR (status = 'running' AND lease_expires_at < clock_timestamp()))
         RETURNING ${COLUMNS}`,
        [id, token, leaseMs],
      ),
    );
    const row = rows[0];
    return row === undefined ? null : toTask(row);
  }

  /**
   * Many claims in one statement (see `claim`), each with its own token. Returns the tasks claimed
   * by token. A row locked by another transaction is skipped rather than waited for (`SKIP
   * LOCKED`), so one busy row never holds back the others: a claim missing from the answer was
   * either not claimable or skipped, and only `claim` alone can tell which.
   */
  async claimMany(claims: Array<{ id: string; token: string; leaseMs: number }>): Promise<Map<string, Task>> {
    if (claims.length === 0) return new Map();
    const rows = rowsOf<TaskRow & { claim_token: string }>(
      await this.db.query(
        `UPDATE tasks t SET status = 'running', attempts = t.attempts + 1, lease_token = s.token,
           lease_expires_at = clock_timestamp() + s.lease_ms * interval '1 millisecond',
           started_at = coalesce(t.started_at, clock_timestamp()), updated_at = clock_timestamp()
         FROM (SELECT k.id, k.token, k.lease_ms
               FROM unnest($1::uuid[], $2::uuid[], $3::float8[]) AS k(id, token, lease_ms)
               JOIN tasks c ON c.id = k.id
               WHERE c.status = 'pending' OR (c.status = 'running' AND c.lease_expires_at < clock_timestamp())
               FOR UPDATE OF c SKIP LOCKED) s
         WHERE t.id = s.id AND (t.status = 'pending' OR (t.status = 'running' AND t.lease_expires_at < clock_timestamp()))
         RETURNING s.token AS claim_token, ${PREFIXED_COLUMNS}`,
        [claims.map((c) => c.id), claims.map((c) => c.token), claims.map((c) => c.leaseMs)],
      ),
    );
    return new Map(rows.map((r) => [r.claim_token, toTask(r)]));
  }

  /**
   * Many result-only completions in one statement (see `complete`), each fenced by its own lease
   * token. Returns the tokens whose completion was recorded; a row locked by another transaction is
   * skipped (`SKIP LOCKED`), so a missing token means "lease lost, or busy": ask `complete` alone.
   * `resultJson` is the result already serialised (`JSON.stringify(result ?? null)`).
   */
  async completeMany(completions: Array<{ id: string; token: string; resultJson: string }>): Promise<Set<string>> {
    if (completions.length === 0) return new Set();
    const rows = rowsOf<{ token: string }>(
      await this.db.query(
        `UPDATE tasks t SET status = 'completed', result = s.result, error = NULL, lease_token = NULL, lease_expires_at = NULL,
           finished_at = clock_timestamp(), updated_at = clock_timestamp()
         FROM (SELECT k.id, k.token, k.result
               FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[]) AS k(id, token, result)
               JOIN tasks c ON c.id = k.id AND c.lease_token = k.token AND c.status = 'running'
               FOR UPDATE OF c SKIP LOCKED) s
         WHERE t.id = s.id AND t.lease_token = s.token AND t.status = 'running'
         RETURNING s.token AS token`,
        [completions.map((c) => c.id), completions.map((c) => c.token), completions.map((c) => c.resultJson)],
      ),
    );
    return new Set(rows.map((r) => r.token));
  }

  /**
   * Extends many leases in one statement (see `heartbeat`). Returns the tokens whose lease was
   * extended; a row locked by another transaction is skipped, so a missing token means "lease lost,
   * or busy": ask `heartbeat` alone.
   */
  async heartbeatMany(leases: Array<{ id: string; token: string; leaseMs: number }>): Promise<Set<string>> {
    if (leases.length === 0) return new Set();
    const rows = rowsOf<{ token: string }>(
      await this.db.query(
        `UPDATE tasks t SET lease_expires_at = clock_timestamp() + s.lease_ms * interval '1 millisecond'
         FROM (SELECT k.id, k.token, k.lease_ms
               FROM unnest($1::uuid[], $2::uuid[], $3::float8[]) AS k(id, token, lease_ms)
               JOIN tasks c ON c.id = k.id AND c.lease_token = k.token AND c.status = 'running'
               FOR UPDATE OF c SKIP LOCKED) s
         WHERE t.id = s.id AND t.lease_token = s.token AND t.status = 'running'
         RETURNING s.token AS token`,
        [leases.map((l) => l.id), leases.map((l) => l.token), leases.map((l) => l.leaseMs)],
      ),
    );
    return new Set(rows.map((r) => r.token));
  }

  /** Extends a lease; `false` when the lease is no longer this attempt's. */
  async heartbeat(id: string, token: string, leaseMs: number): Promise<boolean> {
    const answer: unknown = await this.db.query(
      `UPDATE tasks SET lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond'
       WHERE id = $1 AND lease_token = $2 AND status = 'running'`,
      [id, token, leaseMs],
    );
    return affected(answer) === 1;
  }

  /** Inside a transaction: locks the task if this attempt still holds its lease. */
  async lockLease(manager: EntityManager, id: string, token: string): Promise<boolean> {
    const rows = rowsOf<{ id: string }>(
      await manager.query(`SELECT id FROM tasks WHERE id = $1 AND lease_token = $2 AND status = 'running' FOR UPDATE`, [id, token]),
    );
    return rows.length === 1;
  }

  async complete(id: string, token: string, result: unknown, sql: Sql = this.db): Promise<boolean> {
    const answer: unknown = await sql.query(
      `UPDATE tasks SET status = 'completed', result = $3::jsonb, error = NULL, lease_token = NULL, lease_expires_at = NULL,
         finished_at = clock_timestamp(), updated_at = clock_timestamp()
       WHERE id = $1 AND lease_token = $2 AND status = 'running'`,
      [id, token, JSON.stringify(result ?? null)],
    );
    return affected(answer) === 1;
  }

  /** Records a failed attempt: `failed` for good when `final`, else back to `pending` for a retry. */
  async fail(id: string, token: string, error: TaskError, final: boolean): Promise<boolean> {
    const answer: unknown = await this.db.query(
      final
        ? `UPDATE tasks SET status = 'failed', error = $3::jsonb, lease_token = NULL, lease_expires_at = NULL,
             finished_at = clock_timestamp(), updated_at = clock_timestamp()
           WHERE id = $1 AND lease_token = $2 AND status = 'running'`
        : `UPDATE tasks SET status = 'pending', error = $3::jsonb, lease_token = NULL, lease_expires_at = NULL,
             updated_at = clock_timestamp()
           WHERE id = $1 AND lease_token = $2 AND status = 'running'`,
      [id, token, JSON.stringify(error)],
    );
    return affected(answer) === 1;
  }

  /** Gives a task back without counting the attempt (the worker is shutting down). */
  async release(id: string, token: string): Promise<boolean> {
    const answer: unknown = await this.db.query(
      `UPDATE tasks SET status = 'pending', attempts = greatest(attempts - 1, 0), lease_token = NULL, lease_expires_at = NULL,
         updated_at = clock_timestamp()
       WHERE id = $1 AND lease_token = $2 AND status = 'running'`,
      [id, token],
    );
    return affected(answer) === 1;
  }

  async get(id: string, ownerId?: string): Promise<Task | null> {
    if (!isUuid(id)) return null;
    const rows = rowsOf<TaskRow>(
      ownerId === undefined
        ? await this.db.query(`SELECT ${COLUMNS} FROM tasks WHERE id = $1`, [id])
        : await this.db.query(`SELECT ${COLUMNS} FROM tasks WHERE id = $1 AND owner_id = $2`, [id, ownerId]),
    );
    const row = rows[0];
    return row === undefined ? null : toTask(row);
  }

  /** Newest first, keyset-paginated. */
  async list(filter: { status?: TaskStatus; limit: number; cursor?: string }): Promise<TaskPage> {
    const params: unknown[] = [filter.limit + 1];
    const where: string[] = [];
    if (filter.status !== undefined) {
      params.push(filter.status);
      where.push(`status = $${params.length}`);
    }
    if (filter.cursor !== undefined) {
      const after = decodeCursor(filter.cursor);
      if (after === null) throw new InvalidCursorError('cursor is not one this server issued');
      params.push(after.createdAt, after.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    const rows = rowsOf<TaskRow & { cursor_at: string }>(
      await this.db.query(
        `SELECT ${COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
         FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at DESC, id DESC LIMIT $1`,
        params,
      ),
    );
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return { items: page.map(toTask), nextCursor: rows.length > filter.limit && last !== undefined ? encodeCursor(last.cursor_at, last.id) : null };
  }

  /** A failed task back to `pending` with a fresh set of attempts; `null` when it is not failed. */
  async retry(id: string): Promise<Task | null> {
    if (!isUuid(id)) return null;
    const rows = rowsOf<TaskRow>(
      await this.db.query(
        `UPDATE tasks SET status = 'pending', attempts = 0, finished_at = NULL, updated_at = clock_timestamp()
         WHERE id = $1 AND status = 'failed' RETURNING ${COLUMNS}`,
        [id],
      ),
    );
    const row = rows[0];
    return row === undefined ? null : toTask(row);
  }

  /** Pending tasks untouched for `olderThanMs`: their queue job may be gone (Redis flushed or restarted). */
  async stalePending(olderThanMs: number, limit: number): Promise<Array<{ id: string; type: string; priority: Priority }>> {
    return rowsOf<{ id: string; type: string; priority: Priority }>(
      await this.db.query(
        `SELECT id, type, priority FROM tasks
         WHERE status = 'pending' AND updated_at < clock_timestamp() - $1 * interval '1 millisecond'
         ORDER BY created_at LIMIT $2`,
        [olderThanMs, limit],
      ),
    );
  }

  /**
   * Tasks whose lease expired (their worker died): back to `pending` when attempts remain, else
   * `failed`. Returns those put back, to be queued again.
   */
  async recoverExpired(limit: number): Promise<{ requeue: Array<{ id: string; type: string; priority: Priority }>; failed: number }> {
    const failed = affected(
      await this.db.query(
        `UPDATE tasks SET status = 'failed', lease_token = NULL, lease_expires_at = NULL, finished_at = clock_timestamp(),
           updated_at = clock_timestamp(),
           error = jsonb_build_object('name', 'LeaseExpiredError', 'message', 'the worker running the last attempt stopped answering', 'attempt', attempts)
         WHERE id IN (SELECT id FROM tasks WHERE status = 'running' AND lease_expires_at < clock_timestamp()
                      AND attempts >= max_attempts LIMIT $1 FOR UPDATE SKIP LOCKED)`,
        [limit],
      ),
    );
    const requeue = rowsOf<{ id: string; type: string; priority: Priority }>(
      await this.db.query(
        `UPDATE tasks SET status = 'pending', lease_token = NULL, lease_expires_at = NULL, updated_at = clock_timestamp()
         WHERE id IN (SELECT id FROM tasks WHERE status = 'running' AND lease_expires_at < clock_timestamp()
                      AND attempts < max_attempts LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, type, priority`,
        [limit],
      ),
    );
    return { requeue, failed };
  }

  async stats(windowMs: number): Promise<StoredStats> {
    const [counts, failures, timings, perMinute] = await Promise.all<unknown>([
      this.db.query(`SELECT status, priority, count(*)::int AS count FROM tasks GROUP BY status, priority`),
      this.db.query(`SELECT type, count(*)::int AS count FROM tasks WHERE status = 'failed' GROUP BY type ORDER BY count DESC`),
      this.db.query(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)) * 1000 AS wait_p50,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)) * 1000 AS wait_p95,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)) * 1000 AS run_p50,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)) * 1000 AS run_p95
         FROM tasks WHERE finished_at > clock_timestamp() - $1 * interval '1 millisecond' AND status = 'completed'`,
        [windowMs],
      ),
      this.db.query(
        `SELECT date_trunc('minute', finished_at) AS minute,
                count(*) FILTER (WHERE status = 'completed')::int AS completed,
                count(*) FILTER (WHERE status = 'failed')::int AS failed
         FROM tasks WHERE finished_at > clock_timestamp() - $1 * interval '1 millisecond'
         GROUP BY 1 ORDER BY 1`,
        [windowMs],
      ),
    ]);
    const t = rowsOf<{ wait_p50: number | null; wait_p95: number | null; run_p50: number | null; run_p95: number | null }>(timings)[0];
    const num = (v: number | string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));
    return {
      counts: rowsOf(counts),
      failuresByType: rowsOf(failures),
      waitMs: { p50: num(t?.wait_p50), p95: num(t?.wait_p95) },
      runMs: { p50: num(t?.run_p50), p95: num(t?.run_p95) },
      perMinute: rowsOf(perMinute),
    };
  }
}

function keyOf(ownerId: string | null, key: string): string {
  return `${ownerId ?? ''}\u0000${key}`;
}

function isUuid(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}
