import { describe, expect, it } from 'vitest';
import { CacheEngine } from './cache-engine.js';
import { countingLoader, deferred, fakeClock, runCacheContract } from './cache-engine.contract.js';

/** L1 only: the contract without Redis, plus what only holds without a second tier. Unit tier, no I/O. */
runCacheContract('L1 only (redisUrl null)', (now) => CacheEngine.create({ redisUrl: null, now }), { sharedTier: false });

describe('cache engine, L1 only', () => {
  const MINUTE = 60_000;

  it('is ready at once and touches no Redis', async () => {
    const engine = CacheEngine.create({ redisUrl: null });
    await engine.ready();
    const ns = engine.namespace('plain', { ttlMs: MINUTE });
    await ns.set('k', 'v');
    expect(await ns.get('k')).toBe('v');
    expect(ns.stats().l2).toEqual({ hits: 0, errors: 0, pending: 0 });
    await engine.close();
  });

  it('an entry evicted from L1 is gone: there is no other tier', async () => {
    const engine = CacheEngine.create({ redisUrl: null });
    const ns = engine.namespace('bounded', { ttlMs: MINUTE, l1MaxEntries: 2 });
    await ns.set('a', 1);
    await ns.set('b', 2);
    await ns.set('c', 3);
    expect(await ns.get('a')).toBeUndefined();
    expect(await ns.get('b')).toBe(2);
    expect(await ns.get('c')).toBe(3);
    expect(ns.stats().evictions).toBe(1);
    await engine.close();
  });

  it('distributed single-flight falls back to in-process single-flight', async () => {
    const engine = CacheEngine.create({ redisUrl: null });
    const ns = engine.namespace('distributed', { ttlMs: MINUTE });
    const gate = deferred<string>();
    const loader = countingLoader(() => gate.promise);
    const calls = Array.from({ length: 20 }, () => ns.getOrLoad('k', loader.load, { distributed: true }));
    await new Promise((resolve) => setImmediate(resolve));
    gate.resolve('v');
    const results = await Promise.all(calls);
    expect(results.every((r) => r.value === 'v')).toBe(true);
    expect(loader.calls()).toBe(1);
    expect(ns.stats().stampedesCoalesced).toBe(19);
    await engine.close();
  });

  it('an l1Only namespace behaves like any other', async () => {
    const clock = fakeClock();
    const engine = CacheEngine.create({ redisUrl: null, now: clock.now });
    const ns = engine.namespace('local', { ttlMs: MINUTE, l1Only: true, graceMs: 0 });
    await ns.set('k', 'v');
    expect(await ns.get('k')).toBe('v');
    clock.advance(MINUTE + 1);
    expect(await ns.get('k')).toBeUndefined();
    await engine.close();
  });

  it('namespaces are independent engines apart: two L1-only engines share nothing', async () => {
    const a = CacheEngine.create({ redisUrl: null });
    const b = CacheEngine.create({ redisUrl: null });
    await a.namespace('same', { ttlMs: MINUTE }).set('k', 'a');
    expect(await b.namespace('same', { ttlMs: MINUTE }).get('k')).toBeUndefined();
    await Promise.all([a.close(), b.close()]);
  });
});
