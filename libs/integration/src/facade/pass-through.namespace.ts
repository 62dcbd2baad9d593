import type { CacheNamespace, CacheStats, Loaded } from '@chat/cache';

/** A cache's figures before its first lookup (a fresh object each call). */
export function emptyCacheStats(): CacheStats {
  return {
    hits: 0,
    misses: 0,
    hitRate: 0,
    l1: { hits: 0, size: 0, bytes: 0 },
    l2: { hits: 0, errors: 0, pending: 0 },
    evictions: 0,
    stampedesCoalesced: 0,
    staleServed: 0,
    refreshes: 0,
    loads: 0,
    loadErrors: 0,
  };
}

/**
 * What a cache namespace is when the cache subsystem is turned off: nothing is kept, every
 * `getOrLoad` runs its loader, writes and invalidations are no-ops. Same interface, so the code
 * that uses a cache does not branch on whether there is one.
 */
export class PassThroughNamespace implements CacheNamespace {
  private loads = 0;
  private loadErrors = 0;

  constructor(readonly name: string) {}

  get<T>(): Promise<T | undefined> {
    return Promise.resolve(undefined);
  }

  set(): Promise<void> {
    return Promise.resolve();
  }

  delete(): Promise<void> {
    return Promise.resolve();
  }

  async getOrLoad<T>(_key: string, loader: () => Promise<T>): Promise<Loaded<T>> {
    this.loads++;
    try {
      return { value: await loader(), source: 'loader' };
    } catch (error) {
      this.loadErrors++;
      throw error;
    }
  }

  invalidateAll(): Promise<void> {
    return Promise.resolve();
  }

  stats(): CacheStats {
    return { ...emptyCacheStats(), misses: this.loads, loads: this.loads, loadErrors: this.loadErrors };
  }
}
