import { freePort, startPrivateRedis, type PrivateRedis } from '@chat/testing';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CacheEngine } from './cache-engine.js';
import type { CacheEngineOptions } from './cache-engine.options.js';
import type { CacheEvent, CacheNamespace } from './cache.types.js';
import { countingLoader, fakeClock } from './cache-engine.contract.js';
import { RedisTier } from './redis-tier.js';

/**
 * Fail-open against a private redis-server that the tests stop, kill and restart. Every call made
 * while Redis is unavailable must settle on its own: the test timeouts are the bound (no durations
 * are asserted), a hung call fails its test.
 */
const MINUTE = 60_000;
const keyPrefix = `test-cache-down-${randomUUID()}`;

let server: PrivateRedis;

/** A client to look into the private server, that never waits for it. */
function inspector(): Redis {
  return new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
}

async function existsInRedis(key: string): Promise<boolean> {
  const client = inspector();
  try {
    await client.connect();
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1_000);
      cursor = next;
      found.push(...batch.filter((k) => k.endsWith(`:${key}`)));
    } while (cursor !== '0');
    return found.length > 0;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** How many SUBSCRIBE commands of `user` Redis refused (its ACL log). */
async function subscribeRefusals(admin: Redis, user: string): Promise<number> {
  const entries = (await admin.call('ACL', 'LOG')) as unknown[][];
  return entries.filter((entry) => {
    const fields = new Map<unknown, unknown>();
    for (let i = 0; i + 1 < entry.length; i += 2) fields.set(entry[i], entry[i + 1]);
    return fields.get('username') === user && fields.get('object') === 'subscribe';
  }).length;
}

const engines: CacheEngine[] = [];

/** Lookups against the paused server time out until `engine`'s circuit opens (refusing calls without reaching Redis). */
async function openCircuit(engine: CacheEngine, ns: CacheNamespace, prefix: string): Promise<void> {
  for (let i = 0; i < 20 && engine.l2State !== 'open'; i++) await ns.get(`${prefix}-absent-${i}`);
  expect(engine.l2State).toBe('open');
}

/** Waits until nothing of `ns` is left to replay to Redis. */
async function replayed(ns: CacheNamespace): Promise<void> {
  await vi.waitFor(() => expect(ns.stats().l2.pending).toBe(0), { timeout: 15_000, interval: 100 });
}

function engineOn(options: Partial<CacheEngineOptions> = {}): CacheEngine {
  const engine = CacheEngine.create({
    redisUrl: server.url,
    keyPrefix,
    l2TimeoutMs: 150,
    breakerFailures: 3,
    breakerCooldownMs: 500,
    ...options,
  });
  engines.push(engine);
  return engine;
}

function l2ErrorEvents(engine: CacheEngine): () => number {
  let count = 0;
  engine.onEvent((event: CacheEvent) => {
    if (event.type === 'error' && event.tier === 'l2') count++;
  });
  return () => count;
}

/** What a service does with its cache while Redis is away: every call must settle and be right. */
async function exerciseWhileRedisIsAway(ns: CacheNamespace, warmKeys: string[], label: string, invalidateAll: boolean): Promise<void> {
  for (const key of warmKeys) expect(await ns.get(key)).toBe(`value-of-${key}`);
  expect(await ns.get(`${label}-absent`)).toBeUndefined();

  await ns.set(`${label}-written`, 'written while away');
  expect(await ns.get(`${label}-written`)).toBe('written while away');

  const loader = countingLoader((call) => `loaded-${call}`);
  expect(await ns.getOrLoad(`${label}-loaded`, loader.load)).toEqual({ value: 'loaded-1', source: 'loader' });
  expect(await ns.getOrLoad(`${label}-loaded`, loader.load)).toEqual({ value: 'loaded-1', source: 'l1' });

  const distributed = countingLoader(() => 'loaded-alone');
  const results = await Promise.all(
    Array.from({ length: 20 }, () => ns.getOrLoad(`${label}-distributed`, distributed.load, { distributed: true })),
  );
  expect(results.every((r) => r.value === 'loaded-alone')).toBe(true);
  expect(distributed.calls()).toBe(1);

  await ns.delete(warmKeys[0]);
  expect(await ns.get(warmKeys[0])).toBeUndefined();
  if (invalidateAll) {
    await ns.invalidateAll();
    expect(await ns.get(warmKeys[1])).toBeUndefined();
  }
}

/** Many L2 lookups in a row; with the circuit open most of them must not reach Redis. */
async function hammer(ns: CacheNamespace, attempts: () => number, label: string): Promise<{ calls: number; attempts: number }> {
  const before = attempts();
  const calls = 40;
  for (let i = 0; i < calls; i++) expect(await ns.get(`${label}-miss-${i}`)).toBeUndefined();
  return { calls, attempts: attempts() - before };
}

describe('cache engine with Redis down or slow (private redis-server)', () => {
  beforeAll(async () => {
    server = await startPrivateRedis();
  });

  afterAll(async () => {
    // Servers first: a failing close() must not leave a redis-server behind.
    await server.stop();
    const closed = await Promise.allSettled(engines.splice(0).map((engine) => engine.close()));
    for (const result of closed) if (result.status === 'rejected') throw result.reason;
  });

  it('Redis stops answering (SIGSTOP): calls fall through to L1 and the loader, the circuit opens, L2 resumes after SIGCONT', async () => {
    const engine = engineOn();
    const attempts = l2ErrorEvents(engine);
    await engine.ready();
    const ns = engine.namespace('slow', { ttlMs: MINUTE });
    const warm = ['w0', 'w1', 'w2', 'w3'];
    for (const key of warm) await ns.set(key, `value-of-${key}`);
    for (const key of warm) expect(await ns.get(key)).toBe(`value-of-${key}`);
    expect(await existsInRedis('w0')).toBe(true);
    expect(ns.stats().l2.errors).toBe(0);

    server.pause();
    try {
      await exerciseWhileRedisIsAway(ns, warm, 'slow', true);
      expect(ns.stats().l2.errors).toBeGreaterThan(0);
      expect(attempts()).toBeGreaterThan(0);
      const { calls, attempts: made } = await hammer(ns, attempts, 'slow');
      expect(made).toBeLessThan(calls / 2);
    } finally {
      server.resume();
    }

    await vi.waitFor(
      async () => {
        await ns.set('slow-after', 'back');
        expect(await existsInRedis('slow-after')).toBe(true);
      },
      { timeout: 5_000, interval: 200 },
    );
  }, 15_000);

  it('Redis killed (SIGKILL): calls keep working without waiting on it; after a restart L2 resumes by itself', async () => {
    const engine = engineOn();
    const reader = engineOn();
    const attempts = l2ErrorEvents(engine);
    await Promise.all([engine.ready(), reader.ready()]);
    const ns = engine.namespace('killed', { ttlMs: MINUTE });
    const readerNs = reader.namespace('killed', { ttlMs: MINUTE });
    const warm = ['w0', 'w1', 'w2', 'w3'];
    for (const key of warm) await ns.set(key, `value-of-${key}`);
    for (const key of warm) expect(await ns.get(key)).toBe(`value-of-${key}`);
    expect(await existsInRedis('w3')).toBe(true);

    await server.kill();
    try {
      // Whether a call meets the dead connection (an L2 error, counted, and the circuit opens) or the
      // engine has already seen its invalidation bus drop (L2 set aside until it is back, no call at
      // all) depends on which comes first; either way nothing waits on Redis and few calls reach it.
      await exerciseWhileRedisIsAway(ns, warm, 'killed', false);
      const { calls, attempts: made } = await hammer(ns, attempts, 'killed');
      expect(made).toBeLessThan(calls / 2);
      // The other engine, which had nothing in L1, falls through to its loader as well.
      expect(await readerNs.getOrLoad('w2', () => Promise.resolve('from-source'))).toEqual({ value: 'from-source', source: 'loader' });
    } finally {
      await server.start(); // same port, empty; also after a failure, or every later test would fail with it
    }
    await vi.waitFor(
      async () => {
        await ns.set('killed-after', 'back');
        expect(await existsInRedis('killed-after')).toBe(true);
      },
      { timeout: 15_000, interval: 200 },
    );
    // L2 reads are back too: the other engine, which never held the key, finds it in Redis
    // (a get that misses stores nothing, so only L2 can answer it).
    await vi.waitFor(async () => expect(await readerNs.get('killed-after')).toBe('back'), { timeout: 15_000, interval: 200 });
    expect(readerNs.stats().l2.hits).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('an invalidateAll made while Redis is down: once Redis is back, the processes share L2 again', async () => {
    const a = engineOn();
    const b = engineOn();
    await Promise.all([a.ready(), b.ready()]);
    const nsA = a.namespace('diverge', { ttlMs: MINUTE });
    const nsB = b.namespace('diverge', { ttlMs: MINUTE });
    await nsA.set('before', 'shared');
    expect(await nsB.get('before')).toBe('shared');

    await server.kill();
    await nsA.invalidateAll();
    expect(await nsA.get('before')).toBeUndefined();

    await server.start(); // same port, empty
    // B never holds 'conv' in L1 (a get that misses stores nothing): only L2 can answer it.
    let round = 0;
    await vi.waitFor(
      async () => {
        round++;
        await nsA.set('conv', `from-a-${round}`);
        expect(await nsB.get('conv')).toBe(`from-a-${round}`);
      },
      { timeout: 15_000, interval: 200 },
    );
  }, 30_000);

  it('a delete refused by the open circuit (Redis hung) is replayed once Redis answers: no engine reads the old value afterwards', async () => {
    const a = engineOn();
    const b = engineOn();
    await Promise.all([a.ready(), b.ready()]);
    const nsA = a.namespace('replayed', { ttlMs: MINUTE });
    const nsB = b.namespace('replayed', { ttlMs: MINUTE });
    await nsA.set('replayed-conv', 'old');
    await nsA.set('replayed-other', 'kept');
    expect(await nsB.get('replayed-conv')).toBe('old'); // B now holds it in L1 too

    server.pause();
    try {
      // Lookups that time out open A's circuit; the delete is then refused without reaching Redis.
      await openCircuit(a, nsA, 'replayed');
      await nsA.delete('replayed-conv');
      // This process never serves the old value, from L1 or L2.
      expect(await nsA.get('replayed-conv')).toBeUndefined();
      expect(nsA.stats().l2.pending).toBe(1);
    } finally {
      server.resume();
    }
    expect(await nsA.get('replayed-conv')).toBeUndefined();

    // Once Redis answers, A replays the delete: B (which held the value in L1) stops seeing it,
    // and so does a process started afterwards, which can only find it in Redis.
    await vi.waitFor(async () => expect(await nsB.get('replayed-conv')).toBeUndefined(), { timeout: 15_000, interval: 100 });
    await replayed(nsA);
    const c = engineOn();
    await c.ready();
    const nsC = c.namespace('replayed', { ttlMs: MINUTE });
    expect(await nsC.get('replayed-conv')).toBeUndefined();
    expect(await existsInRedis('replayed-conv')).toBe(false);
    expect(await nsC.get('replayed-other')).toBe('kept');
  }, 30_000);

  it('an invalidateAll refused by the open circuit (connection up, Redis hung) reaches the other processes once Redis answers', async () => {
    const a = engineOn();
    const b = engineOn();
    await Promise.all([a.ready(), b.ready()]);
    const nsA = a.namespace('replayed-all', { ttlMs: MINUTE });
    const nsB = b.namespace('replayed-all', { ttlMs: MINUTE });
    await nsA.set('replayed-all-k', 'old');
    expect(await nsB.get('replayed-all-k')).toBe('old');

    server.pause();
    try {
      await openCircuit(a, nsA, 'replayed-all');
      await nsA.invalidateAll();
      expect(await nsA.get('replayed-all-k')).toBeUndefined();
      expect(nsA.stats().l2.pending).toBe(1);
    } finally {
      server.resume();
    }

    // No reconnect happens here (the connections stayed up): the replay alone must carry it.
    await vi.waitFor(async () => expect(await nsB.get('replayed-all-k')).toBeUndefined(), { timeout: 15_000, interval: 100 });
    await replayed(nsA);
    const c = engineOn();
    await c.ready();
    const nsC = c.namespace('replayed-all', { ttlMs: MINUTE });
    expect(await nsC.get('replayed-all-k')).toBeUndefined();
    // And they share the new generation.
    await nsA.set('replayed-all-k', 'new');
    expect(await nsC.get('replayed-all-k')).toBe('new');
  }, 30_000);

  it('memory stays bounded: past 1,000 unreplayed deletes the namespace is invalidated as a whole once Redis answers', async () => {
    const a = engineOn();
    const b = engineOn();
    await Promise.all([a.ready(), b.ready()]);
    const nsA = a.namespace('overflow', { ttlMs: MINUTE, l1MaxEntries: 10 });
    const nsB = b.namespace('overflow', { ttlMs: MINUTE });
    await nsA.set('overflow-deleted', 'old');
    await nsA.set('overflow-untouched', 'old too');
    expect(await nsB.get('overflow-deleted')).toBe('old');

    server.pause();
    try {
      await openCircuit(a, nsA, 'overflow');
      await nsA.delete('overflow-deleted');
      for (let i = 0; i < 1_000; i++) await nsA.delete(`overflow-${i}`);
      // Not one entry per key: one namespace-wide invalidation, plus the keys deleted after it.
      expect(nsA.stats().l2.pending).toBeLessThan(1_000);
      expect(await nsA.get('overflow-deleted')).toBeUndefined();
    } finally {
      server.resume();
    }

    await vi.waitFor(async () => expect(await nsB.get('overflow-deleted')).toBeUndefined(), { timeout: 15_000, interval: 100 });
    await replayed(nsA);
    const c = engineOn();
    await c.ready();
    const nsC = c.namespace('overflow', { ttlMs: MINUTE });
    expect(await nsC.get('overflow-deleted')).toBeUndefined();
    expect(await nsC.get('overflow-untouched')).toBeUndefined();
  }, 30_000);

  it('a process that starts while Redis does not answer yet: its delete is replayed once it connects (the namespace version is learnt first)', async () => {
    const b = engineOn();
    await b.ready();
    const nsB = b.namespace('starting', { ttlMs: MINUTE });
    // A generation above 0: the starting process must learn it to delete the right Redis key.
    await nsB.invalidateAll();
    await nsB.set('starting-conv', 'old');
    expect(await existsInRedis('starting-conv')).toBe(true);

    server.pause();
    // Its connections cannot complete while Redis is stopped: this is a process mid-start.
    const a = engineOn();
    const nsA = a.namespace('starting', { ttlMs: MINUTE });
    try {
      await nsA.delete('starting-conv');
      expect(await nsA.get('starting-conv')).toBeUndefined();
    } finally {
      server.resume();
    }
    await a.ready();
    expect(await nsA.get('starting-conv')).toBeUndefined();

    await vi.waitFor(async () => expect(await nsB.get('starting-conv')).toBeUndefined(), { timeout: 15_000, interval: 100 });
    const c = engineOn();
    await c.ready();
    expect(await c.namespace('starting', { ttlMs: MINUTE }).get('starting-conv')).toBeUndefined();
    expect(await existsInRedis('starting-conv')).toBe(false);
  }, 30_000);

  it('a subscriber connection lost alone (CLIENT KILL TYPE pubsub): a delete made meanwhile is replayed in the generation another process moved to', async () => {
    const admin = inspector();
    await admin.connect();
    // A connects as a user of its own, so that only its subscriber can be kept from coming back.
    const user = `deaf-${randomUUID().slice(0, 8)}`;
    await admin.call('ACL', 'SETUSER', user, 'reset', 'on', '>secret', '~*', '&*', '+@all');
    const a = engineOn({ redisUrl: `redis://${user}:secret@127.0.0.1:${server.port}` });
    const b = engineOn();
    await Promise.all([a.ready(), b.ready()]);
    const nsA = a.namespace('deaf', { ttlMs: MINUTE });
    const nsB = b.namespace('deaf', { ttlMs: MINUTE });
    await nsA.set('deaf-k', 'before');
    expect(await nsB.get('deaf-k')).toBe('before'); // one generation for both

    try {
      // A's subscriber is dropped and may not subscribe again; its main connection stays up.
      await admin.call('ACL', 'SETUSER', user, '-subscribe');
      await admin.call('CLIENT', 'KILL', 'USER', user, 'TYPE', 'pubsub');
      // Redis refusing its SUBSCRIBE shows that A's subscriber is reconnecting, so A knows it is down.
      await vi.waitFor(async () => expect(await subscribeRefusals(admin, user)).toBeGreaterThan(0), { timeout: 10_000, interval: 50 });

      // B invalidates the namespace (A cannot hear it), then loads the key from the source as it was
      // before A's change, which fills B's new generation.
      await nsB.invalidateAll();
      expect(await nsB.getOrLoad('deaf-k', () => Promise.resolve('old'))).toEqual({ value: 'old', source: 'loader' });
      // A changes the source and deletes the key: under its old version, that delete would miss it.
      await nsA.delete('deaf-k');
    } finally {
      await admin.call('ACL', 'SETUSER', user, '+subscribe');
      admin.disconnect();
    }

    // A's subscriber comes back; A relearns the version and replays its delete in B's generation.
    await replayed(nsA);
    await vi.waitFor(async () => expect(await nsB.get('deaf-k')).toBeUndefined(), { timeout: 15_000, interval: 100 });
    const c = engineOn();
    await c.ready();
    expect(await c.namespace('deaf', { ttlMs: MINUTE }).get('deaf-k')).toBeUndefined();
  }, 30_000);

  it('calls refused while the connection is still being made do not keep the circuit open once it is up', async () => {
    // The breaker's clock never moves on its own here: only the connection coming up can let a
    // trial through (the version sync's first call), whose success closes it.
    const clock = fakeClock();
    server.pause();
    const engine = engineOn({ now: clock.now });
    const namespaces = ['early-a', 'early-b', 'early-c'].map((name) => engine.namespace(name, { ttlMs: MINUTE }));
    try {
      // Writes made before the connection is up: each of them tries Redis (and is refused at once).
      for (let i = 0; i < 10; i++) await namespaces[0].set(`early-${i}`, i);
      expect(engine.l2State).toBe('open');
    } finally {
      server.resume();
    }
    await engine.ready();
    expect(engine.l2State).toBe('closed');
    // Every namespace has relearnt its version on the closed circuit, not only the first to try.
    for (const [i, ns] of namespaces.entries()) await ns.set(`early-after-${i}`, 'reached Redis');
    for (const i of namespaces.keys()) expect(await existsInRedis(`early-after-${i}`)).toBe(true);
  }, 20_000);

  it('a connection coming up makes an open circuit half-open, and its trial (a PING) is decided before anyone hears that it is up', async () => {
    // The breaker's clock never moves on its own: only the connection coming up can let a call through.
    const clock = fakeClock();
    server.pause();
    const tier = new RedisTier({ url: server.url, timeoutMs: 150, breakerFailures: 3, breakerCooldownMs: 500, now: clock.now, onError: () => undefined });
    const heard: string[] = [];
    tier.onBusReady(() => heard.push(tier.breakerState));
    try {
      try {
        for (let i = 0; i < 5; i++) await tier.get('k').catch(() => undefined);
        expect(tier.breakerState).toBe('open');
      } finally {
        server.resume();
      }
      expect(await tier.ready(10_000)).toBe(true);
      // Told once Redis answered the trial: on a closed circuit, every caller's resync goes through.
      expect(heard).toContain('closed');
      expect(tier.breakerState).toBe('closed');
    } finally {
      await tier.close();
    }
  }, 20_000);

  it('an engine pointed at a port where nothing listens works L1-only from the start', async () => {
    const deadPort = await freePort();
    const engine = CacheEngine.create({ redisUrl: `redis://127.0.0.1:${deadPort}`, keyPrefix, l2TimeoutMs: 150 });
    engines.push(engine);
    const ns = engine.namespace('nothing', { ttlMs: MINUTE });
    await ns.set('k', 'v');
    expect(await ns.get('k')).toBe('v');
    expect(await ns.get('absent')).toBeUndefined();
    const loader = countingLoader(() => 'loaded');
    expect(await ns.getOrLoad('l', loader.load)).toEqual({ value: 'loaded', source: 'loader' });
    expect(await ns.getOrLoad('l', loader.load)).toEqual({ value: 'loaded', source: 'l1' });
    expect(await ns.getOrLoad('d', loader.load, { distributed: true })).toEqual({ value: 'loaded', source: 'loader' });
    await ns.delete('k');
    expect(await ns.get('k')).toBeUndefined();
    await ns.invalidateAll();
    expect(await ns.get('l')).toBeUndefined();
    expect(loader.calls()).toBe(2);
    expect(ns.stats().l2.errors).toBeGreaterThan(0);
    await engine.close();
    await engine.close();
  }, 20_000);
});
