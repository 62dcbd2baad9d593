/** Public types of the multi-tier cache engine. */

/** Which tier answered, or that the loader ran. `stale`: served past its TTL within the grace period. */
export type CacheSource = 'l1' | 'l2' | 'loader' | 'stale';

export interface NamespaceOptions {
  /** How long an entry is fresh. */
  ttlMs: number;
  /** After `ttlMs`, an entry may still be served for this long while it is refreshed in the background. 0: never stale. */
  graceMs?: number;
  /** Adaptive TTL: a key read often gets a TTL up to this (measured hits per minute grow it); unset: fixed TTL. */
  maxTtlMs?: number;
  /** L1 bounds for this namespace. */
  l1MaxEntries?: number;
  l1MaxBytes?: number;
  /** Keep this namespace in process memory only (never L2), e.g. for values that must not leave the process. */
  l1Only?: boolean;
  /** Refresh hot keys (at least this many hits) before they expire, when read through `getOrLoad`. 0: off. */
  refreshAheadHits?: number;
}

export interface EntryOptions {
  /** Overrides the namespace TTL for this entry. */
  ttlMs?: number;
}

export interface LoadOptions<T> extends EntryOptions {
  /** Coalesce concurrent misses across processes sharing Redis (a short Redis lock), not only in this process. */
  distributed?: boolean;
  /** Neither read nor write the cache for this call. */
  bypass?: boolean;
  /** Return false to not store this value (the value is still returned). */
  shouldCache?: (value: T) => boolean;
}

export interface Loaded<T> {
  value: T;
  source: CacheSource;
}

export interface CacheStats {
  hits: number;
  misses: number;
  hitRate: number;
  l1: { hits: number; size: number; bytes: number };
  /**
   * `pending`: writes (set, delete, invalidateAll) that did not reach Redis or the invalidation bus
   * and wait for a replay (keys, plus one for a namespace version); this process reads none of those
   * keys from L2 meanwhile. 0 without Redis.
   */
  l2: { hits: number; errors: number; pending: number };
  evictions: number;
  stampedesCoalesced: number;
  staleServed: number;
  refreshes: number;
  loads: number;
  loadErrors: number;
}

/** What the monitor hears (through @chat/integration); the cache lib imports nothing of it. */
export type CacheEvent =
  | { type: 'hit'; cache: string; tier: 'l1' | 'l2' | 'stale' }
  | { type: 'miss'; cache: string }
  | { type: 'error'; cache: string; tier: 'l2' | 'bus'; error: string }
  | { type: 'eviction'; cache: string }
  | { type: 'coalesced'; cache: string; distributed: boolean }
  | { type: 'load'; cache: string; durationMs: number; ok: boolean };

export type CacheEventListener = (event: CacheEvent) => void;

export type CacheEventType = CacheEvent['type'];
/** Every event type, the default of `CacheEngine.onEvent`. */
export const CACHE_EVENT_TYPES: readonly CacheEventType[] = ['hit', 'miss', 'error', 'eviction', 'coalesced', 'load'];

/** One namespace of the engine: its own TTLs and L1 bounds, keys isolated from other namespaces. */
export interface CacheNamespace {
  readonly name: string;
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T, options?: EntryOptions): Promise<void>;
  /** Removes the key from every tier here and from L1 in every process sharing Redis. */
  delete(key: string): Promise<void>;
  /** Cache-aside with single-flight, stale-while-revalidate, refresh-ahead and adaptive TTL. A loader error is never cached. */
  getOrLoad<T>(key: string, loader: () => Promise<T>, options?: LoadOptions<T>): Promise<Loaded<T>>;
  /** Drops every key of the namespace, in O(1): bumps its version (shared through Redis). */
  invalidateAll(): Promise<void>;
  stats(): CacheStats;
}
