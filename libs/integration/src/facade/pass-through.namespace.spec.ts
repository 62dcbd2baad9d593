import type { CacheNamespace } from '@chat/cache';
import { describe, expect, it, vi } from 'vitest';
import { PassThroughNamespace } from './pass-through.namespace.js';

describe('PassThroughNamespace (the cache turned off)', () => {
  it('runs the loader every time, and says so', async () => {
    const ns = new PassThroughNamespace('mine');
    let n = 0;
    const loader = vi.fn(async () => ++n);
    expect(await ns.getOrLoad('k', loader)).toEqual({ value: 1, source: 'loader' });
    expect(await ns.getOrLoad('k', loader)).toEqual({ value: 2, source: 'loader' });
    expect(await (ns as CacheNamespace).getOrLoad('k', loader, { ttlMs: 10, distributed: true })).toEqual({ value: 3, source: 'loader' });
    expect(loader).toHaveBeenCalledTimes(3);
    expect(ns.name).toBe('mine');
  });

  it('keeps nothing: get after set is undefined; writes and invalidations resolve', async () => {
    const ns = new PassThroughNamespace('mine');
    await expect(ns.set()).resolves.toBeUndefined();
    await expect(ns.get()).resolves.toBeUndefined();
    await expect(ns.delete()).resolves.toBeUndefined();
    await expect(ns.invalidateAll()).resolves.toBeUndefined();
  });

  it('a loader error reaches the caller (the same error) and is counted', async () => {
    const ns = new PassThroughNamespace('mine');
    const boom = new Error('boom');
    await expect(ns.getOrLoad('k', () => Promise.reject(boom))).rejects.toBe(boom);
    await ns.getOrLoad('k', async () => 'ok');
    expect(ns.stats()).toMatchObject({ loads: 2, loadErrors: 1, misses: 2, hits: 0 });
  });

  it('stats: every lookup is a miss, nothing held, a fresh object each time', async () => {
    const ns = new PassThroughNamespace('mine');
    expect(ns.stats()).toEqual({
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
    });
    await ns.getOrLoad('a', async () => 1);
    await ns.getOrLoad('b', async () => 2);
    const stats = ns.stats();
    expect(stats).toMatchObject({ hits: 0, misses: 2, hitRate: 0, loads: 2 });
    // Callers may mutate what they got without changing the next answer.
    stats.l1.hits = 99;
    expect(ns.stats().l1.hits).toBe(0);
    expect(new PassThroughNamespace('other').stats().l1.hits).toBe(0);
  });

  it('concurrent lookups of one key each run the loader (no single-flight without a cache)', async () => {
    const ns = new PassThroughNamespace('mine');
    const loader = vi.fn(async () => 'v');
    await Promise.all([ns.getOrLoad('k', loader), ns.getOrLoad('k', loader), ns.getOrLoad('k', loader)]);
    expect(loader).toHaveBeenCalledTimes(3);
  });
});
