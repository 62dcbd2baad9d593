import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { CacheEvent, CacheNamespace, CacheStats, EntryOptions, Loaded, LoadOptions, NamespaceOptions } from './cache.types.js';
import { NamespaceVersion } from './namespace-version.js';
import { CircuitOpen, RedisUnavailable, type RedisTier } from './redis-tier.js';
import { decode, encode, pack, unpack } from './serializer.js';

/** What both tiers hold: the encoded value and its two deadlines. */
interface Entry {
  data: string;
  /** Fresh until then (ms since epoch). */
  freshUntil: number;
  /** Servable as stale (with a background refresh) until then. */
  staleUntil: number;
  ttlMs: number;
  hits: number;
}

interface Frequency {
  count: number;
  since: number;
}

/** What a namespace needs of Redis: `RedisTier` in the engine, a scripted stand-in in unit tests. */
export type NamespaceRedis = Pick<RedisTier, 'busHealthy' | 'get' | 'set' | 'delete' | 'deleteMany' | 'incr' | 'raiseTo' | 'bump' | 'tryLock' | 'unlock'>;

export interface NamespaceContext {
  prefix: string;
  instanceId: string;
  redis: NamespaceRedis | null;
  now: () => number;
  compressAboveBytes: number;
  lockTtlMs: number;
  lockWaitMs: number;
  emit: (event: CacheEvent) => void;
  /**
   * Listeners per event type, kept by the engine: a lookup builds its hit or miss event only when
   * someone listens for it (every request of a cached read makes one or more lookups).
   */
  listening: Readonly<Record<CacheEvent['type'], number>>;
  /**
   * Tells the other processes to drop keys (or, with a version, the whole namespace) from L1.
   * Resolves false when the message could not be published (nobody heard it).
   */
  broadcast: (message: { n: string; k?: string; ks?: string[]; v?: number }) => Promise<boolean>;
}

const FRESH_SHARE_FOR_REFRESH_AHEAD = 0.2;
/** Deadline of one lock attempt in distributed single-flight. */
const LOCK_DEADLINE_MS = 1_000;
/** Replaying invalidations that did not reach Redis: first retry, and the longest pause between two. */
const REPAIR_FIRST_DELAY_MS = 50;
const REPAIR_MAX_DELAY_MS = 2_000;
/** Keys deleted (and announced) per round trip when replaying. */
const REPAIR_BATCH = 100;

export class MultiTierNamespace implements CacheNamespace {
  private readonly l1: LRUCache<string, Entry>;
  private readonly inflight = new Map<string, Promise<Loaded<unknown>>>();
  private readonly refreshing = new Set<string>();
  /**
   * Write sequence: every write, delete or invalidation (here or announced by another process) takes
   * the next number. A read or load remembers the number it started at, and what it fetched is
   * neither stored nor put in L1 if its key (or the whole namespace) was written since.
   */
  private sequence = 0;
  private clearedAt = 0;
  private readonly lastWrite: LRUCache<string, number>;
  /** Measured reads per key, for adaptive TTL and refresh-ahead; bounded like L1. */
  private readonly frequency: LRUCache<string, Frequency>;
  /** The generation L2 keys carry, and how far this process agrees with Redis on it (see versionTrusted). */
  private readonly versionState = new NamespaceVersion();
  /** Settles after the first attempt to learn the version from Redis: L2 is not touched before. */
  private versionKnown: Promise<void> = Promise.resolve();
  /**
   * Keys whose last write (set or delete) reached neither L2 nor the bus for sure: L2 may still hold
   * an older value, and other processes' L1 too. Each is replayed (L2 delete, then broadcast) until
   * both succeed, and until then this process does not read it from L2. The value is the write's
   * sequence number. Bounded: past `pendingMax` the namespace is invalidated as a whole instead.
   */
  private readonly pending = new Map<string, number>();
  private readonly pendingMax: number;
  private repairRun: Promise<boolean> | null = null;
  private repairTimer: NodeJS.Timeout | undefined;
  private repairDelayMs = REPAIR_FIRST_DELAY_MS;
  private stopped = false;
  private readonly counters = {
    hits: 0,
    misses: 0,
    l1Hits: 0,
    l2Hits: 0,
    l2Errors: 0,
    evictions: 0,
    stampedesCoalesced: 0,
    staleServed: 0,
    refreshes: 0,
    loads: 0,
    loadErrors: 0,
  };

  constructor(
    readonly name: string,
    private readonly options: Required<Omit<NamespaceOptions, 'maxTtlMs'>> & { maxTtlMs?: number },
    private readonly ctx: NamespaceContext,
  ) {
    this.l1 = new LRUCache<string, Entry>({
      max: options.l1MaxEntries,
      maxSize: options.l1MaxBytes,
      // UTF-16 in memory: two bytes a character, plus the entry's fixed fields.
      sizeCalculation: (entry, key) => entry.data.length * 2 + key.length * 2 + 64,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') {
          this.counters.evictions++;
          this.ctx.emit({ type: 'eviction', cache: this.name });
        }
      },
    });
    this.frequency = new LRUCache<string, Frequency>({ max: Math.max(1_000, options.l1MaxEntries * 2) });
    this.pendingMax = Math.max(1_000, options.l1MaxEntries);
    // Bounded: a key evicted from here counts as written at `clearedAt`-or-later (see writtenSince).
    this.lastWrite = new LRUCache<string, number>({
      max: Math.max(1_000, options.l1MaxEntries * 2),
      dispose: (sequence, _key, reason) => {
        if (reason === 'evict') this.clearedAt = Math.max(this.clearedAt, sequence);
      },
    });
  }

  get useL2(): boolean {
    return this.ctx.redis !== null && !this.options.l1Only;
  }

  /**
   * The generation counter in Redis, an l1Only namespace's too. The bus names a namespace by its name
   * alone, so an l1Only and an L2 namespace of one name (processes configured differently, or a
   * deploy that changes l1Only) are one namespace there: they hear each other's deletes and versions.
   * They must count versions on one counter: an L2 process adopting a number from another counter
   * would be ahead of the one its peers learn the version from, on another generation than theirs.
   */
  get versionKey(): string {
    return `${this.ctx.prefix}:${this.name}:version`;
  }

  get currentVersion(): number {
    return this.version;
  }

  private get version(): number {
    return this.versionState.current;
  }

  waitForVersion(known: Promise<void>): void {
    this.versionKnown = known;
  }

  /**
   * L2 can be addressed: the version is the one Redis holds (learnt from it since the last reconnect,
   * no invalidateAll made here waiting for its push), and a new one would be heard (the bus is up:
   * its subscriber can drop alone, the main connection up, and another process's bump would go
   * unheard). Otherwise L2 is neither read nor written: its keys may be of a generation that was
   * invalidated, and a delete would miss the live one.
   */
  private get versionTrusted(): boolean {
    return this.versionState.agreedWithRedis && this.ctx.redis?.busHealthy === true;
  }

  /** Version announcements may have been missed (the bus reconnected): relearn it before using L2. */
  versionMayBeStale(): void {
    this.versionState.mayBeStale();
    this.requestRepair(0);
  }

  /**
   * What waits for a replay: the keys, plus one while a version waits to be pushed to Redis or
   * announced. Always 0 without Redis: nothing is ever left pending there.
   */
  private get pendingCount(): number {
    return this.pending.size + (this.versionState.waiting ? 1 : 0);
  }

  private get needsRepair(): boolean {
    return this.pendingCount > 0 || (this.useL2 && !this.versionTrusted);
  }

  /** Another process bumped the version (or we learnt it at start): older keys are gone for us. */
  adoptVersion(version: number): void {
    if (this.versionState.adopt(version)) this.dropFromL1();
  }

  dropFromL1(key?: string): void {
    if (key === undefined) {
      this.l1.clear();
      this.clearedAt = ++this.sequence;
      this.inflight.clear();
    } else {
      this.l1.delete(key);
      this.written(key);
    }
  }

  /** Records a write of `key`; later readers must not join a load that started before it. Returns its sequence. */
  private written(key: string): number {
    this.lastWrite.set(key, ++this.sequence);
    this.inflight.delete(key);
    return this.sequence;
  }

  private writtenSince(key: string, since: number): boolean {
    return this.clearedAt > since || (this.lastWrite.get(key) ?? 0) > since;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const found = await this.lookup(key);
    if (found === undefined || found.entry.freshUntil <= this.ctx.now()) {
      this.miss();
      return undefined;
    }
    this.hit(key, found);
    return decode<T>(found.entry.data);
  }

  async set<T>(key: string, value: T, options: EntryOptions = {}): Promise<void> {
    const sequence = this.written(key);
    const stored = await this.store(key, value, options.ttlMs ?? this.options.ttlMs, 'write');
    const announced = await this.ctx.broadcast({ n: this.name, k: key });
    this.settleWrite(key, sequence, stored && announced);
  }

  async delete(key: string): Promise<void> {
    const sequence = this.written(key);
    this.l1.delete(key);
    let deleted = true;
    if (this.useL2) {
      await this.versionKnown;
      deleted = false;
      // A version not (yet) known to be Redis's would delete a key of another generation.
      if (this.versionTrusted) {
        const version = this.version;
        try {
          await this.ctx.redis!.delete(this.redisKey(key));
          deleted = version === this.version;
        } catch (error) {
          this.l2Error(error);
        }
      }
    }
    const announced = await this.ctx.broadcast({ n: this.name, k: key });
    this.settleWrite(key, sequence, deleted && announced);
  }

  async invalidateAll(): Promise<void> {
    const redis = this.ctx.redis;
    if (redis === null) {
      this.adoptVersion(this.version + 1);
      return;
    }
    await this.versionKnown;
    if (this.versionTrusted || !this.useL2) {
      try {
        const version = await redis.incr(this.versionKey);
        // Not above ours: Redis lost the counter (restarted empty); push ours past it instead.
        if (version > this.version) {
          this.adoptVersion(version);
          await this.announceVersion();
          return;
        }
      } catch (error) {
        this.l2Error(error);
      }
    }
    this.bumpLocally();
  }

  /**
   * An invalidation of the whole namespace that Redis has not seen: a new generation here at once
   * (L1 dropped, L2 no longer used), pushed to Redis and announced when it answers. Every key that
   * was waiting for a replay is covered by it. An l1Only namespace's too: the version it announces
   * must be Redis's, which is above every version announced so far, while its own may be behind
   * (it never relearns it from Redis), and the others ignore a version that is not above theirs.
   */
  private bumpLocally(): void {
    this.pending.clear();
    this.versionState.bump();
    this.dropFromL1();
    this.requestRepair(0);
  }

  /** Announces the current version; remembered for a replay when the bus refused it. */
  private async announceVersion(): Promise<boolean> {
    const version = this.version;
    const announced = await this.ctx.broadcast({ n: this.name, v: version });
    if (announced) {
      this.versionState.announced(version);
    } else {
      this.versionState.announceLater(version);
      this.requestRepair();
    }
    return announced;
  }

  /**
   * After a write: if it reached L2 (or L2 is not used) and the bus, it replaces any earlier write of
   * the key still waiting for a replay; if not, the key now waits for one.
   */
  private settleWrite(key: string, sequence: number, reached: boolean): void {
    if (this.ctx.redis === null) return;
    // The bus dropped (or the version is being relearnt) while the write was on its way: a bump
    // announced before its L2 write may have gone unheard, so it may have addressed a generation
    // the others had left. Replayed once the version is relearnt.
    if (this.useL2 && !this.versionTrusted) reached = false;
    if (reached) {
      const waiting = this.pending.get(key);
      if (waiting !== undefined && waiting < sequence) this.pending.delete(key);
      return;
    }
    // A bump made here and not yet pushed covers it: its push is a new generation after every write
    // made before it (see syncVersion), so the key needs no replay of its own. Not so for a push
    // already on its way when this write began. (Without this, during a long outage, keys would
    // fill `pending` again after an overflow's bump, and the next overflow would wipe L1 again.)
    if (this.versionState.covers(sequence)) return;
    // Re-inserted, so that the map's order stays the order of the writes.
    this.pending.delete(key);
    if (this.pending.size >= this.pendingMax) {
      this.bumpLocally();
      return;
    }
    this.pending.set(key, sequence);
    this.requestRepair();
  }

  /**
   * Replays what did not reach Redis: the namespace version (learnt, or pushed and announced), then
   * the keys waiting for a replay (L2 delete, broadcast). True when nothing is left. One run at a
   * time; a run that leaves something schedules the next one, with backoff.
   */
  async repair(): Promise<boolean> {
    // A run already going may have started before what the caller wants replayed (or before the
    // connection was up): wait for it, then run again if anything is left. A loop, so that nothing
    // depends on the order in which the callers waiting on one run resume: the first to find none
    // going starts the next, and the others wait for that one.
    while (this.repairRun !== null) await this.repairRun;
    if (!this.needsRepair) return true;
    // Never rejects: a pass that throws counts as not done (see replayFailed).
    const run = this.repairPass().catch((error: unknown) => this.replayFailed(error));
    this.repairRun = run;
    const done = await run;
    this.repairRun = null;
    if (done) {
      this.repairDelayMs = REPAIR_FIRST_DELAY_MS;
      // Written meanwhile: go again (soon).
      if (this.needsRepair) this.requestRepair();
    } else {
      this.requestRepair();
      this.repairDelayMs = Math.min(this.repairDelayMs * 2, REPAIR_MAX_DELAY_MS);
    }
    return !this.needsRepair;
  }

  /** Stops replaying (the engine is closing). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.repairTimer);
    this.repairTimer = undefined;
  }

  private requestRepair(delayMs = this.repairDelayMs): void {
    if (this.stopped || this.ctx.redis === null) return;
    if (this.repairTimer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.repairTimer);
    }
    const timer = setTimeout(() => {
      if (this.repairTimer === timer) this.repairTimer = undefined;
      void this.repair();
    }, delayMs);
    timer.unref();
    this.repairTimer = timer;
  }

  private async repairPass(): Promise<boolean> {
    const redis = this.ctx.redis!;
    if ((this.useL2 && !this.versionTrusted) || this.versionState.waiting) {
      if (!(await this.syncVersion())) return false;
    }
    while (this.pending.size > 0) {
      if (this.useL2 && !this.versionTrusted) return false;
      const batch: Array<[string, number]> = [];
      for (const entry of this.pending) {
        batch.push(entry);
        if (batch.length === REPAIR_BATCH) break;
      }
      const version = this.version;
      if (this.useL2) {
        try {
          await redis.deleteMany(batch.map(([key]) => this.redisKey(key)));
        } catch (error) {
          this.l2Error(error);
          return false;
        }
      }
      if (!(await this.ctx.broadcast({ n: this.name, ks: batch.map(([key]) => key) }))) return false;
      // A generation adopted meanwhile: the deletes addressed the old one; go again.
      if (version !== this.version) continue;
      for (const [key, sequence] of batch) if (this.pending.get(key) === sequence) this.pending.delete(key);
    }
    return true;
  }

  /**
   * Agrees with Redis on the version: a bump made here while Redis was away is pushed (a new
   * generation, after every write made here), a higher version in Redis is adopted, and a version
   * whose announcement failed is announced. False when Redis or the bus did not answer.
   */
  private async syncVersion(): Promise<boolean> {
    const redis = this.ctx.redis;
    if (redis === null) return true;
    if (this.versionState.bumpWaiting || (this.useL2 && !this.versionTrusted)) {
      const sync = this.versionState.startSync(this.sequence);
      let remote: number;
      try {
        remote = sync.pushing ? await redis.bump(this.versionKey, this.version) : await redis.raiseTo(this.versionKey, this.version);
      } catch (error) {
        this.versionState.syncFailed(sync);
        this.l2Error(error);
        return false;
      }
      this.versionState.synced(sync, remote);
      // The new generation postdates those writes: their older copies are out of reach.
      if (sync.pushing) for (const [key, sequence] of this.pending) if (sequence <= sync.before) this.pending.delete(key);
      this.adoptVersion(remote);
    }
    // Only a version Redis holds is announced: one bumped here since this push waits for its own.
    if (this.versionState.bumpWaiting) return false;
    if (this.versionState.announcementWaiting && !(await this.announceVersion())) return false;
    return this.versionTrusted || !this.useL2;
  }

  async getOrLoad<T>(key: string, loader: () => Promise<T>, options: LoadOptions<T> = {}): Promise<Loaded<T>> {
    if (options.bypass === true) return { value: await this.runLoader(loader), source: 'loader' };
    const local = this.l1.get(key);
    if (local !== undefined && local.staleUntil > this.ctx.now()) return this.serve(key, { entry: local, tier: 'l1' }, loader, options);

    // Not in L1: one flight per key in this process covers the L2 read and, on a miss, the load, so
    // a burst of identical requests costs one Redis read and one load here, not one per request.
    const pending = this.inflight.get(key) as Promise<Loaded<T>> | undefined;
    if (pending !== undefined) {
      this.counters.stampedesCoalesced++;
      this.ctx.emit({ type: 'coalesced', cache: this.name, distributed: false });
      const joined = await pending;
      if (joined.source === 'loader') this.miss();
      else this.counters.hits++;
      return joined;
    }
    const flight = (async (): Promise<Loaded<T>> => {
      const remote = await this.lookupL2(key);
      if (remote !== undefined) return this.serve(key, { entry: remote, tier: 'l2' }, loader, options);
      this.miss();
      // Distributed single-flight waits for the value in L2: not for a key this process cannot read there.
      if (options.distributed === true && this.l2Readable(key)) return this.distributedLoad(key, loader, options);
      return { value: await this.loadAndStore(key, loader, options), source: 'loader' };
    })().finally(() => {
      // A write may have replaced this flight with a newer one: only remove our own.
      if (this.inflight.get(key) === flight) this.inflight.delete(key);
    });
    this.inflight.set(key, flight);
    return flight;
  }

  /** Answers from a found entry: fresh (maybe refreshing ahead), or stale within grace (refreshing behind). */
  private serve<T>(key: string, found: { entry: Entry; tier: 'l1' | 'l2' }, loader: () => Promise<T>, options: LoadOptions<T>): Loaded<T> {
    const { entry, tier } = found;
    const now = this.ctx.now();
    if (entry.freshUntil > now) {
      this.hit(key, found);
      if (this.shouldRefreshAhead(entry, now)) this.refreshInBackground(key, loader, options);
      return { value: decode<T>(entry.data), source: tier };
    }
    this.counters.staleServed++;
    this.counters.hits++;
    if (this.ctx.listening.hit > 0) this.ctx.emit({ type: 'hit', cache: this.name, tier: 'stale' });
    this.refreshInBackground(key, loader, options);
    return { value: decode<T>(entry.data), source: 'stale' };
  }

  stats(): CacheStats {
    const c = this.counters;
    const lookups = c.hits + c.misses;
    return {
      hits: c.hits,
      misses: c.misses,
      hitRate: lookups === 0 ? 0 : c.hits / lookups,
      l1: { hits: c.l1Hits, size: this.l1.size, bytes: this.l1.calculatedSize },
      l2: { hits: c.l2Hits, errors: c.l2Errors, pending: this.pendingCount },
      evictions: c.evictions,
      stampedesCoalesced: c.stampedesCoalesced,
      staleServed: c.staleServed,
      refreshes: c.refreshes,
      loads: c.loads,
      loadErrors: c.loadErrors,
    };
  }

  // --- internals -------------------------------------------------------------------------------

  private redisKey(key: string): string {
    return `${this.ctx.prefix}:${this.name}:v${this.version}:${key}`;
  }

  /** L1, then L2 (filling L1); entries past their grace period are not found. */
  private async lookup(key: string): Promise<{ entry: Entry; tier: 'l1' | 'l2' } | undefined> {
    const local = this.l1.get(key);
    if (local !== undefined && local.staleUntil > this.ctx.now()) return { entry: local, tier: 'l1' };
    const remote = await this.lookupL2(key);
    return remote === undefined ? undefined : { entry: remote, tier: 'l2' };
  }

  /** L2 only; a found entry also goes into L1 (for what remains of its life). */
  private async lookupL2(key: string): Promise<Entry | undefined> {
    if (!this.useL2) return undefined;
    // Before any await: a write of this key while the read is on its way must be seen as newer.
    const startedAt = this.sequence;
    // Learning the version at start is not a write; clears are counted from here on.
    await this.versionKnown;
    if (!this.l2Readable(key)) return undefined;
    const version = this.version;
    const clearedBefore = this.clearedAt;
    let stored: string | undefined;
    try {
      stored = await this.ctx.redis!.get(this.redisKey(key));
    } catch (error) {
      this.l2Error(error);
      return undefined;
    }
    if (stored === undefined) return undefined;
    const now = this.ctx.now();
    let entry: Entry;
    try {
      const parsed = JSON.parse(stored) as { d: string; f: number; s: number; t: number };
      if (parsed.s <= now) return undefined;
      entry = { data: unpack(parsed.d), freshUntil: parsed.f, staleUntil: parsed.s, ttlMs: parsed.t, hits: 0 };
    } catch (error) {
      // Not ours, or an older format: a miss, not an error for the caller.
      this.l2Error(error);
      return undefined;
    }
    // Written or invalidated while we were reading: what we read may be older than that write.
    const keyWritten = (this.lastWrite.get(key) ?? 0) > startedAt;
    if (version !== this.version || this.clearedAt !== clearedBefore || keyWritten) return undefined;
    this.l1.set(key, entry, { ttl: this.l1Ttl(entry.staleUntil - now) });
    return entry;
  }

  /** Whether L2 may answer for this key: the version is Redis's, and no write of the key awaits a replay. */
  private l2Readable(key: string): boolean {
    return this.useL2 && this.versionTrusted && !this.pending.has(key);
  }

  private hit(key: string, found: { entry: Entry; tier: 'l1' | 'l2' }): void {
    this.counters.hits++;
    found.entry.hits++;
    if (found.tier === 'l1') this.counters.l1Hits++;
    else this.counters.l2Hits++;
    if (this.ctx.listening.hit > 0) this.ctx.emit({ type: 'hit', cache: this.name, tier: found.tier });
    const frequency = this.frequency.get(key);
    if (frequency === undefined) this.frequency.set(key, { count: 1, since: this.ctx.now() });
    else frequency.count++;
  }

  private miss(): void {
    this.counters.misses++;
    if (this.ctx.listening.miss > 0) this.ctx.emit({ type: 'miss', cache: this.name });
  }

  /**
   * A replay that threw: not a Redis or bus failure (those make it return false), so a bug. It is
   * retried like a failure, and reported (counted with the L2 errors, which the monitor reads).
   */
  private replayFailed(error: unknown): false {
    this.counters.l2Errors++;
    this.ctx.emit({ type: 'error', cache: this.name, tier: 'l2', error: `replay failed: ${error instanceof Error ? error.message : String(error)}` });
    return false;
  }

  /** Counts real Redis failures; calls the open circuit refused were never sent and are not errors. */
  private l2Error(error?: unknown): void {
    if (error instanceof CircuitOpen) return;
    this.counters.l2Errors++;
    this.ctx.emit({ type: 'error', cache: this.name, tier: 'l2', error: 'Redis unavailable or slow' });
  }

  /** With the invalidation bus down, L1 cannot hear about writes elsewhere: keep its entries short. */
  private l1Ttl(ttlMs: number): number {
    const busDown = this.useL2 && !this.ctx.redis!.busHealthy;
    return Math.max(1, Math.ceil(busDown ? Math.min(ttlMs, 1_000) : ttlMs));
  }

  /** Adaptive TTL: the base TTL grows with the key's measured reads per minute, up to maxTtlMs. */
  private ttlFor(key: string, base: number): number {
    const max = this.options.maxTtlMs;
    const frequency = this.frequency.get(key);
    if (max === undefined || max <= base || frequency === undefined) return base;
    const minutes = Math.max(1, (this.ctx.now() - frequency.since) / 60_000);
    const perMinute = frequency.count / minutes;
    return Math.min(max, Math.round(base * (1 + Math.log2(1 + perMinute))));
  }

  private shouldRefreshAhead(entry: Entry, now: number): boolean {
    const threshold = this.options.refreshAheadHits;
    return threshold > 0 && entry.hits >= threshold && entry.freshUntil - now < entry.ttlMs * FRESH_SHARE_FOR_REFRESH_AHEAD;
  }

  /**
   * Puts the value in L1 and L2. True if L2 now holds it (or L2 is not used). A `fill` (a load's
   * result) leaves L2 alone for a key awaiting a replay; a `write` tries, as it may replace the replay.
   */
  private async store(key: string, value: unknown, baseTtlMs: number, kind: 'write' | 'fill'): Promise<boolean> {
    const now = this.ctx.now();
    const ttlMs = this.ttlFor(key, baseTtlMs);
    const data = encode(value);
    const entry: Entry = { data, freshUntil: now + ttlMs, staleUntil: now + ttlMs + this.options.graceMs, ttlMs, hits: 0 };
    this.l1.set(key, entry, { ttl: this.l1Ttl(ttlMs + this.options.graceMs) });
    if (!this.useL2) return true;
    await this.versionKnown;
    if (!this.versionTrusted || (kind === 'fill' && this.pending.has(key))) return false;
    const version = this.version;
    const payload = JSON.stringify({ d: pack(data, this.ctx.compressAboveBytes), f: entry.freshUntil, s: entry.staleUntil, t: ttlMs });
    try {
      await this.ctx.redis!.set(this.redisKey(key), payload, ttlMs + this.options.graceMs);
      return version === this.version;
    } catch (error) {
      this.l2Error(error);
      return false;
    }
  }

  private async runLoader<T>(loader: () => Promise<T>): Promise<T> {
    const started = performance.now();
    this.counters.loads++;
    try {
      const value = await loader();
      this.ctx.emit({ type: 'load', cache: this.name, durationMs: performance.now() - started, ok: true });
      return value;
    } catch (error) {
      this.counters.loadErrors++;
      this.ctx.emit({ type: 'load', cache: this.name, durationMs: performance.now() - started, ok: false });
      throw error;
    }
  }

  private async loadAndStore<T>(key: string, loader: () => Promise<T>, options: LoadOptions<T>): Promise<T> {
    const version = this.version;
    const startedAt = this.sequence;
    const value = await this.runLoader(loader);
    // A write or invalidation that happened while loading is newer than what the loader read.
    const overtaken = this.writtenSince(key, startedAt) || version !== this.version;
    if (!overtaken && (options.shouldCache === undefined || options.shouldCache(value))) {
      await this.store(key, value, options.ttlMs ?? this.options.ttlMs, 'fill');
      await this.ctx.broadcast({ n: this.name, k: key });
    }
    return value;
  }

  /**
   * One loader across every process sharing Redis: the first takes a short lock and loads; the
   * others wait for the value to appear in L2. If the holder dies its lock expires (`lockTtlMs`)
   * and a waiter takes over; if Redis fails or the wait is too long, a waiter loads by itself.
   */
  private async distributedLoad<T>(key: string, loader: () => Promise<T>, options: LoadOptions<T>): Promise<Loaded<T>> {
    const redis = this.ctx.redis!;
    const lockKey = `${this.redisKey(key)}:lock`;
    const token = `${this.ctx.instanceId}:${randomUUID()}`;
    const deadline = this.ctx.now() + this.ctx.lockWaitMs;
    let delay = 10;
    let waited = false;
    for (;;) {
      let acquired = false;
      try {
        // Worth waiting for longer than a cache read: the alternative is another call to the source.
        acquired = await redis.tryLock(lockKey, token, this.ctx.lockTtlMs, LOCK_DEADLINE_MS);
      } catch (error) {
        this.l2Error(error);
        // Refused (circuit open) or disconnected: Redis is down, load here. Merely slow: the lock's
        // state is unknown, so keep waiting like a follower (the re-entrant lock tells us next time).
        if (!(error instanceof RedisUnavailable && error.timedOut && !(error instanceof CircuitOpen))) {
          return { value: await this.loadAndStore(key, loader, options), source: 'loader' };
        }
      }
      if (acquired) {
        try {
          // The previous holder may have filled the key just before releasing its lock.
          if (waited) {
            const filled = await this.lookup(key);
            if (filled !== undefined && filled.entry.freshUntil > this.ctx.now()) {
              return { value: decode<T>(filled.entry.data), source: filled.tier };
            }
          }
          return { value: await this.loadAndStore(key, loader, options), source: 'loader' };
        } finally {
          await redis.unlock(lockKey, token).catch((error: unknown) => this.l2Error(error));
        }
      }
      if (!waited) {
        waited = true;
        this.counters.stampedesCoalesced++;
        this.ctx.emit({ type: 'coalesced', cache: this.name, distributed: true });
      }
      if (this.ctx.now() >= deadline) return { value: await this.loadAndStore(key, loader, options), source: 'loader' };
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 100);
      const filled = await this.lookup(key);
      if (filled !== undefined && filled.entry.freshUntil > this.ctx.now()) {
        return { value: decode<T>(filled.entry.data), source: filled.tier };
      }
    }
  }

  private refreshInBackground<T>(key: string, loader: () => Promise<T>, options: LoadOptions<T>): void {
    if (this.refreshing.has(key) || this.inflight.has(key)) return;
    this.refreshing.add(key);
    this.counters.refreshes++;
    this.loadAndStore(key, loader, options)
      .catch(() => undefined) // the stale value stays until grace ends; the error was counted
      .finally(() => this.refreshing.delete(key));
  }
}
