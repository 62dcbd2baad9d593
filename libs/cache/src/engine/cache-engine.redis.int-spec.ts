import { TEST_REDIS_URL } from '@chat/testing';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { CacheEngine } from './cache-engine.js';
import type { CacheEngineOptions } from './cache-engine.options.js';
import type { CacheEvent } from './cache.types.js';
import { countingLoader, deferred, runCacheContract, uniqueName } from './cache-engine.contract.js';

/**
 * L1 + Redis against the real Redis at TEST_REDIS_URL. Every key of this file lives under its own
 * prefix, so parallel runs never collide, and is removed at the end.
 */
const keyPrefix = `test-cache-${randomUUID()}`;
const MINUTE = 60_000;

const admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });

async function keysUnder(pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** The Redis key holding `key` of namespace `ns` (layout `<prefix>:<ns>:v<version>:<key>`). */
async function valueKeyOf(ns: string, key: string): Promise<string> {
  const found = (await keysUnder(`${keyPrefix}:${ns}:*`)).filter((k) => k.endsWith(`:${key}`));
  expect(found, `one Redis key for ${ns}/${key}`).toHaveLength(1);
  return found[0];
}

afterAll(async () => {
  if (admin.status === 'wait') await admin.connect();
  const keys = await keysUnder(`${keyPrefix}*`);
  for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
  admin.disconnect();
});

runCacheContract('L1 + Redis', (now) => CacheEngine.create({ redisUrl: TEST_REDIS_URL, keyPrefix, now }), { sharedTier: true });

describe('cache engine on Redis: two processes (engines A and B) sharing it', () => {
  const engines: CacheEngine[] = [];

  afterEach(async () => {
    await Promise.all(engines.splice(0).map((engine) => engine.close()));
  });

  async function engine(options: Partial<CacheEngineOptions> = {}): Promise<CacheEngine> {
    const created = CacheEngine.create({ redisUrl: TEST_REDIS_URL, keyPrefix, ...options });
    engines.push(created);
    await created.ready();
    return created;
  }

  async function pair(options: Partial<CacheEngineOptions> = {}): Promise<[CacheEngine, CacheEngine]> {
    return [await engine(options), await engine(options)];
  }

  /** The invalidation bus is asynchronous: poll briefly for its effect rather than sleeping. */
  async function soon(assertion: () => Promise<void>): Promise<void> {
    await vi.waitFor(assertion, { timeout: 1_000, interval: 10 });
  }

  it('B reads what A set from L2 (Dates intact), then from its own L1', async () => {
    const [a, b] = await pair();
    const name = uniqueName('shared');
    const nsA = a.namespace(name, { ttlMs: MINUTE });
    const nsB = b.namespace(name, { ttlMs: MINUTE });
    const value = { text: 'hello', at: new Date('2024-05-06T07:08:09.010Z'), list: [{ when: new Date(0) }] };
    await nsA.set('k', value);

    const loader = countingLoader((): typeof value => ({ text: 'from the source', at: new Date(), list: [] }));
    const first = await nsB.getOrLoad('k', loader.load);
    expect(first).toEqual({ value, source: 'l2' });
    expect(first.value.at).toBeInstanceOf(Date);
    expect(first.value.list[0].when).toBeInstanceOf(Date);
    expect(nsB.stats().l2.hits).toBe(1);
    expect(await nsB.getOrLoad('k', loader.load)).toEqual({ value, source: 'l1' });
    expect(nsB.stats().l1.hits).toBe(1);
    expect(loader.calls()).toBe(0);
  });

  it("A's set drops the key from B's L1 (pub/sub); the writer keeps its own L1 entry", async () => {
    const [a, b] = await pair();
    const name = uniqueName('bus-set');
    const nsA = a.namespace(name, { ttlMs: MINUTE });
    const nsB = b.namespace(name, { ttlMs: MINUTE });
    await nsA.set('k', 'v1');
    expect((await nsB.getOrLoad('k', () => Promise.resolve('source'))).source).toBe('l2');
    expect(await nsB.getOrLoad('k', () => Promise.resolve('source'))).toEqual({ value: 'v1', source: 'l1' });

    await nsA.set('k', 'v2');
    await soon(async () => expect(await nsB.get('k')).toBe('v2'));
    expect(await nsB.getOrLoad('k', () => Promise.resolve('source'))).toEqual({ value: 'v2', source: 'l1' });

    // Give A's own message time to come back to it: A must not have dropped its fresh entry.
    await sleep(100);
    expect(await nsA.getOrLoad('k', () => Promise.resolve('source'))).toEqual({ value: 'v2', source: 'l1' });
  });

  it('once A\'s write has resolved, B has already dropped the key: no read on B can be stale (acknowledged invalidation)', async () => {
    const [a, b] = await pair();
    const name = uniqueName('read-your-writes');
    const nsA = a.namespace(name, { ttlMs: MINUTE });
    const nsB = b.namespace(name, { ttlMs: MINUTE });
    for (let round = 0; round < 20; round++) {
      await nsA.set('k', `v${round}`);
      // No waiting, no polling: the very next read on B must see it.
      expect(await nsB.get('k')).toBe(`v${round}`);
      expect(nsB.stats().l1.size).toBe(1); // B cached it in L1, so the next write must evict it
    }
    await nsA.delete('k');
    expect(await nsB.get('k')).toBeUndefined();
  });

  it('an L2 read that was answered after a delete in the same process does not put the old value back in L1', async () => {
    const [a] = await pair();
    const ns = a.namespace(uniqueName('read-vs-delete'), { ttlMs: MINUTE });
    await ns.set('k', 'old');
    const other = (await pair())[0].namespace(ns.name, { ttlMs: MINUTE });
    // `other` has nothing in L1: its read goes to Redis, and the delete races it.
    const read = other.get('k');
    await other.delete('k');
    await read; // whatever it saw, it must not have refilled L1 with it
    expect(await other.get('k')).toBeUndefined();
    expect(await ns.get('k')).toBeUndefined();
  });

  it("A's delete makes B miss", async () => {
    const [a, b] = await pair();
    const name = uniqueName('bus-del');
    const nsA = a.namespace(name, { ttlMs: MINUTE });
    const nsB = b.namespace(name, { ttlMs: MINUTE });
    await nsA.set('k', 'v');
    expect(await nsB.get('k')).toBe('v');
    expect(await nsB.getOrLoad('k', () => Promise.resolve('source'))).toEqual({ value: 'v', source: 'l1' });

    await nsA.delete('k');
    await soon(async () => expect(await nsB.get('k')).toBeUndefined());
    expect(await nsB.getOrLoad('k', () => Promise.resolve('source'))).toEqual({ value: 'source', source: 'loader' });
  });

  it("A's invalidateAll makes B miss every key; both then agree on the new generation", async () => {
    const [a, b] = await pair();
    const name = uniqueName('bus-all');
    const nsA = a.namespace(name, { ttlMs: MINUTE });
    const nsB = b.namespace(name, { ttlMs: MINUTE });
    for (let i = 0; i < 5; i++) await nsA.set(`k${i}`, i);
    for (let i = 0; i < 5; i++) expect(await nsB.get(`k${i}`)).toBe(i);

    await nsA.invalidateAll();
    await soon(async () => {
      for (let i = 0; i < 5; i++) expect(await nsB.get(`k${i}`)).toBeUndefined();
    });
    for (let i = 0; i < 5; i++) expect(await nsA.get(`k${i}`)).toBeUndefined();

    await nsB.set('k0', 'from-b');
    expect(await nsA.get('k0')).toBe('from-b');
    // B's invalidateAll reaches A the same way.
    await nsB.invalidateAll();
    await soon(async () => expect(await nsA.get('k0')).toBeUndefined());
  });

  it("A's delete while B is loading the key: B's load does not bring the deleted value back", async () => {
    const [a, b] = await pair();
    const name = uniqueName('bus-race');
    const nsA = a.namespace(name, { ttlMs: MINUTE });
    const nsB = b.namespace(name, { ttlMs: MINUTE });
    await nsA.set('marker', 0);
    expect(await nsB.get('marker')).toBe(0); // now in B's L1

    const gate = deferred<string>();
    const loader = countingLoader(() => gate.promise);
    const pending = nsB.getOrLoad('k', loader.load);
    await vi.waitFor(() => expect(loader.calls()).toBe(1), { timeout: 1_000, interval: 5 });
    await nsA.delete('k');
    await nsA.set('marker', 1);
    // The bus keeps order: once B has heard about the marker, it has heard about the delete.
    await soon(async () => expect(await nsB.get('marker')).toBe(1));

    gate.resolve('read-before-delete');
    expect((await pending).value).toBe('read-before-delete');
    expect(await nsB.get('k')).toBeUndefined();
    expect(await nsA.get('k')).toBeUndefined();
  });

  it('an engine that starts after an invalidateAll never serves the old generation', async () => {
    const [a] = await pair();
    const name = uniqueName('late');
    const nsA = a.namespace(name, { ttlMs: MINUTE });
    for (let i = 0; i < 5; i++) await nsA.set(`k${i}`, `old-${i}`);
    await nsA.invalidateAll();
    await nsA.set('k0', 'new-0');

    // A process that starts now and creates the namespace when it first needs it.
    const late = await engine();
    const nsLate = late.namespace(name, { ttlMs: MINUTE });
    const seen = await Promise.all([0, 1, 2, 3, 4].map((i) => nsLate.get(`k${i}`)));
    expect(seen).toEqual(['new-0', undefined, undefined, undefined, undefined]);

    // And one whose namespace existed before it was ready.
    const early = CacheEngine.create({ redisUrl: TEST_REDIS_URL, keyPrefix });
    engines.push(early);
    const nsEarly = early.namespace(name, { ttlMs: MINUTE });
    await early.ready();
    expect(await nsEarly.get('k1')).toBeUndefined();
    expect(await nsEarly.get('k0')).toBe('new-0');
  });

  it('distributed single-flight: 250 concurrent calls on A and 250 on B run the loader once', async () => {
    const [a, b] = await pair({ lockTtlMs: 10_000, lockWaitMs: 20_000 });
    const name = uniqueName('dsf');
    const nsA = a.namespace(name, { ttlMs: MINUTE });
    const nsB = b.namespace(name, { ttlMs: MINUTE });
    const events: CacheEvent[] = [];
    a.onEvent((e) => events.push(e));
    b.onEvent((e) => events.push(e));
    const loader = countingLoader(async (call) => {
      await sleep(200);
      return { loadedBy: call, at: new Date(1_700_000_000_000) };
    });

    const calls = [
      ...Array.from({ length: 250 }, () => nsA.getOrLoad('k', loader.load, { distributed: true })),
      ...Array.from({ length: 250 }, () => nsB.getOrLoad('k', loader.load, { distributed: true })),
    ];
    const results = await Promise.all(calls);

    expect(loader.calls()).toBe(1);
    for (const result of results) {
      expect(result.value).toEqual({ loadedBy: 1, at: new Date(1_700_000_000_000) });
      expect(result.value.at).toBeInstanceOf(Date);
    }
    expect(results.filter((r) => r.source === 'loader').length).toBeGreaterThanOrEqual(1);
    expect(nsA.stats().stampedesCoalesced + nsB.stats().stampedesCoalesced).toBe(499);
    expect(events).toContainEqual({ type: 'coalesced', cache: name, distributed: true });
  });

  it('distributed single-flight: when the lock holder dies without filling the key, its lock expires and a waiter loads', async () => {
    const lockTtlMs = 500;
    // Waiting for the lock would take 20 s; the test times out long before: only the lock's expiry lets B in.
    const [a, b] = await pair({ lockTtlMs, lockWaitMs: 20_000 });
    const name = uniqueName('holder-dies');
    const nsA = a.namespace(name, { ttlMs: MINUTE });
    const nsB = b.namespace(name, { ttlMs: MINUTE });

    const never = deferred<string>();
    const holder = countingLoader(() => never.promise);
    const holderCall = nsA.getOrLoad('k', holder.load, { distributed: true });
    holderCall.catch(() => undefined);
    await vi.waitFor(() => expect(holder.calls()).toBe(1), { timeout: 2_000, interval: 5 });

    const follower = countingLoader(() => 'loaded-by-b');
    const followerCall = nsB.getOrLoad('k', follower.load, { distributed: true });
    await vi.waitFor(() => expect(nsB.stats().stampedesCoalesced).toBe(1), { timeout: 2_000, interval: 5 });
    expect(follower.calls()).toBe(0);

    await a.close(); // A "dies" holding the lock, its loader never finishes
    expect(await followerCall).toEqual({ value: 'loaded-by-b', source: 'loader' });
    expect(follower.calls()).toBe(1);
    expect(holder.calls()).toBe(1);
    expect(await nsB.get('k')).toBe('loaded-by-b');
  }, 8_000);

  it('distributed single-flight: a loader error on the holder is not cached; the others load or fail, none hangs', async () => {
    const [a, b] = await pair({ lockTtlMs: 5_000, lockWaitMs: 20_000 });
    const name = uniqueName('dsf-error');
    const nsA = a.namespace(name, { ttlMs: MINUTE });
    const nsB = b.namespace(name, { ttlMs: MINUTE });
    const gate = deferred<string>();
    const failing = countingLoader(() => gate.promise);
    const onA = Array.from({ length: 10 }, () => nsA.getOrLoad('k', failing.load, { distributed: true }));
    await vi.waitFor(() => expect(failing.calls()).toBe(1), { timeout: 2_000, interval: 5 });
    const second = countingLoader(() => 'recovered');
    const onB = Array.from({ length: 10 }, () => nsB.getOrLoad('k', second.load, { distributed: true }));
    await vi.waitFor(() => expect(nsB.stats().stampedesCoalesced).toBeGreaterThanOrEqual(1), { timeout: 2_000, interval: 5 });
    const boom = new Error('source failed');
    gate.reject(boom);

    for (const outcome of await Promise.allSettled(onA)) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBe(boom);
    }
    expect(await Promise.all(onB)).toEqual(Array.from({ length: 10 }, () => ({ value: 'recovered', source: 'loader' })));
    expect(second.calls()).toBe(1);
    expect(await nsA.get('k')).toBe('recovered');
  }, 8_000);

  it('compresses large L2 values: a 100 KB compressible value takes far less than its JSON in Redis', async () => {
    const [a, b] = await pair();
    const uncompressed = await engine({ compressAboveBytes: 10 * 1024 * 1024 });
    if (admin.status === 'wait') await admin.connect();
    const name = uniqueName('zip');
    const plainName = uniqueName('plain');
    const value = {
      text: 'the quick brown fox talks to the chat model. '.repeat(2_300),
      at: new Date('2024-01-02T03:04:05.006Z'),
    };
    const json = JSON.stringify(value);
    expect(json.length).toBeGreaterThan(100_000);

    const ttlMs = MINUTE;
    const graceMs = 30_000;
    await a.namespace(name, { ttlMs, graceMs }).set('big', value);
    const compressedKey = await valueKeyOf(name, 'big');
    const compressedSize = await admin.strlen(compressedKey);
    expect(compressedSize).toBeGreaterThan(0);
    expect(compressedSize).toBeLessThan(json.length / 10);
    const pttl = await admin.pttl(compressedKey);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(ttlMs + graceMs);

    // Another process reads it back intact.
    const back = await b.namespace(name, { ttlMs, graceMs }).getOrLoad('big', () => Promise.resolve({ text: '', at: new Date(0) }));
    expect(back.source).toBe('l2');
    expect(back.value).toEqual(value);
    expect(back.value.at).toBeInstanceOf(Date);

    // Below the threshold nothing is deflated: the stored form is at least the JSON.
    await uncompressed.namespace(plainName, { ttlMs }).set('big', value);
    expect(await admin.strlen(await valueKeyOf(plainName, 'big'))).toBeGreaterThanOrEqual(json.length);
    const plainBack = await b.namespace(plainName, { ttlMs }).getOrLoad('big', () => Promise.resolve({ text: '', at: new Date(0) }));
    expect(plainBack).toEqual({ value, source: 'l2' });
  });

  it('an l1Only namespace never leaves the process', async () => {
    const [a, b] = await pair();
    if (admin.status === 'wait') await admin.connect();
    const name = uniqueName('local');
    await a.namespace(name, { ttlMs: MINUTE, l1Only: true }).set('secret', 'stays here');
    expect(await a.namespace(name, { ttlMs: MINUTE, l1Only: true }).get('secret')).toBe('stays here');
    expect((await keysUnder(`${keyPrefix}:${name}:*`)).filter((k) => k.includes('secret'))).toEqual([]);
    expect(await b.namespace(name, { ttlMs: MINUTE, l1Only: true }).get('secret')).toBeUndefined();
  });

  it('an l1Only and an L2 namespace of one name are one namespace: an invalidateAll of the l1Only one moves the L2 generation every process learns', async () => {
    // The bus names a namespace by its name alone: their versions come from one counter, or an L2
    // process would adopt a number that a process started later cannot learn from Redis.
    const [a, b] = await pair();
    const name = uniqueName('mixed');
    const local = a.namespace(name, { ttlMs: MINUTE, l1Only: true });
    const shared = b.namespace(name, { ttlMs: MINUTE });
    await shared.set('before', 'old');
    await local.invalidateAll();
    await soon(async () => expect(await shared.get('before')).toBeUndefined());

    await shared.set('after', 'new');
    const later = await engine();
    const fresh = later.namespace(name, { ttlMs: MINUTE });
    expect(await fresh.get('before')).toBeUndefined();
    expect(await fresh.get('after')).toBe('new');
  });

  it('keyPrefix separates apps sharing one Redis', async () => {
    const [a] = await pair();
    const other = CacheEngine.create({ redisUrl: TEST_REDIS_URL, keyPrefix: `${keyPrefix}-other` });
    engines.push(other);
    await other.ready();
    const name = uniqueName('prefix');
    await a.namespace(name, { ttlMs: MINUTE }).set('k', 'mine');
    expect(await other.namespace(name, { ttlMs: MINUTE }).get('k')).toBeUndefined();
  });
});
