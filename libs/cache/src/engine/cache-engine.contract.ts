import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CacheEngine } from './cache-engine.js';
import type { CacheEvent, CacheNamespace, Loaded, NamespaceOptions } from './cache.types.js';

/**
 * The behaviour every configuration of the cache engine must show, L1-only and L1 + Redis alike.
 * Time-dependent behaviour (TTL, grace, refresh-ahead, adaptive TTL) runs on an injected clock that
 * only moves when a test advances it; nothing here sleeps to let a TTL pass.
 *
 * TTLs are long (a minute and more) on purpose: an implementation may also hand the TTL to a store
 * that keeps real time (Redis PX, an LRU's own TTL); those must never be what makes a test pass or fail.
 *
 * Not a spec file: `cache-engine.contract.spec.ts` and `cache-engine.redis.int-spec.ts` run it.
 */

export interface FakeClock {
  now: () => number;
  advance: (ms: number) => void;
}

/** Starts at the real time (so that TTLs handed to Redis stay sensible) and only moves when told. */
export function fakeClock(start = Date.now()): FakeClock {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A namespace name unique to one test, so suites sharing a Redis never see each other's keys. */
export function uniqueName(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** A loader that counts its calls. */
export function countingLoader<T>(produce: (call: number) => T | Promise<T>): { load: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    load: async () => produce(++calls),
    calls: () => calls,
  };
}

/** Lets promise callbacks and zero-delay timers that are already queued run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Polls an assertion (for work an engine does in the background or over the network). */
async function until(assertion: () => void | Promise<void>, timeout = 2_000): Promise<void> {
  await vi.waitFor(assertion, { timeout, interval: 5 });
}

const MINUTE = 60_000;

export interface ContractOptions {
  /** Engines made by `makeEngine` share a tier (Redis), as processes do: what one writes, another may read. */
  sharedTier: boolean;
}

export function runCacheContract(name: string, makeEngine: (now: () => number) => CacheEngine, options: ContractOptions): void {
  describe(`cache engine contract: ${name}`, () => {
    const engines: CacheEngine[] = [];

    afterEach(async () => {
      await Promise.all(engines.splice(0).map((engine) => engine.close()));
    });

    async function setup(): Promise<{ engine: CacheEngine; clock: FakeClock }> {
      const clock = fakeClock();
      const engine = makeEngine(clock.now);
      engines.push(engine);
      await engine.ready();
      return { engine, clock };
    }

    async function namespace(options: NamespaceOptions, label = 'ns'): Promise<{ engine: CacheEngine; clock: FakeClock; ns: CacheNamespace }> {
      const { engine, clock } = await setup();
      return { engine, clock, ns: engine.namespace(uniqueName(label), options) };
    }

    describe('get / set / delete', () => {
      it('misses an absent key, returns what was set, the last write wins, delete removes', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        expect(await ns.get('k')).toBeUndefined();
        await ns.set('k', { a: 1, list: [1, 'two', { three: 3 }] });
        expect(await ns.get('k')).toEqual({ a: 1, list: [1, 'two', { three: 3 }] });
        await ns.set('k', 'second');
        expect(await ns.get('k')).toBe('second');
        await ns.delete('k');
        expect(await ns.get('k')).toBeUndefined();
        await expect(ns.delete('never-set')).resolves.toBeUndefined();
      });

      it('falsy values are cached values, not misses', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const values: Array<[string, unknown]> = [
          ['null', null],
          ['zero', 0],
          ['empty', ''],
          ['false', false],
          ['empty-array', []],
          ['empty-object', {}],
        ];
        for (const [key, value] of values) await ns.set(key, value);
        for (const [key, value] of values) expect(await ns.get(key)).toEqual(value);
        expect(ns.stats().hits).toBe(values.length);
        expect(ns.stats().misses).toBe(0);

        const loader = countingLoader(() => null);
        expect(await ns.getOrLoad('loaded-null', loader.load)).toEqual({ value: null, source: 'loader' });
        expect(await ns.getOrLoad('loaded-null', loader.load)).toEqual({ value: null, source: 'l1' });
        expect(loader.calls()).toBe(1);
      });

      it('a value read back is a copy: mutating it does not change the cache', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const original = { list: [1, 2], nested: { x: 1 } };
        await ns.set('k', original);
        original.list.push(3);
        const first = await ns.get<{ list: number[]; nested: { x: number } }>('k');
        first!.nested.x = 99;
        expect(await ns.get('k')).toEqual({ list: [1, 2], nested: { x: 1 } });
      });

      it('keys with separators and unicode stay distinct', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const keys = ['a:b', 'a', 'a:b:c', 'a::b', ' spaced key ', 'ünï-😀', 'v1:a', '*', 'a*'];
        for (const [i, key] of keys.entries()) await ns.set(key, i);
        for (const [i, key] of keys.entries()) expect(await ns.get(key)).toBe(i);
      });
    });

    describe('TTL', () => {
      it('an entry expires once the namespace TTL has passed on the injected clock', async () => {
        const { ns, clock } = await namespace({ ttlMs: MINUTE, graceMs: 0 });
        await ns.set('k', 'v');
        clock.advance(MINUTE - 1);
        expect(await ns.get('k')).toBe('v');
        clock.advance(2);
        expect(await ns.get('k')).toBeUndefined();

        const loader = countingLoader(() => 'reloaded');
        expect(await ns.getOrLoad('k', loader.load)).toEqual({ value: 'reloaded', source: 'loader' });
        expect(loader.calls()).toBe(1);
      });

      it('a loaded entry expires with the namespace TTL too', async () => {
        const { ns, clock } = await namespace({ ttlMs: MINUTE, graceMs: 0 });
        const loader = countingLoader((call) => `v${call}`);
        expect(await ns.getOrLoad('k', loader.load)).toEqual({ value: 'v1', source: 'loader' });
        clock.advance(MINUTE - 1);
        expect(await ns.getOrLoad('k', loader.load)).toEqual({ value: 'v1', source: 'l1' });
        clock.advance(2);
        expect(await ns.getOrLoad('k', loader.load)).toEqual({ value: 'v2', source: 'loader' });
        expect(loader.calls()).toBe(2);
      });

      it('a per-entry TTL overrides the namespace TTL, shorter or longer', async () => {
        const { ns, clock } = await namespace({ ttlMs: MINUTE, graceMs: 0 });
        await ns.set('short', 's', { ttlMs: 5_000 });
        await ns.set('default', 'd');
        await ns.set('long', 'l', { ttlMs: 3 * MINUTE });
        const loader = countingLoader(() => 'loaded-short');
        await ns.getOrLoad('loaded-short', loader.load, { ttlMs: 5_000 });

        clock.advance(5_001);
        expect(await ns.get('short')).toBeUndefined();
        expect(await ns.get('loaded-short')).toBeUndefined();
        expect(await ns.get('default')).toBe('d');
        expect(await ns.get('long')).toBe('l');

        clock.advance(MINUTE);
        expect(await ns.get('default')).toBeUndefined();
        expect(await ns.get('long')).toBe('l');

        clock.advance(2 * MINUTE);
        expect(await ns.get('long')).toBeUndefined();
      });

      it('setting a key again restarts its TTL', async () => {
        const { ns, clock } = await namespace({ ttlMs: MINUTE, graceMs: 0 });
        await ns.set('k', 'first');
        clock.advance(MINUTE - 1_000);
        await ns.set('k', 'second');
        clock.advance(MINUTE - 1_000);
        expect(await ns.get('k')).toBe('second');
        clock.advance(1_001);
        expect(await ns.get('k')).toBeUndefined();
      });
    });

    describe('serialization', () => {
      it('Dates come back as Dates, top-level, nested and in arrays', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const at = new Date('2024-02-29T12:34:56.789Z');
        const value = {
          createdAt: at,
          nested: { deeper: { when: new Date(0) }, list: [new Date(1_700_000_000_123), 'text', 5] },
          messages: [
            { id: 1, sentAt: new Date('2023-01-01T00:00:00.000Z') },
            { id: 2, sentAt: new Date('2023-01-02T00:00:00.000Z') },
          ],
        };
        await ns.set('obj', value);
        await ns.set('date', at);

        const back = await ns.get<typeof value>('obj');
        expect(back).toEqual(value);
        expect(back!.createdAt).toBeInstanceOf(Date);
        expect(back!.createdAt.getTime()).toBe(at.getTime());
        expect(back!.nested.deeper.when).toBeInstanceOf(Date);
        expect(back!.nested.list[0]).toBeInstanceOf(Date);
        expect(back!.messages[1].sentAt).toBeInstanceOf(Date);

        const date = await ns.get<Date>('date');
        expect(date).toBeInstanceOf(Date);
        expect(date!.getTime()).toBe(at.getTime());

        const loaded = await ns.getOrLoad('loaded', () => Promise.resolve({ at }));
        expect(loaded.value.at).toBeInstanceOf(Date);
        const cached = await ns.getOrLoad('loaded', () => Promise.resolve({ at: new Date(0) }));
        expect(cached.source).not.toBe('loader');
        expect(cached.value.at).toBeInstanceOf(Date);
        expect(cached.value.at.getTime()).toBe(at.getTime());
      });

      it('strings that look like dates stay strings', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const value = { iso: '2024-02-29T12:34:56.789Z', list: ['2024-02-29T12:34:56.789Z'] };
        await ns.set('k', value);
        await ns.set('s', '2024-02-29T12:34:56.789Z');
        expect(await ns.get('k')).toStrictEqual(value);
        expect(await ns.get('s')).toBe('2024-02-29T12:34:56.789Z');
      });

      it('plain objects shaped like a serializer tag stay plain objects', async () => {
        // e.g. MongoDB extended JSON in a tool result: { "$date": "..." } is data, not a Date.
        const { ns } = await namespace({ ttlMs: MINUTE });
        const value = { when: { $date: '2024-02-29T12:34:56.789Z' }, other: { $date: 'not a date' } };
        await ns.set('k', value);
        const back = await ns.get<typeof value>('k');
        expect(back!.when).not.toBeInstanceOf(Date);
        expect(back).toStrictEqual(value);
      });

      it('large values round-trip: a 200 KB string, a 200 KB multi-byte string, a big nested object with Dates', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const ascii = randomBytes(100 * 1024).toString('hex'); // 200 KB, incompressible
        const multiByte = 'é€😀 chat '.repeat(20_000);
        const big = {
          conversation: { id: randomUUID(), startedAt: new Date('2024-01-01T00:00:00.000Z') },
          messages: Array.from({ length: 2_000 }, (_, i) => ({
            id: i,
            role: i % 2 === 0 ? 'user' : 'assistant',
            content: `message number ${i} `.repeat(5),
            at: new Date(1_700_000_000_000 + i * 1_000),
            meta: { tokens: i * 3, tags: ['a', 'b'] },
          })),
        };
        await ns.set('ascii', ascii);
        await ns.set('multi', multiByte);
        await ns.set('big', big);
        expect(await ns.get('ascii')).toBe(ascii);
        expect(await ns.get('multi')).toBe(multiByte);
        const back = await ns.get<typeof big>('big');
        expect(back).toEqual(big);
        expect(back!.messages[1_999].at).toBeInstanceOf(Date);
        expect(ns.stats().l1.bytes).toBeGreaterThanOrEqual(ascii.length);
      });
    });

    describe('namespaces', () => {
      it('keep keys apart and have their own TTLs; the same name gives the same namespace', async () => {
        const { engine, clock } = await setup();
        const shortName = uniqueName('short');
        const longName = uniqueName('long');
        const short = engine.namespace(shortName, { ttlMs: MINUTE, graceMs: 0 });
        const long = engine.namespace(longName, { ttlMs: 5 * MINUTE, graceMs: 0 });
        expect(short.name).toBe(shortName);

        await short.set('k', 'short');
        await long.set('k', 'long');
        expect(await short.get('k')).toBe('short');
        expect(await long.get('k')).toBe('long');

        const again = engine.namespace(shortName, { ttlMs: MINUTE, graceMs: 0 });
        expect(again.name).toBe(shortName);
        expect(await again.get('k')).toBe('short');

        clock.advance(MINUTE + 1);
        expect(await short.get('k')).toBeUndefined();
        expect(await long.get('k')).toBe('long');

        await short.set('k', 'short-2');
        await short.delete('k');
        expect(await long.get('k')).toBe('long');

        await long.set('other', 'x');
        await short.invalidateAll();
        expect(await long.get('other')).toBe('x');

        const all = engine.stats();
        expect(Object.keys(all)).toEqual(expect.arrayContaining([shortName, longName]));
        expect(all[shortName]).toEqual(short.stats());
        expect(all[longName]).toEqual(long.stats());
      });
    });

    describe('getOrLoad', () => {
      it('loads on a miss, then serves from L1 without calling the loader', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const loader = countingLoader(() => ({ answer: 42 }));
        expect(await ns.getOrLoad('k', loader.load)).toEqual({ value: { answer: 42 }, source: 'loader' });
        expect(await ns.getOrLoad('k', loader.load)).toEqual({ value: { answer: 42 }, source: 'l1' });
        expect(await ns.get('k')).toEqual({ answer: 42 });
        expect(loader.calls()).toBe(1);
        expect(ns.stats().loads).toBe(1);
      });

      it('a value that was set is served without calling the loader', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        await ns.set('k', 'set');
        const loader = countingLoader(() => 'loaded');
        expect(await ns.getOrLoad('k', loader.load)).toEqual({ value: 'set', source: 'l1' });
        expect(loader.calls()).toBe(0);
      });

      it('single-flight: 100 concurrent misses on one key run the loader once', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const gate = deferred<string>();
        const loader = countingLoader(() => gate.promise);
        const calls = Array.from({ length: 100 }, () => ns.getOrLoad('hot', loader.load));
        // Every caller has joined the one flight (L2 read, then load) before it finishes.
        await until(() => {
          expect(ns.stats().stampedesCoalesced).toBe(99);
          expect(loader.calls()).toBe(1);
        });
        gate.resolve('once');
        const results = await Promise.all(calls);

        expect(loader.calls()).toBe(1);
        expect(results.every((r) => r.value === 'once')).toBe(true);
        expect(results.filter((r) => r.source === 'loader').length).toBeGreaterThanOrEqual(1);
        const stats = ns.stats();
        expect(stats.loads).toBe(1);
        expect(stats.stampedesCoalesced).toBe(99);

        expect(await ns.getOrLoad('hot', loader.load)).toEqual({ value: 'once', source: 'l1' });
        expect(loader.calls()).toBe(1);
      });

      it('single-flight is per key: different keys load independently', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const loaded: string[] = [];
        const results = await Promise.all(
          ['a', 'b', 'c'].map((key) =>
            ns.getOrLoad(key, () => {
              loaded.push(key);
              return Promise.resolve(key.toUpperCase());
            }),
          ),
        );
        expect(results.map((r) => r.value)).toEqual(['A', 'B', 'C']);
        expect(loaded.sort()).toEqual(['a', 'b', 'c']);
        expect(ns.stats().stampedesCoalesced).toBe(0);
      });

      it('a loader error reaches every waiter, is not cached, and the next call loads again', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE, graceMs: MINUTE });
        const boom = new Error('boom');
        const gate = deferred<string>();
        const failing = countingLoader(() => gate.promise);
        const calls = Array.from({ length: 10 }, () => ns.getOrLoad('k', failing.load));
        // Every caller has joined the flight and the loader is running before it fails.
        await until(() => {
          expect(ns.stats().stampedesCoalesced).toBe(9);
          expect(failing.calls()).toBe(1);
        });
        gate.reject(boom);
        const outcomes = await Promise.allSettled(calls);

        expect(failing.calls()).toBe(1);
        for (const outcome of outcomes) {
          expect(outcome.status).toBe('rejected');
          expect((outcome as PromiseRejectedResult).reason).toBe(boom);
        }
        expect(ns.stats().loadErrors).toBe(1);
        expect(await ns.get('k')).toBeUndefined();

        const working = countingLoader(() => 'ok');
        expect(await ns.getOrLoad('k', working.load)).toEqual({ value: 'ok', source: 'loader' });
        expect(working.calls()).toBe(1);
      });

      it('a loader that throws synchronously rejects the call and does not wedge the key', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const syncThrow = (): Promise<string> => {
          throw new Error('sync boom');
        };
        await expect(ns.getOrLoad('k', syncThrow)).rejects.toThrow('sync boom');
        expect(ns.stats().loadErrors).toBe(1);
        expect(await ns.getOrLoad('k', () => Promise.resolve('after'))).toEqual({ value: 'after', source: 'loader' });
      });

      it('shouldCache=false returns the value without storing it', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const loader = countingLoader((call) => ({ ok: false, call }));
        const shouldCache = (value: { ok: boolean }): boolean => value.ok;
        expect(await ns.getOrLoad('k', loader.load, { shouldCache })).toEqual({ value: { ok: false, call: 1 }, source: 'loader' });
        expect(await ns.get('k')).toBeUndefined();
        expect(await ns.getOrLoad('k', loader.load, { shouldCache })).toEqual({ value: { ok: false, call: 2 }, source: 'loader' });
        expect(loader.calls()).toBe(2);
        expect(ns.stats().l1.size).toBe(0);

        const good = countingLoader(() => ({ ok: true, call: 0 }));
        await ns.getOrLoad('k', good.load, { shouldCache });
        expect(await ns.get('k')).toEqual({ ok: true, call: 0 });
      });

      it('bypass neither reads nor writes the cache', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        await ns.set('k', 'cached');
        const loader = countingLoader((call) => `fresh-${call}`);
        expect(await ns.getOrLoad('k', loader.load, { bypass: true })).toEqual({ value: 'fresh-1', source: 'loader' });
        expect(await ns.get('k')).toBe('cached');

        expect(await ns.getOrLoad('absent', loader.load, { bypass: true })).toEqual({ value: 'fresh-2', source: 'loader' });
        expect(await ns.get('absent')).toBeUndefined();
        expect(loader.calls()).toBe(2);
      });

      it('a delete during an in-flight load is not undone by that load', async () => {
        // The loader read the source before the write that caused the delete; storing its
        // result afterwards would bring the deleted value back until the TTL ends.
        const { ns } = await namespace({ ttlMs: MINUTE });
        const gate = deferred<string>();
        const loader = countingLoader(() => gate.promise);
        const pending = ns.getOrLoad('k', loader.load);
        await until(() => expect(loader.calls()).toBe(1));
        await ns.delete('k');
        gate.resolve('read-before-delete');
        expect((await pending).value).toBe('read-before-delete');
        expect(await ns.get('k')).toBeUndefined();
      });

      it('a set during an in-flight load wins over that load', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const gate = deferred<string>();
        const loader = countingLoader(() => gate.promise);
        const pending = ns.getOrLoad('k', loader.load);
        await until(() => expect(loader.calls()).toBe(1));
        await ns.set('k', 'written-during-load');
        gate.resolve('read-before-write');
        expect((await pending).value).toBe('read-before-write');
        expect(await ns.get('k')).toBe('written-during-load');
      });

      it('a read that starts after a delete does not join a load that began before it', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        let source = 'old';
        const gate = deferred<void>();
        const slowOld = ns.getOrLoad('k', async () => {
          const read = source;
          await gate.promise;
          return read;
        });
        await until(() => expect(ns.stats().loads).toBe(1));
        source = 'new';
        await ns.delete('k');
        // Started after the delete: must read the new value, not wait for the old load.
        const fresh = ns.getOrLoad('k', async () => source);
        gate.resolve();
        expect((await slowOld).value).toBe('old');
        expect((await fresh).value).toBe('new');
        expect(await ns.get('k')).toBe('new');
      });

      it('an invalidateAll during an in-flight load is not undone by that load', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const gate = deferred<string>();
        const loader = countingLoader(() => gate.promise);
        const pending = ns.getOrLoad('k', loader.load);
        await until(() => expect(loader.calls()).toBe(1));
        await ns.invalidateAll();
        gate.resolve('read-before-invalidate');
        expect((await pending).value).toBe('read-before-invalidate');
        expect(await ns.get('k')).toBeUndefined();
      });
    });

    describe('writes made while the engine is starting', () => {
      // Only where engines share a tier. L1-only engines share nothing and are ready at once: the
      // starting engine never holds the old value and one started later can read nothing another
      // wrote, so every assertion here would hold whatever the engine did with those writes.
      it.runIf(options.sharedTier)('a delete or set made before the engine is ready holds once it is: neither this engine nor one started later reads the old value', async () => {
        // What a process that has just started does: it writes (its connections, if it has any,
        // are still being made) and must not leave the old value readable anywhere.
        const { engine: earlier, clock } = await setup();
        const name = uniqueName('starting');
        const before = earlier.namespace(name, { ttlMs: MINUTE });
        await before.set('deleted', 'old');
        await before.set('replaced', 'old');
        await before.set('untouched', 'kept');

        const starting = makeEngine(clock.now);
        engines.push(starting);
        const ns = starting.namespace(name, { ttlMs: MINUTE });
        await ns.delete('deleted');
        await ns.set('replaced', 'new');
        expect(await ns.get('deleted')).toBeUndefined();
        expect(await ns.get('replaced')).toBe('new');

        await starting.ready();
        expect(await ns.get('deleted')).toBeUndefined();
        // Its own L1 may have been dropped as it connected (it may have missed messages meanwhile).
        expect(await ns.get('replaced')).not.toBe('old');
        const loader = countingLoader(() => 'from-source');
        expect(await ns.getOrLoad('deleted', loader.load)).toEqual({ value: 'from-source', source: 'loader' });

        // A process started later has nothing in L1: whatever it finds, it finds in the shared tier.
        const later = makeEngine(clock.now);
        engines.push(later);
        await later.ready();
        const fresh = later.namespace(name, { ttlMs: MINUTE });
        expect(await fresh.get('replaced')).not.toBe('old');
        expect(await fresh.get('deleted')).not.toBe('old');
        // Only what was written is affected.
        expect(await fresh.get('untouched')).toBe('kept');
      });
    });

    describe('stale-while-revalidate', () => {
      it('within grace: serves the old value as stale once, refreshes in the background; after grace: loads', async () => {
        const { ns, clock } = await namespace({ ttlMs: MINUTE, graceMs: MINUTE });
        expect(await ns.getOrLoad('k', () => Promise.resolve('v1'))).toEqual({ value: 'v1', source: 'loader' });

        clock.advance(MINUTE + 30_000); // past the TTL, within grace
        const refresh = deferred<string>();
        const refresher = countingLoader(() => refresh.promise);
        expect(await ns.getOrLoad('k', refresher.load)).toEqual({ value: 'v1', source: 'stale' });
        // A second reader while the refresh runs: stale again, no second refresh.
        await until(() => expect(refresher.calls()).toBe(1));
        expect(await ns.getOrLoad('k', refresher.load)).toEqual({ value: 'v1', source: 'stale' });
        await settle();
        expect(refresher.calls()).toBe(1);
        expect(ns.stats().staleServed).toBe(2);

        refresh.resolve('v2');
        await until(async () => expect(await ns.get('k')).toBe('v2'));
        const unused = countingLoader(() => 'v-unused');
        expect(await ns.getOrLoad('k', unused.load)).toEqual({ value: 'v2', source: 'l1' });
        expect(unused.calls()).toBe(0);
        expect(ns.stats().refreshes).toBeGreaterThanOrEqual(1);

        // The refreshed entry got a full TTL from the time of the refresh.
        clock.advance(MINUTE - 1);
        expect(await ns.getOrLoad('k', unused.load)).toEqual({ value: 'v2', source: 'l1' });

        // Past TTL + grace: not served any more, loaded in the foreground.
        clock.advance(MINUTE + 2);
        const late = countingLoader(() => 'v3');
        expect(await ns.getOrLoad('k', late.load)).toEqual({ value: 'v3', source: 'loader' });
        expect(late.calls()).toBe(1);
      });

      it('a failing background refresh keeps serving stale within grace and caches no error', async () => {
        const { ns, clock } = await namespace({ ttlMs: MINUTE, graceMs: MINUTE });
        await ns.getOrLoad('k', () => Promise.resolve('v1'));
        clock.advance(MINUTE + 1);
        const failing = countingLoader((): Promise<string> => Promise.reject(new Error('source down')));
        expect(await ns.getOrLoad('k', failing.load)).toEqual({ value: 'v1', source: 'stale' });
        await until(() => expect(ns.stats().loadErrors).toBe(1));
        await settle();
        expect(await ns.getOrLoad('k', failing.load)).toEqual({ value: 'v1', source: 'stale' });
        await until(() => expect(ns.stats().loadErrors).toBe(2));
        expect(failing.calls()).toBe(2);

        const working = countingLoader(() => 'v2');
        expect(await ns.getOrLoad('k', working.load)).toEqual({ value: 'v1', source: 'stale' });
        await until(async () => expect(await ns.get('k')).toBe('v2'));
      });

      it('without grace, an expired entry is never served stale', async () => {
        const { ns, clock } = await namespace({ ttlMs: MINUTE, graceMs: 0 });
        await ns.getOrLoad('k', () => Promise.resolve('v1'));
        clock.advance(MINUTE + 1);
        expect(await ns.getOrLoad('k', () => Promise.resolve('v2'))).toEqual({ value: 'v2', source: 'loader' });
        expect(ns.stats().staleServed).toBe(0);
      });
    });

    describe('refresh-ahead', () => {
      it('a hot key is refreshed in the background before it expires; a cold key is not', async () => {
        const { ns, clock } = await namespace({ ttlMs: MINUTE, graceMs: 0, refreshAheadHits: 3 });
        const hot = countingLoader((call) => `hot-${call}`);
        const cold = countingLoader((call) => `cold-${call}`);
        await ns.getOrLoad('hot', hot.load);
        await ns.getOrLoad('cold', cold.load);
        for (let i = 0; i < 5; i++) expect((await ns.getOrLoad('hot', hot.load)).value).toBe('hot-1');
        expect(hot.calls()).toBe(1);

        clock.advance(MINUTE - 1); // 1 ms of freshness left
        expect(await ns.getOrLoad('hot', hot.load)).toEqual({ value: 'hot-1', source: 'l1' });
        expect(await ns.getOrLoad('cold', cold.load)).toEqual({ value: 'cold-1', source: 'l1' });
        await until(() => expect(hot.calls()).toBe(2));
        await until(async () => expect(await ns.get('hot')).toBe('hot-2'));
        expect(cold.calls()).toBe(1);
        expect(ns.stats().refreshes).toBeGreaterThanOrEqual(1);

        clock.advance(2); // past the first load's TTL
        expect(await ns.getOrLoad('hot', hot.load)).toEqual({ value: 'hot-2', source: 'l1' });
        expect((await ns.getOrLoad('cold', cold.load)).source).toBe('loader');
        expect(hot.calls()).toBe(2);
      });
    });

    describe('adaptive TTL', () => {
      it('a frequently read key gets a longer TTL, never beyond maxTtlMs; a cold key keeps the base TTL', async () => {
        const base = MINUTE;
        const max = 5 * MINUTE;
        const { ns, clock } = await namespace({ ttlMs: base, graceMs: 0, maxTtlMs: max });
        const hot = countingLoader((call) => `hot-${call}`);
        const cold = countingLoader((call) => `cold-${call}`);
        await ns.getOrLoad('hot', hot.load);
        await ns.getOrLoad('cold', cold.load);
        // 500 reads in 10 s: thousands a minute.
        for (let i = 0; i < 500; i++) {
          expect((await ns.getOrLoad('hot', hot.load)).source).toBe('l1');
          if (i % 5 === 0) clock.advance(100);
        }

        // Both are past the base TTL: the hot one was reloaded at the latest now, with a longer TTL.
        clock.advance(base);
        await ns.getOrLoad('hot', hot.load);
        await ns.getOrLoad('cold', cold.load);
        const hotCalls = hot.calls();
        const coldCalls = cold.calls();
        expect(coldCalls).toBe(2);

        clock.advance(1.5 * base);
        expect((await ns.getOrLoad('hot', hot.load)).source).toBe('l1');
        expect(hot.calls()).toBe(hotCalls);
        expect((await ns.getOrLoad('cold', cold.load)).source).toBe('loader');

        // Bounded: past maxTtlMs after the last read or write, even the hottest key has expired.
        clock.advance(max + 1);
        expect((await ns.getOrLoad('hot', hot.load)).source).toBe('loader');
      });

      it('without maxTtlMs the TTL is fixed however hot the key', async () => {
        const { ns, clock } = await namespace({ ttlMs: MINUTE, graceMs: 0 });
        const loader = countingLoader((call) => call);
        await ns.getOrLoad('k', loader.load);
        for (let i = 0; i < 300; i++) await ns.getOrLoad('k', loader.load);
        clock.advance(MINUTE + 1);
        await ns.getOrLoad('k', loader.load);
        clock.advance(MINUTE + 1);
        expect((await ns.getOrLoad('k', loader.load)).source).toBe('loader');
        expect(loader.calls()).toBe(3);
      });
    });

    describe('invalidateAll', () => {
      it('drops every key of the namespace (stale ones too) and nothing else; later writes work', async () => {
        const { engine, clock } = await setup();
        const ns = engine.namespace(uniqueName('inv'), { ttlMs: MINUTE, graceMs: MINUTE });
        const other = engine.namespace(uniqueName('other'), { ttlMs: 5 * MINUTE });
        for (let i = 0; i < 20; i++) await ns.set(`k${i}`, i, { ttlMs: 5 * MINUTE });
        await ns.getOrLoad('stale', () => Promise.resolve('old'));
        await other.set('k0', 'other');
        clock.advance(MINUTE + 1); // 'stale' is now within grace; k* are fresh
        expect(await ns.get('k3')).toBe(3);

        await ns.invalidateAll();
        for (let i = 0; i < 20; i++) expect(await ns.get(`k${i}`)).toBeUndefined();
        expect(await ns.getOrLoad('stale', () => Promise.resolve('new'))).toEqual({ value: 'new', source: 'loader' });
        expect(ns.stats().staleServed).toBe(0);
        expect(await other.get('k0')).toBe('other');

        await ns.set('k0', 'after');
        expect(await ns.get('k0')).toBe('after');
        await ns.invalidateAll();
        await ns.invalidateAll();
        expect(await ns.get('k0')).toBeUndefined();
      });
    });

    describe('stats', () => {
      it('count hits and misses, hitRate = hits / (hits + misses), 0 before any lookup', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE });
        const empty = ns.stats();
        expect(empty).toMatchObject({ hits: 0, misses: 0, hitRate: 0, evictions: 0, loads: 0, loadErrors: 0 });
        expect(empty.l1).toEqual({ hits: 0, size: 0, bytes: 0 });
        expect(empty.l2).toEqual({ hits: 0, errors: 0, pending: 0 });

        await ns.set('a', 'x'.repeat(1_000));
        await ns.set('b', 'y');
        for (let i = 0; i < 3; i++) await ns.get('a');
        await ns.get('b');
        await ns.get('absent');
        await ns.get('absent-2');

        const stats = ns.stats();
        expect(stats.hits).toBe(4);
        expect(stats.misses).toBe(2);
        expect(stats.hitRate).toBeCloseTo(4 / 6, 10);
        expect(stats.l1.hits).toBe(4);
        expect(stats.l1.size).toBe(2);
        expect(stats.l1.bytes).toBeGreaterThanOrEqual(1_000);
        expect(stats.l2.errors).toBe(0);

        await ns.delete('a');
        expect(ns.stats().l1.size).toBe(1);
        expect(ns.stats().l1.bytes).toBeLessThan(stats.l1.bytes);
        expect(ns.stats().l1.bytes).toBeGreaterThan(0);
      });
    });

    describe('L1 bounds', () => {
      it('by entries: least recently used goes first, evictions counted', async () => {
        const { ns } = await namespace({ ttlMs: MINUTE, l1MaxEntries: 3 });
        await ns.set('a', 'A');
        await ns.set('b', 'B');
        await ns.set('c', 'C');
        expect(await ns.get('a')).toBe('A'); // a is now more recent than b
        await ns.set('d', 'D');

        let stats = ns.stats();
        expect(stats.l1.size).toBe(3);
        expect(stats.evictions).toBe(1);
        expect((await ns.getOrLoad('a', () => Promise.resolve('loaded'))).source).toBe('l1');
        expect((await ns.getOrLoad('d', () => Promise.resolve('loaded'))).source).toBe('l1');
        // b was evicted from L1: it comes from another tier with its value, or from the loader.
        const b = await ns.getOrLoad('b', () => Promise.resolve('B-loaded'));
        expect(b.source).not.toBe('l1');
        expect(b.value).toBe(b.source === 'loader' ? 'B-loaded' : 'B');

        for (let i = 0; i < 50; i++) await ns.set(`more-${i}`, i);
        stats = ns.stats();
        expect(stats.l1.size).toBe(3);
        expect(stats.evictions).toBeGreaterThanOrEqual(50);
      });

      it('by bytes: L1 stays within l1MaxBytes, every entry either stays or is counted as evicted', async () => {
        const maxBytes = 20_000;
        const { ns } = await namespace({ ttlMs: MINUTE, l1MaxBytes: maxBytes });
        const valueLength = 3_000;
        for (let i = 0; i < 10; i++) await ns.set(`k${i}`, randomBytes(valueLength / 2).toString('hex'));

        const stats = ns.stats();
        expect(stats.l1.bytes).toBeLessThanOrEqual(maxBytes);
        expect(stats.l1.size).toBeLessThanOrEqual(Math.floor(maxBytes / valueLength));
        expect(stats.l1.size).toBeGreaterThanOrEqual(1);
        expect(stats.l1.bytes).toBeGreaterThanOrEqual(stats.l1.size * valueLength);
        expect(stats.l1.size + stats.evictions).toBe(10);
        // The newest entry is the one kept.
        expect((await ns.getOrLoad('k9', () => Promise.resolve('loaded'))).source).toBe('l1');
      });
    });

    describe('events', () => {
      it('reports hits, misses, loads, coalescing and evictions; unsubscribe stops them; a throwing listener breaks nothing', async () => {
        const { engine } = await setup();
        const name = uniqueName('events');
        const ns = engine.namespace(name, { ttlMs: MINUTE, l1MaxEntries: 1 });
        const events: CacheEvent[] = [];
        const unsubscribe = engine.onEvent((event) => events.push(event));
        const unsubscribeThrowing = engine.onEvent(() => {
          throw new Error('listener bug');
        });

        await ns.get('absent');
        await ns.set('k', 'v');
        await ns.get('k');
        const gate = deferred<string>();
        const calls = [ns.getOrLoad('loaded', () => gate.promise), ns.getOrLoad('loaded', () => gate.promise)];
        await until(() => expect(events).toContainEqual({ type: 'coalesced', cache: name, distributed: false }));
        gate.resolve('x');
        const results: Array<Loaded<string>> = await Promise.all(calls);
        expect(results.map((r) => r.value)).toEqual(['x', 'x']);
        await expect(ns.getOrLoad('failing', () => Promise.reject(new Error('no')))).rejects.toThrow('no');

        const mine = events.filter((e) => e.cache === name);
        expect(mine).toContainEqual({ type: 'miss', cache: name });
        expect(mine).toContainEqual({ type: 'hit', cache: name, tier: 'l1' });
        expect(mine).toContainEqual({ type: 'coalesced', cache: name, distributed: false });
        expect(mine).toContainEqual({ type: 'eviction', cache: name });
        const loads = mine.filter((e): e is Extract<CacheEvent, { type: 'load' }> => e.type === 'load');
        expect(loads.map((e) => e.ok).sort()).toEqual([false, true]);
        for (const load of loads) {
          expect(Number.isFinite(load.durationMs)).toBe(true);
          expect(load.durationMs).toBeGreaterThanOrEqual(0);
        }

        unsubscribe();
        unsubscribeThrowing();
        const count = events.length;
        await ns.get('absent');
        await ns.set('k2', 'v2');
        expect(events.length).toBe(count);
      });
    });

    describe('event types', () => {
      it('a listener gets only the types it subscribed to, one with no types gets them all; unsubscribing twice is harmless', async () => {
        const { engine } = await setup();
        const name = uniqueName('typed');
        const ns = engine.namespace(name, { ttlMs: MINUTE });
        const missesOnly: CacheEvent[] = [];
        const alsoMisses: CacheEvent[] = [];
        const everything: CacheEvent[] = [];
        const unsubscribeMisses = engine.onEvent((event) => {
          if (event.cache === name) missesOnly.push(event);
        }, ['miss']);
        const unsubscribeAlsoMisses = engine.onEvent((event) => {
          if (event.cache === name) alsoMisses.push(event);
        }, ['miss']);
        const unsubscribeAll = engine.onEvent((event) => {
          if (event.cache === name) everything.push(event);
        });

        await ns.get('absent');
        await ns.set('k', 'v');
        await ns.get('k');
        expect((await ns.getOrLoad('loaded', () => Promise.resolve('x'))).source).toBe('loader');
        expect((await ns.getOrLoad('loaded', () => Promise.resolve('y'))).source).toBe('l1');

        expect(everything).toContainEqual({ type: 'miss', cache: name });
        expect(everything).toContainEqual({ type: 'hit', cache: name, tier: 'l1' });
        expect(everything.filter((e) => e.type === 'hit')).toHaveLength(2);
        expect(everything.filter((e) => e.type === 'load')).toEqual([{ type: 'load', cache: name, durationMs: expect.any(Number), ok: true }]);
        // Exactly the misses, no hit and no load.
        const misses = everything.filter((e) => e.type === 'miss');
        expect(misses.length).toBeGreaterThanOrEqual(2);
        expect(missesOnly).toEqual(misses);
        expect(alsoMisses).toEqual(misses);

        // Unsubscribing one miss listener twice must not unsubscribe the other's interest.
        unsubscribeMisses();
        expect(() => unsubscribeMisses()).not.toThrow();
        missesOnly.length = 0;
        alsoMisses.length = 0;
        everything.length = 0;
        await ns.get('absent-2');
        await ns.get('k');
        expect(missesOnly).toEqual([]);
        expect(alsoMisses).toEqual([{ type: 'miss', cache: name }]);
        expect(everything).toEqual([
          { type: 'miss', cache: name },
          { type: 'hit', cache: name, tier: 'l1' },
        ]);

        // With nobody listening for hits, the lookups are still counted.
        unsubscribeAll();
        unsubscribeAll();
        const before = ns.stats();
        everything.length = 0;
        alsoMisses.length = 0;
        await ns.get('k');
        await ns.get('absent-3');
        expect(everything).toEqual([]);
        expect(alsoMisses).toEqual([{ type: 'miss', cache: name }]);
        const after = ns.stats();
        expect(after.hits).toBe(before.hits + 1);
        expect(after.misses).toBe(before.misses + 1);

        // A listener subscribed after all that still hears its types.
        const late: CacheEvent[] = [];
        const unsubscribeLate = engine.onEvent((event) => {
          if (event.cache === name) late.push(event);
        }, ['hit']);
        await ns.get('k');
        await ns.get('absent-4');
        expect(late).toEqual([{ type: 'hit', cache: name, tier: 'l1' }]);
        unsubscribeLate();
        unsubscribeAlsoMisses();
        unsubscribeAlsoMisses();
      });

      it('a listener subscribed to no type hears nothing', async () => {
        const { engine } = await setup();
        const name = uniqueName('none');
        const ns = engine.namespace(name, { ttlMs: MINUTE });
        const heard: CacheEvent[] = [];
        const unsubscribe = engine.onEvent((event) => heard.push(event), []);
        await ns.get('absent');
        await ns.set('k', 'v');
        await ns.get('k');
        await ns.getOrLoad('loaded', () => Promise.resolve('x'));
        expect(heard).toEqual([]);
        expect(ns.stats().hits).toBe(1);
        unsubscribe();
      });
    });

    describe('lifecycle', () => {
      it('close is idempotent', async () => {
        const { engine } = await setup();
        await engine.namespace(uniqueName('life'), { ttlMs: MINUTE }).set('k', 'v');
        await engine.close();
        await engine.close();
      });
    });
  });
}
