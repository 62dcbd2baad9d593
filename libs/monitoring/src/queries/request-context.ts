import { AsyncLocalStorage } from 'node:async_hooks';
import type { QuerySample } from './query-sample.js';
import { positiveInt } from './option-checks.js';

/** What the HTTP layer knows when a request starts. */
export interface MonitorRequestInit {
  /** The route template without the method, e.g. `/v1/items/:id` (never the raw URL: it would make every id its own route). */
  route: string;
  /** `GET`, `POST`, … */
  method: string;
  /** The app's request id, when it has one. */
  requestId?: string;
}

/** How often one query shape ran in one request. */
export interface FingerprintTally {
  fingerprint: string;
  count: number;
  operation: string;
  /** The first SQL text seen with this fingerprint in the request (truncated to `maxExampleSqlLength`). */
  exampleSql: string;
  totalMs: number;
  /** Epoch ms of the first and the last query with this fingerprint (their starts). */
  firstSeenAt: number;
  lastSeenAt: number;
}

export type RequestQueryRecord = Pick<QuerySample, 'fingerprint' | 'sql' | 'durationMs' | 'operation' | 'startedAt'>;

export interface MonitorRequestContextOptions {
  /** Distinct fingerprints tallied per request; further shapes are only counted in `untrackedQueries`. Default 200. */
  maxFingerprintsPerRequest?: number;
  /** Example SQL kept per tally is cut to this many characters. Default 2000. */
  maxExampleSqlLength?: number;
  /** Epoch milliseconds; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * The app's own per-request object, from the AsyncLocalStorage it already runs each request in.
   * When it returns one, the monitor keeps its request state on it instead of opening an
   * AsyncLocalStorage of its own: on Node 20 every AsyncLocalStorage costs on every promise.
   */
  carrier?: () => object | undefined;
  /**
   * Turns what {@link MonitorRequestContext.enter} was given for a request (e.g. the HTTP layer's
   * request object) into that request's state, when something first asks for it (`current()`: the
   * first query of the request). Returns undefined once the request is over. Without it, `enter`
   * must be given a {@link MonitorRequestState}.
   */
  resolve?: (handle: object) => MonitorRequestState | undefined;
}

const STATE = Symbol('monitorRequestState');

/**
 * One request as the monitor sees it: its route and, per query fingerprint, how many times it ran.
 * Memory is bounded by `maxFingerprintsPerRequest`.
 */
export class MonitorRequestState {
  readonly route: string;
  readonly method: string;
  readonly requestId: string | undefined;
  /** `METHOD route`, e.g. `GET /v1/items/:id`: what samples and findings carry as their route. */
  readonly name: string;
  readonly startedAt: number;
  queryCount = 0;
  queryMs = 0;
  /** Queries whose fingerprint could not be tallied because the per-request cap was reached. */
  untrackedQueries = 0;
  private readonly counts = new Map<string, FingerprintTally>();
  private done = false;

  constructor(
    init: MonitorRequestInit,
    startedAt: number,
    private readonly maxFingerprints: number,
    private readonly maxExampleSqlLength: number,
    private readonly onFinish: (state: MonitorRequestState) => void,
  ) {
    this.route = init.route;
    this.method = init.method;
    this.requestId = init.requestId;
    this.name = init.method ? `${init.method} ${init.route}` : init.route;
    this.startedAt = startedAt;
  }

  get finished(): boolean {
    return this.done;
  }

  /** Counts one query in this request; ignored once the request has finished (a late fire-and-forget query is not the request's). */
  recordQuery(query: RequestQueryRecord): void {
    if (this.done) return;
    this.queryCount++;
    this.queryMs += query.durationMs;
    const tally = this.counts.get(query.fingerprint);
    if (tally !== undefined) {
      tally.count++;
      tally.totalMs += query.durationMs;
      if (query.startedAt > tally.lastSeenAt) tally.lastSeenAt = query.startedAt;
      if (query.startedAt < tally.firstSeenAt) tally.firstSeenAt = query.startedAt;
      return;
    }
    if (this.counts.size >= this.maxFingerprints) {
      this.untrackedQueries++;
      return;
    }
    this.counts.set(query.fingerprint, {
      fingerprint: query.fingerprint,
      count: 1,
      operation: query.operation,
      exampleSql: query.sql.length > this.maxExampleSqlLength ? query.sql.slice(0, this.maxExampleSqlLength) : query.sql,
      totalMs: query.durationMs,
      firstSeenAt: query.startedAt,
      lastSeenAt: query.startedAt,
    });
  }

  /** The per-fingerprint tallies so far (copies). */
  tallies(): FingerprintTally[] {
    return [...this.counts.values()].map((tally) => ({ ...tally }));
  }

  /** Ends the request: tells the context's `onFinish` listeners (e.g. the N+1 detector) once; later calls do nothing. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.onFinish(this);
  }
}

/**
 * The monitor's own request context (its own `AsyncLocalStorage`, so the lib does not depend on the
 * app's). The HTTP layer wraps each request in `run()` and calls `finish()` when the response is
 * sent; every query captured inside knows its route, and the request's per-fingerprint counts feed
 * N+1 detection.
 *
 * The cheaper way for a layer that sees every request (most of which run no query): `bind()` (or,
 * without a carrier, `enter()`) a handle of its own, with no state and no allocation, let `resolve`
 * create the state on the request's first query, and `leave()` at the request's end.
 */
export class MonitorRequestContext {
  /** Holds a request's state, or the handle `resolve` turns into one. */
  private readonly storage = new AsyncLocalStorage<object>();
  private readonly finishListeners = new Set<(state: MonitorRequestState) => void>();
  private readonly maxFingerprints: number;
  private readonly maxExampleSqlLength: number;
  private readonly now: () => number;
  private readonly carrier: (() => object | undefined) | undefined;
  private readonly resolve: ((handle: object) => MonitorRequestState | undefined) | undefined;

  constructor(options: MonitorRequestContextOptions = {}) {
    this.carrier = options.carrier;
    this.resolve = options.resolve;
    this.maxFingerprints = positiveInt(options.maxFingerprintsPerRequest, 200, 'maxFingerprintsPerRequest');
    this.maxExampleSqlLength = positiveInt(options.maxExampleSqlLength, 2000, 'maxExampleSqlLength');
    this.now = options.now ?? Date.now;
  }

  /** Runs `fn` as a request; the caller ends it with `finish()` (on the state or the context). */
  run<T>(init: MonitorRequestInit, fn: () => T): T {
    const state = this.createState(init);
    const carrier = this.carrier?.() as Record<symbol, unknown> | undefined;
    if (carrier !== undefined) {
      carrier[STATE] = state;
      return fn();
    }
    return this.storage.run(state, fn);
  }

  /**
   * Makes `handle` the current request of the caller's async context, through the app's carrier:
   * no new async context, no allocation. Returns the carrier (give it to `leave()` when the request
   * ends), or undefined when there is no carrier (then use `enter`). Nothing is created until
   * `current()` is asked: then `resolve(handle)` makes the state.
   */
  bind(handle: object): object | undefined {
    const carrier = this.carrier?.() as Record<symbol, unknown> | undefined;
    if (carrier !== undefined) carrier[STATE] = handle;
    return carrier;
  }

  /**
   * Runs `fn` (the rest of a request) with `handle` as its request, in the monitor's own
   * AsyncLocalStorage (for apps without a carrier; see `bind`). Returns what to give `leave()`.
   */
  enter(handle: object, fn: () => void): object {
    const holder: Record<symbol, unknown> = { [STATE]: handle };
    this.storage.run(holder, fn);
    return holder;
  }

  /**
   * Ends `handle`'s time as the current request of `binding` (from `bind` or `enter`): the async
   * resources that outlive a request (a keep-alive timer, a cache's timer) keep the app's store,
   * which must not keep the request's objects alive with it.
   */
  leave(binding: object, handle: object): void {
    const holder = binding as Record<symbol, unknown>;
    if (holder[STATE] === handle) holder[STATE] = undefined;
  }

  /** A request's state, bound to no async context: for a layer that keeps track of it itself (see `enter`). */
  open(init: MonitorRequestInit, startedAt: number = this.now()): MonitorRequestState {
    return new MonitorRequestState(init, startedAt, this.maxFingerprints, this.maxExampleSqlLength, this.notifyFinish);
  }

  /** Runs `fn` as a request and finishes it when `fn` settles (for code with a clear end, e.g. a job or a test). */
  async runToCompletion<T>(init: MonitorRequestInit, fn: () => T | Promise<T>): Promise<T> {
    const state = this.createState(init);
    try {
      return await this.storage.run(state, fn);
    } finally {
      state.finish();
    }
  }

  /** The request the caller runs in, if any. */
  current(): MonitorRequestState | undefined {
    let held = (this.carrier?.() as Record<symbol, unknown> | undefined)?.[STATE];
    if (held === undefined) {
      // The store is a state (`run`, `runToCompletion`) or a holder of a handle (`enter`).
      const stored = this.storage.getStore() as Record<symbol, unknown> | undefined;
      held = stored instanceof MonitorRequestState ? stored : stored?.[STATE];
    }
    if (held === undefined || held === null || held instanceof MonitorRequestState) return held ?? undefined;
    return this.resolve?.(held);
  }

  /** Finishes the given request (default: the current one). */
  finish(state: MonitorRequestState | undefined = this.current()): void {
    state?.finish();
  }

  /** Called once per finished request; returns an unsubscribe function. A listener that throws is ignored. */
  onFinish(listener: (state: MonitorRequestState) => void): () => void {
    this.finishListeners.add(listener);
    return () => {
      this.finishListeners.delete(listener);
    };
  }

  private createState(init: MonitorRequestInit): MonitorRequestState {
    return this.open(init);
  }

  private readonly notifyFinish = (state: MonitorRequestState): void => {
    for (const listener of this.finishListeners) {
      try {
        listener(state);
      } catch {
        // A monitoring listener must never break the request that is finishing.
      }
    }
  };
}
