import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deferred } from './cache-engine.contract.js';
import { MultiTierNamespace, type NamespaceContext, type NamespaceRedis } from './cache-namespace.js';
import type { CacheEvent, NamespaceOptions } from './cache.types.js';
import { CircuitOpen, RedisUnavailable } from './redis-tier.js';
import { decode, encode, pack, unpack } from './serializer.js';

/**
 * One namespace against a scripted Redis and bus: each race of the replay of writes that did not
 * reach Redis is written as an exact order of events (a call held after Redis ran it, a refusal, an
 * announcement heard mid-way), never as a timing. The repair timer does not run by itself (fake
 * setTimeout): a test calls `repair()` where the timer, `ready()` or `close()` would.
 *
 * "Another process" is what Redis and the bus show: the value a process learning the version from
 * Redis would read (`remoteValue`), and the messages the others heard (`bus.published`).
 */

const MINUTE = 60_000;
const PREFIX = 'test';
const NAME = 'ns';
const VERSION_KEY = `${PREFIX}:${NAME}:version`;
const NOW = Date.now();

type Operation = 'get' | 'set' | 'delete' | 'deleteMany' | 'incr' | 'raiseTo' | 'bump' | 'tryLock' | 'unlock';
const OPERATIONS: readonly Operation[] = ['get', 'set', 'delete', 'deleteMany', 'incr', 'raiseTo', 'bump', 'tryLock', 'unlock'];
type BusMessage = Parameters<NamespaceContext['broadcast']>[0];

/** A call that has arrived (Redis ran it, or the message was published) and waits for the test to answer it. */
interface HeldCall {
  /** Resolves once the call has arrived. */
  arrived: Promise<void>;
  /** Its reply comes. */
  release(): void;
  /** It fails as a timeout would (Redis did run it, or the message was published). */
  fail(): void;
}

class Hold implements HeldCall {
  private readonly arrival = deferred<void>();
  private readonly answer = deferred<boolean>();
  readonly arrived = this.arrival.promise;
  arrive(): Promise<boolean> {
    this.arrival.resolve();
    return this.answer.promise;
  }
  release(): void {
    this.answer.resolve(true);
  }
  fail(): void {
    this.answer.resolve(false);
  }
}

/** Redis as the namespace sees it: runs each call at once, unless the test refuses or holds it. */
class ScriptedRedis implements NamespaceRedis {
  busHealthy = true;
  readonly values = new Map<string, string>();
  readonly counters = new Map<string, number>();
  /** Every call, refused ones included, in order. */
  readonly calls: Array<{ operation: Operation; keys: readonly string[] }> = [];
  private readonly refused = new Set<Operation>();
  private readonly holds = new Map<Operation, Hold[]>();

  /** Calls of these operations (default every one) are refused, as by an open circuit: they never reach Redis. */
  refuse(...operations: Operation[]): void {
    for (const operation of operations.length === 0 ? OPERATIONS : operations) this.refused.add(operation);
  }

  allow(): void {
    this.refused.clear();
  }

  /** The next call of `operation` runs in Redis; its reply waits for the test. */
  hold(operation: Operation): HeldCall {
    const hold = new Hold();
    this.holds.set(operation, [...(this.holds.get(operation) ?? []), hold]);
    return hold;
  }

  counter(key: string): number {
    return this.counters.get(key) ?? 0;
  }

  get(key: string): Promise<string | undefined> {
    return this.call('get', [key], () => this.values.get(key));
  }

  set(key: string, value: string): Promise<void> {
    return this.call('set', [key], () => void this.values.set(key, value));
  }

  delete(key: string): Promise<void> {
    return this.call('delete', [key], () => void this.values.delete(key));
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return this.call('deleteMany', keys, () => {
      for (const key of keys) this.values.delete(key);
    });
  }

  incr(key: string): Promise<number> {
    return this.call('incr', [key], () => this.setCounter(key, this.counter(key) + 1));
  }

  raiseTo(key: string, value: number): Promise<number> {
    return this.call('raiseTo', [key], () => this.setCounter(key, Math.max(this.counter(key), value)));
  }

  bump(key: string, atLeast: number): Promise<number> {
    return this.call('bump', [key], () => this.setCounter(key, Math.max(this.counter(key) + 1, atLeast)));
  }

  tryLock(key: string): Promise<boolean> {
    return this.call('tryLock', [key], () => true);
  }

  unlock(key: string): Promise<void> {
    return this.call('unlock', [key], () => undefined);
  }

  private setCounter(key: string, value: number): number {
    this.counters.set(key, value);
    return value;
  }

  private async call<T>(operation: Operation, keys: readonly string[], run: () => T): Promise<T> {
    this.calls.push({ operation, keys });
    if (this.refused.has(operation)) throw new CircuitOpen('refused (scripted)');
    const result = run();
    const hold = this.holds.get(operation)?.shift();
    if (hold !== undefined && !(await hold.arrive())) throw new RedisUnavailable('timed out (scripted)', true);
    return result;
  }
}

/** The invalidation bus: publishes at once, unless the test refuses or holds a message. */
class ScriptedBus {
  /** What the other processes heard, in order. */
  readonly published: BusMessage[] = [];
  private refusals = 0;
  private readonly holds: Hold[] = [];
  private thrown: Error | null = null;

  /** The next `count` messages are not published (the broadcast reports false). */
  refuseNext(count = 1): void {
    this.refusals += count;
  }

  /** The next broadcast throws (which the engine's never does: a bug). */
  throwNext(error: Error): void {
    this.thrown = error;
  }

  /** The next message is published; the broadcast's answer waits for the test. */
  hold(): HeldCall {
    const hold = new Hold();
    this.holds.push(hold);
    return hold;
  }

  readonly broadcast = async (message: BusMessage): Promise<boolean> => {
    const thrown = this.thrown;
    this.thrown = null;
    if (thrown !== null) throw thrown;
    if (this.refusals > 0) {
      this.refusals--;
      return false;
    }
    this.published.push(message);
    const hold = this.holds.shift();
    return hold === undefined ? true : hold.arrive();
  };

  /** The versions announced so far. */
  versions(): number[] {
    return this.published.flatMap((m) => (m.v === undefined ? [] : [m.v]));
  }

  /** Position of the last message that makes the others drop `key` from L1 (the key, or a new version), -1 if none. */
  lastDropOf(key: string): number {
    for (let i = this.published.length - 1; i >= 0; i--) {
      const m = this.published[i];
      if (m.k === key || m.ks?.includes(key) === true || m.v !== undefined) return i;
    }
    return -1;
  }
}

/** The Redis key of `key` in the generation Redis holds now: what a process learning the version now reads. */
function remoteKey(redis: ScriptedRedis, key: string): string {
  return `${PREFIX}:${NAME}:v${redis.counter(VERSION_KEY)}:${key}`;
}

/** An L2 entry as the engine writes it, fresh for a minute. */
function l2Entry(value: unknown): string {
  return JSON.stringify({ d: pack(encode(value), 1_024), f: NOW + MINUTE, s: NOW + MINUTE, t: MINUTE });
}

function remoteValue(redis: ScriptedRedis, key: string): unknown {
  const stored = redis.values.get(remoteKey(redis, key));
  return stored === undefined ? undefined : decode(unpack((JSON.parse(stored) as { d: string }).d));
}

/** Another process fills `key` in the generation Redis holds, with what it read from the source earlier. */
function otherProcessFills(redis: ScriptedRedis, key: string, value: unknown): void {
  redis.values.set(remoteKey(redis, key), l2Entry(value));
}

describe('MultiTierNamespace: replaying writes that did not reach Redis (scripted Redis and bus)', () => {
  const namespaces: MultiTierNamespace[] = [];

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });

  afterEach(() => {
    for (const ns of namespaces.splice(0)) ns.stop();
    vi.useRealTimers();
  });

  /** A namespace that has learnt the version Redis holds (`redisVersion`), as after `engine.ready()`. */
  async function setup(
    options: Partial<NamespaceOptions> & { redisVersion?: number } = {},
  ): Promise<{ ns: MultiTierNamespace; redis: ScriptedRedis; bus: ScriptedBus; events: CacheEvent[] }> {
    const { redisVersion, ...namespaceOptions } = options;
    const redis = new ScriptedRedis();
    const bus = new ScriptedBus();
    const events: CacheEvent[] = [];
    if (redisVersion !== undefined) redis.counters.set(VERSION_KEY, redisVersion);
    const context: NamespaceContext = {
      prefix: PREFIX,
      instanceId: 'this-process',
      redis,
      now: () => NOW,
      compressAboveBytes: 1_024,
      lockTtlMs: 30_000,
      lockWaitMs: 30_000,
      emit: (event) => events.push(event),
      listening: { hit: 0, miss: 0, error: 0, eviction: 0, coalesced: 0, load: 0 },
      broadcast: bus.broadcast,
    };
    const ns = new MultiTierNamespace(
      NAME,
      { ttlMs: MINUTE, graceMs: 0, l1MaxEntries: 10_000, l1MaxBytes: 64 * 1024 * 1024, l1Only: false, refreshAheadHits: 0, ...namespaceOptions },
      context,
    );
    namespaces.push(ns);
    // As the engine does: L2 waits for the first attempt to learn the version.
    const known = ns.repair();
    ns.waitForVersion(known.then(() => undefined));
    expect(await known).toBe(true);
    return { ns, redis, bus, events };
  }

  it('a failed write during a replay: the replay does not take it for the one it replayed', async () => {
    const { ns, redis } = await setup();
    otherProcessFills(redis, 'k', 'old');
    redis.refuse('delete');
    await ns.delete('k');
    expect(ns.stats().l2.pending).toBe(1);
    redis.allow();

    const replayDelete = redis.hold('deleteMany');
    const replay = ns.repair();
    await replayDelete.arrived; // the replay's UNLINK ran; its reply is on its way
    // Another process, whose load began before this process's second change, fills the key again,
    // and this process's second delete is refused.
    otherProcessFills(redis, 'k', 'old');
    redis.refuse('delete');
    await ns.delete('k');
    replayDelete.release();

    expect(await replay).toBe(true);
    expect(remoteValue(redis, 'k')).toBeUndefined();
    expect(ns.stats().l2.pending).toBe(0);
  });

  it('a version announced mid-replay: the keys are deleted again in the new generation', async () => {
    const { ns, redis } = await setup();
    redis.refuse('delete');
    await ns.delete('k');
    redis.allow();

    const replayDelete = redis.hold('deleteMany');
    const replay = ns.repair();
    await replayDelete.arrived; // deleted in generation 0
    // Another process invalidates the namespace, fills the new generation from a read made before
    // this process's change, and announces it; this process hears it (the engine calls adoptVersion).
    await redis.incr(VERSION_KEY);
    otherProcessFills(redis, 'k', 'old');
    ns.adoptVersion(redis.counter(VERSION_KEY));
    replayDelete.release();

    expect(await replay).toBe(true);
    expect(remoteValue(redis, 'k')).toBeUndefined();
    expect(ns.stats().l2.pending).toBe(0);
  });

  it('an invalidateAll during a version push: it is pushed too, and Redis ends at the generation used here', async () => {
    const { ns, redis, bus } = await setup();
    redis.refuse('incr');
    await ns.invalidateAll(); // refused: a new generation here, to push
    redis.allow();

    const push = redis.hold('bump');
    const firstPass = ns.repair();
    await push.arrived; // Redis is at the pushed generation; its reply is on its way
    // A process learns that generation from Redis and fills it from a read made before this
    // process's second invalidateAll, which comes while the first one's push is in flight.
    otherProcessFills(redis, 'k', 'old');
    await ns.invalidateAll();
    push.release();
    await firstPass;
    await ns.repair(); // the next attempt

    expect(redis.counter(VERSION_KEY)).toBe(ns.currentVersion);
    expect(remoteValue(redis, 'k')).toBeUndefined();
    expect(bus.versions().at(-1)).toBe(ns.currentVersion);
    expect(ns.stats().l2.pending).toBe(0);
  });

  it('Redis restarted empty and raised by a process that missed our version: ours is announced after the resync', async () => {
    const { ns, redis, bus } = await setup({ redisVersion: 6 });
    expect(ns.currentVersion).toBe(6);
    expect(bus.versions()).toEqual([]);
    // Redis comes back empty; a process still at 5 (it missed 6) reconnects first and raises it to 5.
    redis.values.clear();
    redis.counters.set(VERSION_KEY, 5);
    // This process's connection comes back (the engine calls this), and it resyncs.
    ns.versionMayBeStale();
    expect(await ns.repair()).toBe(true);

    expect(redis.counter(VERSION_KEY)).toBe(6);
    // The process at 5 hears 6, so both address the same generation again.
    expect(bus.versions()).toEqual([6]);
  });

  it('close() making its last attempt: it waits for the replay in flight, then tries once more', async () => {
    const { ns, redis, bus } = await setup();
    redis.refuse('delete');
    await ns.delete('k');
    redis.allow();

    const replayDelete = redis.hold('deleteMany');
    const inFlight = ns.repair(); // started by the timer
    await replayDelete.arrived;
    ns.stop(); // the engine closes...
    const last = ns.repair(); // ...and makes its last attempt
    replayDelete.fail(); // the replay in flight times out

    expect(await inFlight).toBe(false);
    expect(await last).toBe(true);
    expect(ns.stats().l2.pending).toBe(0);
    expect(bus.lastDropOf('k')).toBeGreaterThanOrEqual(0);
  });

  it('callers waiting on one replay: when it fails, one of them runs the next and the others wait for it', async () => {
    const { ns, redis } = await setup();
    redis.refuse('delete');
    await ns.delete('k');
    redis.allow();
    const first = redis.hold('deleteMany');
    const running = ns.repair();
    await first.arrived;
    const waiting = [ns.repair(), ns.repair()]; // say the timer and ready()
    const second = redis.hold('deleteMany');
    first.fail();
    expect(await running).toBe(false);
    await second.arrived;
    await new Promise((resolve) => setImmediate(resolve));
    // One pass at a time: the second waiter did not start another beside it.
    expect(redis.calls.filter((c) => c.operation === 'deleteMany')).toHaveLength(2);
    second.release();
    expect(await Promise.all(waiting)).toEqual([true, true]);
    expect(redis.calls.filter((c) => c.operation === 'deleteMany')).toHaveLength(2);
  });

  it('close() whose last attempt fails: nothing is retried after it', async () => {
    const { ns, redis } = await setup();
    redis.refuse();
    await ns.delete('k');
    ns.stop();
    expect(await ns.repair()).toBe(false);
    const calls = redis.calls.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(redis.calls.length).toBe(calls);
  });

  it('a failed announcement is retried', async () => {
    const { ns, bus } = await setup();
    bus.refuseNext();
    await ns.invalidateAll(); // Redis took the new generation; the bus refused its announcement
    expect(bus.versions()).toEqual([]);
    expect(ns.stats().l2.pending).toBe(1);

    expect(await ns.repair()).toBe(true);
    expect(bus.versions()).toEqual([ns.currentVersion]);
    expect(ns.stats().l2.pending).toBe(0);
  });

  it('a write that only failed on the bus: a later write that reaches both replaces its replay', async () => {
    const { ns, redis, bus } = await setup();
    bus.refuseNext();
    await ns.set('k', 'first'); // in L2; the others were not told
    expect(ns.stats().l2.pending).toBe(1);
    await ns.set('k', 'second'); // reaches both
    expect(ns.stats().l2.pending).toBe(0);

    // So this process reads the key from L2 again: another process's later value, once it hears of it.
    otherProcessFills(redis, 'k', 'third');
    ns.dropFromL1('k');
    expect(await ns.get('k')).toBe('third');
  });

  it('a write that only failed on the bus: a load of its key leaves L2 to the replay', async () => {
    // Only a write can take the place of a replay (it settles it); a load's value would only be
    // deleted by the replay, so it is not written while the key waits.
    const { ns, redis, bus } = await setup();
    otherProcessFills(redis, 'k', 'old');
    bus.refuseNext();
    await ns.delete('k'); // gone from L2; the others were not told
    expect(ns.stats().l2.pending).toBe(1);

    expect(await ns.getOrLoad('k', () => Promise.resolve('fresh'))).toEqual({ value: 'fresh', source: 'loader' });
    expect(redis.calls.filter((c) => c.operation === 'set')).toEqual([]);
    expect(remoteValue(redis, 'k')).toBeUndefined();

    expect(await ns.repair()).toBe(true);
    expect(bus.lastDropOf('k')).toBe(bus.published.length - 1);
    expect(ns.stats().l2.pending).toBe(0);
  });

  it('a version is announced only once Redis holds it: one bumped here during a push waits for its own', async () => {
    const { ns, redis, bus } = await setup();
    redis.refuse('incr');
    await ns.invalidateAll();
    redis.allow();
    const push = redis.hold('bump');
    const firstPass = ns.repair();
    await push.arrived; // Redis at 1
    await ns.invalidateAll(); // 2 here
    push.release();
    expect(await firstPass).toBe(false);
    // A process learning the version from Redis now gets 1: the others must not be moved to 2 yet.
    expect(bus.versions()).toEqual([]);
    expect(await ns.repair()).toBe(true);
    expect(bus.versions()).toEqual([2]);
    expect(redis.counter(VERSION_KEY)).toBe(2);
  });

  it('an l1Only namespace behind the others (it missed their announcements): the version it announces is the one Redis returns', async () => {
    // The others are at 7, Redis's counter; this process missed their announcements (an l1Only
    // namespace never learns the version from Redis), and its INCR is refused.
    const { ns, redis, bus } = await setup({ l1Only: true, redisVersion: 7 });
    expect(ns.currentVersion).toBe(0);
    redis.refuse('incr');
    await ns.invalidateAll();
    expect(ns.stats().l2.pending).toBe(1);
    redis.allow();

    expect(await ns.repair()).toBe(true);
    // Above every version announced so far, so the others adopt it and drop their L1.
    expect(bus.versions()).toEqual([8]);
    expect(redis.counter(VERSION_KEY)).toBe(8);
    expect(ns.currentVersion).toBe(8);
    expect(ns.stats().l2.pending).toBe(0);
  });

  it('a long outage: after the overflow\'s namespace-wide invalidation, failed writes need no entry, and L1 is not wiped again', async () => {
    const { ns, redis } = await setup({ l1MaxEntries: 10 }); // at most 1,000 keys wait
    redis.refuse();
    for (let i = 0; i < 2_500; i++) await ns.delete(`k${i}`);
    // One new generation (the overflow at the 1,001st key); the keys after it wait in it.
    expect(ns.currentVersion).toBe(1);
    expect(ns.stats().l2.pending).toBe(1);

    redis.allow();
    expect(await ns.repair()).toBe(true);
    expect(redis.counter(VERSION_KEY)).toBe(1);
    expect(ns.stats().l2.pending).toBe(0);
  });

  it('a write that fails while a bump is being pushed, begun after the push, keeps its own replay', async () => {
    const { ns, redis } = await setup();
    redis.refuse('incr');
    await ns.invalidateAll();
    redis.allow();
    const push = redis.hold('bump');
    const pass = ns.repair();
    await push.arrived; // Redis at 1
    // A process that learnt 1 fills the key from a read made before this process's change; this
    // process's delete cannot address L2 before its push has returned.
    otherProcessFills(redis, 'k', 'old');
    await ns.delete('k');
    push.release();

    expect(await pass).toBe(true);
    expect(remoteValue(redis, 'k')).toBeUndefined();
    expect(ns.stats().l2.pending).toBe(0);
  });

  it('a replay that throws (a bug, not a Redis failure) is reported as an error, and retried', async () => {
    const { ns, redis, bus, events } = await setup();
    redis.refuse('delete');
    await ns.delete('k');
    redis.allow();
    bus.throwNext(new TypeError('not a function'));

    expect(await ns.repair()).toBe(false);
    expect(events).toContainEqual({ type: 'error', cache: NAME, tier: 'l2', error: 'replay failed: not a function' });
    expect(ns.stats().l2.errors).toBe(1);
    expect(await ns.repair()).toBe(true);
    expect(ns.stats().l2.pending).toBe(0);
  });

  describe('while the invalidation bus is down (its subscriber can drop alone, the main connection up)', () => {
    it('L2 is not used, and a write made meanwhile is replayed in the generation announced meanwhile', async () => {
      const { ns, redis } = await setup();
      otherProcessFills(redis, 'k', 'before');
      redis.busHealthy = false;
      // Another process invalidates the namespace (this one cannot hear it), then fills the new
      // generation from a read made before this process's change.
      await redis.incr(VERSION_KEY);
      otherProcessFills(redis, 'k', 'old');
      // This process must not read the generation that was invalidated...
      expect(await ns.get('k')).toBeUndefined();
      // ...and its delete, whose L2 delete and broadcast would both succeed, waits for a replay.
      await ns.delete('k');
      expect(ns.stats().l2.pending).toBe(1);
      expect(await ns.repair()).toBe(false); // nothing to learn before the bus is back

      // The bus comes back: the engine drops L1 and has the version relearnt.
      redis.busHealthy = true;
      ns.dropFromL1();
      ns.versionMayBeStale();
      expect(await ns.repair()).toBe(true);
      expect(ns.currentVersion).toBe(1);
      expect(remoteValue(redis, 'k')).toBeUndefined();
      expect(ns.stats().l2.pending).toBe(0);
    });

    it('a write during which the bus drops counts as not reached', async () => {
      const { ns, redis } = await setup();
      const del = redis.hold('delete');
      const deleting = ns.delete('k');
      await del.arrived; // sent while the bus was up
      redis.busHealthy = false;
      del.release();
      await deleting;
      expect(ns.stats().l2.pending).toBe(1);
    });
  });
});
