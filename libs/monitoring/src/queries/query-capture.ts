import { performance } from 'node:perf_hooks';
import type { DataSource } from 'typeorm';
import { QueryFingerprinter, type QueryFingerprint } from './fingerprint.js';
import type { QuerySample } from './query-sample.js';
import type { MonitorRequestContext, MonitorRequestState } from './request-context.js';

/** A {@link QuerySample} plus what only the capture knows. */
export interface CapturedQuery extends QuerySample {
  /** True when the driver reported an error (it was rethrown to the caller unchanged). */
  failed: boolean;
  /** The driver's error, as thrown (a `pg` `DatabaseError` for SQL errors); undefined on success. */
  error?: unknown;
  /** Relations the statement names (see {@link QueryFingerprint.tables}). */
  tables: readonly string[];
  /** `fallback` when `fingerprint` is the normalised-text hash (`text:…`), not the parser's. */
  fingerprintSource: QueryFingerprint['source'];
  /** The app's request id, when the request context was given one. */
  requestId: string | null;
}

export type QueryListener = (query: CapturedQuery) => void;

export interface QueryCaptureOptions {
  /** Shared with other captures to share its cache; default: a private one, loaded by `instrument()`. */
  fingerprinter?: QueryFingerprinter;
  /** Gives each query its route and feeds the request's per-fingerprint counts (N+1). */
  context?: MonitorRequestContext;
  /** Epoch milliseconds for `startedAt`. Default `Date.now`. */
  now?: () => number;
  /** Keep the bound values in samples (by reference, not copied). Default true. */
  captureParameters?: boolean;
  /** Called when a listener throws (the query is unaffected). Default: one process warning per capture. */
  onListenerError?: (error: unknown) => void;
}

export interface QueryCaptureStats {
  captured: number;
  failed: number;
  /** Queries passed through unmeasured: cursor-like submittables (`pg-cursor`, a hand-made `pg.Query`). */
  uncaptured: number;
  /** Connections whose `query` is currently wrapped. */
  clients: number;
  pools: number;
}

/** The parts of a `pg` client, pool and TypeORM `PostgresDriver` the capture touches (structural, so `pg` is not a dependency). */
type QueryFn = (this: unknown, ...args: unknown[]) => unknown;
interface PgClientLike {
  query: QueryFn;
}
interface PgPoolLike {
  on(event: string, listener: (client: PgClientLike) => void): unknown;
  removeListener(event: string, listener: (client: PgClientLike) => void): unknown;
  /** pg-pool's list of every client it holds (idle and checked out); private, so only read defensively. */
  _clients?: unknown;
  ended?: boolean;
}
interface PostgresDriverLike {
  options: { type?: unknown };
  master?: PgPoolLike;
  slaves?: PgPoolLike[];
  createPool?: (...args: unknown[]) => Promise<PgPoolLike>;
}

interface PatchedClient {
  original: QueryFn;
  wrapper: QueryFn;
  ownProperty: boolean;
  active: boolean;
}

interface PoolHooks {
  onAcquire: (client: PgClientLike) => void;
  onRemove: (client: PgClientLike) => void;
}

interface Pending {
  sql: string;
  parameters: readonly unknown[];
  startedAt: number;
  t0: number;
  request: MonitorRequestState | undefined;
}

const NO_PARAMETERS: readonly unknown[] = Object.freeze([]);
/** One capture per TypeORM driver: two would each time the other's wrapper. */
const owners = new WeakMap<object, QueryCapture>();

/**
 * Times every query a TypeORM `postgres` DataSource sends and reports each as a {@link CapturedQuery}.
 *
 * Hook point: the `query` method of each `pg` client in the driver's pools (`driver.master`, and
 * `driver.slaves` with replication). Pools are hooked through pg-pool's `acquire` event, which fires
 * synchronously before a checked-out client reaches TypeORM, plus the clients the pool already holds;
 * pools the driver creates later (a re-`initialize()`) are hooked by wrapping the driver's
 * `createPool`. Everything TypeORM sends goes through a pool client: `PostgresQueryRunner.query`
 * (repositories, query builders, `dataSource.query`, transactions, migrations, schema sync), the
 * driver's own `executeQuery` (extensions at connect) and `stream()`. Timing starts when the query is
 * handed to `pg` and ends at its result, so pool waits, TypeORM's logger and subscribers are not
 * counted (a query queued behind another on the same connection is).
 *
 * The wrapper returns what `pg` returned (the same promise, stream or `undefined`); results and
 * errors reach the caller unchanged. With no listener and no current request it only forwards.
 */
export class QueryCapture {
  private readonly driver: PostgresDriverLike;
  private readonly fingerprinter: QueryFingerprinter;
  private readonly context: MonitorRequestContext | undefined;
  private readonly now: () => number;
  private readonly captureParameters: boolean;
  private readonly onListenerError: (error: unknown) => void;
  private readonly listeners = new Set<QueryListener>();
  private readonly clients = new Map<PgClientLike, PatchedClient>();
  private readonly pools = new Map<PgPoolLike, PoolHooks>();
  private createPoolPatch: { original: PostgresDriverLike['createPool']; ownProperty: boolean; wrapper: PostgresDriverLike['createPool'] } | undefined;
  private active = false;
  private warned = false;
  private captured = 0;
  private failed = 0;
  private uncaptured = 0;

  constructor(dataSource: DataSource, options: QueryCaptureOptions = {}) {
    const driver = dataSource.driver as unknown as PostgresDriverLike;
    if (driver.options.type !== 'postgres') {
      throw new TypeError(`QueryCapture needs a TypeORM "postgres" DataSource, got "${String(driver.options.type)}"`);
    }
    this.driver = driver;
    this.fingerprinter = options.fingerprinter ?? new QueryFingerprinter();
    this.context = options.context;
    this.now = options.now ?? Date.now;
    this.captureParameters = options.captureParameters ?? true;
    this.onListenerError =
      options.onListenerError ??
      ((error) => {
        if (this.warned) return;
        this.warned = true;
        process.emitWarning(`a query listener threw (further ones are not reported): ${String(error)}`, 'MonitoringWarning');
      });
  }

  get instrumented(): boolean {
    return this.active;
  }

  /** Starts capturing; idempotent. Works before or after `dataSource.initialize()`. Throws if another capture owns the DataSource. */
  instrument(): this {
    if (this.active) return this;
    const owner = owners.get(this.driver);
    if (owner !== undefined && owner !== this) {
      throw new Error('this DataSource is already instrumented by another QueryCapture: share that one, or uninstrument() it first');
    }
    owners.set(this.driver, this);
    this.active = true;
    void this.fingerprinter.load();
    this.patchCreatePool();
    if (this.driver.master !== undefined) this.hookPool(this.driver.master);
    for (const slave of this.driver.slaves ?? []) this.hookPool(slave);
    return this;
  }

  /** Stops capturing and restores every hooked client, pool and the driver; idempotent. */
  uninstrument(): void {
    if (!this.active) return;
    this.active = false;
    for (const [pool, hooks] of this.pools) {
      pool.removeListener('acquire', hooks.onAcquire);
      pool.removeListener('remove', hooks.onRemove);
    }
    this.pools.clear();
    for (const [client, patch] of this.clients) this.restoreClient(client, patch);
    this.clients.clear();
    const createPool = this.createPoolPatch;
    if (createPool !== undefined) {
      if (this.driver.createPool === createPool.wrapper) {
        if (createPool.ownProperty) this.driver.createPool = createPool.original;
        else delete this.driver.createPool;
      }
      this.createPoolPatch = undefined;
    }
    owners.delete(this.driver);
  }

  /** Adds a listener; returns its unsubscribe function. Listeners run synchronously before the caller sees the result; one that throws is reported to `onListenerError` and otherwise ignored. */
  onQuery(listener: QueryListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Resolves when the fingerprinter has loaded (until then samples are held back, so none gets a provisional fingerprint). */
  ready(): Promise<void> {
    return this.fingerprinter.load();
  }

  stats(): QueryCaptureStats {
    return { captured: this.captured, failed: this.failed, uncaptured: this.uncaptured, clients: this.clients.size, pools: this.pools.size };
  }

  private patchCreatePool(): void {
    const original = this.driver.createPool;
    if (typeof original !== 'function') return;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrapper needs both the driver's `this` and the capture
    const capture = this;
    const wrapper = async function (this: unknown, ...args: unknown[]): Promise<PgPoolLike> {
      const pool = await original.apply(this, args);
      if (capture.active) capture.hookPool(pool);
      return pool;
    };
    this.createPoolPatch = { original, ownProperty: Object.prototype.hasOwnProperty.call(this.driver, 'createPool'), wrapper };
    this.driver.createPool = wrapper;
  }

  private hookPool(pool: PgPoolLike): void {
    if (this.pools.has(pool)) return;
    for (const old of this.pools.keys()) if (old.ended === true) this.unhookPool(old);
    const hooks: PoolHooks = {
      onAcquire: (client) => this.patchClient(client),
      onRemove: (client) => {
        const patch = this.clients.get(client);
        if (patch !== undefined) {
          this.restoreClient(client, patch);
          this.clients.delete(client);
        }
      },
    };
    pool.on('acquire', hooks.onAcquire);
    pool.on('remove', hooks.onRemove);
    this.pools.set(pool, hooks);
    // Clients checked out before instrument() (a transaction in progress) get no `acquire` until their next checkout.
    if (Array.isArray(pool._clients)) for (const client of pool._clients as PgClientLike[]) this.patchClient(client);
  }

  private unhookPool(pool: PgPoolLike): void {
    const hooks = this.pools.get(pool);
    if (hooks === undefined) return;
    pool.removeListener('acquire', hooks.onAcquire);
    pool.removeListener('remove', hooks.onRemove);
    this.pools.delete(pool);
  }

  private patchClient(client: PgClientLike): void {
    if (this.clients.has(client) || client === null || typeof client !== 'object') return;
    const original = client.query;
    if (typeof original !== 'function') return;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrapper needs both the client's `this` and the capture
    const capture = this;
    const patch: PatchedClient = {
      original,
      ownProperty: Object.prototype.hasOwnProperty.call(client, 'query'),
      active: true,
      wrapper: function monitoredQuery(this: unknown, ...args: unknown[]): unknown {
        // Someone may have wrapped our wrapper; then it cannot be removed, only switched off.
        if (!patch.active) return original.apply(this, args);
        return capture.observe(original, this, args);
      },
    };
    client.query = patch.wrapper;
    this.clients.set(client, patch);
  }

  private restoreClient(client: PgClientLike, patch: PatchedClient): void {
    patch.active = false;
    if (client.query !== patch.wrapper) return;
    if (patch.ownProperty) client.query = patch.original;
    else delete (client as Partial<PgClientLike>).query;
  }

  /** `pg`'s `client.query(config, values?, callback?)` in all its forms: promise, callback, submittable. */
  private observe(original: QueryFn, client: unknown, args: unknown[]): unknown {
    const request = this.context?.current();
    if (this.listeners.size === 0 && request === undefined) return original.apply(client, args);
    const [config, values, callback] = args;
    let sql: unknown;
    let params: unknown;
    if (typeof config === 'string') {
      sql = config;
      params = values;
    } else if (config !== null && typeof config === 'object') {
      sql = (config as { text?: unknown }).text;
      params = (config as { values?: unknown }).values ?? values;
    }
    if (typeof sql !== 'string') return original.apply(client, args);
    const pending: Pending = {
      sql,
      parameters: this.captureParameters && Array.isArray(params) ? (params as unknown[]) : NO_PARAMETERS,
      startedAt: this.now(),
      t0: performance.now(),
      request,
    };

    if (typeof (config as { submit?: unknown }).submit === 'function') return this.observeSubmittable(original, client, args, pending);

    const done = typeof values === 'function' ? values : typeof callback === 'function' ? callback : undefined;
    if (done !== undefined) {
      const monitored = this.wrapCallback(done as QueryFn, pending);
      return original.apply(client, typeof values === 'function' ? [config, monitored] : [config, values, monitored]);
    }
    const configCallback = typeof config === 'object' ? (config as { callback?: unknown }).callback : undefined;
    if (typeof configCallback === 'function') {
      const copy = { ...(config as object), callback: this.wrapCallback(configCallback as QueryFn, pending) };
      return original.apply(client, [copy, ...args.slice(1)]);
    }

    const result = original.apply(client, args);
    if (isPromiseLike(result)) {
      // A side branch: the caller gets pg's own promise, and ours runs first because it was attached first.
      result.then(
        (res) => this.complete(pending, undefined, res),
        (err: unknown) => this.complete(pending, err ?? new Error('query failed'), undefined),
      );
    } else {
      this.uncaptured++;
    }
    return result;
  }

  private observeSubmittable(original: QueryFn, client: unknown, args: unknown[], pending: Pending): unknown {
    const submittable = args[0] as { pipe?: unknown; once?: unknown; errored?: unknown };
    const result = original.apply(client, args);
    // A stream (pg-query-stream, TypeORM's `stream()`): measured to `close`, which follows both `end`
    // and an error without adding an `error` listener (that would change unhandled-error behaviour).
    // Its duration includes the consumer's pace; its rows are unknown.
    if (typeof submittable.pipe === 'function' && typeof submittable.once === 'function') {
      (submittable.once as (event: string, listener: () => void) => void).call(submittable, 'close', () => {
        const error = submittable.errored;
        this.complete(pending, error ?? undefined, undefined, true);
      });
    } else {
      this.uncaptured++;
    }
    return result;
  }

  private wrapCallback(done: QueryFn, pending: Pending): QueryFn {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- pg calls the callback with its own `this`
    const capture = this;
    return function (this: unknown, err: unknown, res: unknown): unknown {
      capture.complete(pending, err ?? undefined, res);
      return done.call(this, err, res);
    };
  }

  private complete(pending: Pending, error: unknown, result: unknown, rowsUnknown = false): void {
    const durationMs = performance.now() - pending.t0;
    const failed = error !== undefined;
    const rows = failed || rowsUnknown ? null : rowsOf(result);
    if (this.fingerprinter.settled) {
      this.emit(pending, durationMs, failed, error, rows);
    } else {
      void this.fingerprinter.load().then(() => this.emit(pending, durationMs, failed, error, rows));
    }
  }

  private emit(pending: Pending, durationMs: number, failed: boolean, error: unknown, rows: number | null): void {
    try {
      const shape = this.fingerprinter.fingerprint(pending.sql);
      this.captured++;
      if (failed) this.failed++;
      const sample: CapturedQuery = {
        sql: pending.sql,
        parameters: pending.parameters,
        fingerprint: shape.fingerprint,
        durationMs,
        rows,
        operation: shape.operation,
        route: pending.request?.name ?? null,
        startedAt: pending.startedAt,
        failed,
        tables: shape.tables,
        fingerprintSource: shape.source,
        requestId: pending.request?.requestId ?? null,
      };
      if (failed) sample.error = error;
      pending.request?.recordQuery(sample);
      for (const listener of this.listeners) {
        try {
          listener(sample);
        } catch (listenerError) {
          this.onListenerError(listenerError);
        }
      }
    } catch (internal) {
      // Never into the query path.
      this.onListenerError(internal);
    }
  }
}

/** `rowCount` (rows returned or affected); `rows.length` when the command has no count (`SHOW`); summed over a multi-statement result. */
function rowsOf(result: unknown): number | null {
  if (Array.isArray(result)) {
    let total: number | null = null;
    for (const part of result) {
      const rows = rowsOf(part);
      if (rows !== null) total = (total ?? 0) + rows;
    }
    return total;
  }
  if (result === null || typeof result !== 'object') return null;
  const { rowCount, rows } = result as { rowCount?: unknown; rows?: unknown };
  if (typeof rowCount === 'number') return rowCount;
  if (Array.isArray(rows) && rows.length > 0) return rows.length;
  return null;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}
