import { randomUUID } from 'node:crypto';
import { CACHE_EVENT_TYPES, type CacheEventListener, type CacheEvent, type CacheNamespace, type CacheStats, type NamespaceOptions } from './cache.types.js';
import type { CacheEngineOptions } from './cache-engine.options.js';
import { MultiTierNamespace, type NamespaceContext } from './cache-namespace.js';
import { RedisTier } from './redis-tier.js';

const NAMESPACE_DEFAULTS = {
  graceMs: 0,
  l1MaxEntries: 10_000,
  l1MaxBytes: 64 * 1024 * 1024,
  l1Only: false,
  refreshAheadHits: 0,
};

interface BusMessage {
  /** Sender, so a process ignores its own messages (and knows where to acknowledge). */
  o: string;
  /** Id the receivers acknowledge once the key is gone from their L1. */
  a: number;
  n: string;
  k?: string;
  /**
   * Several keys at once (a replay of writes that did not reach Redis). During a deploy that mixes
   * versions, a process from before `ks` existed reads such a message as one without `k`, which it
   * takes as "drop the whole namespace" (dropFromL1(undefined)): more than needed, never less, and
   * it confirms as usual.
   */
  ks?: string[];
  v?: number;
}

/** The longest a writer waits for the other processes to confirm an invalidation. */
const ACK_TIMEOUT_MS = 250;

/**
 * The multi-tier cache: an in-process LRU per namespace (L1) in front of Redis (L2), with an
 * invalidation bus that keeps every process's L1 coherent, and cross-process single-flight.
 * Without Redis it is L1-only behind the same API.
 */
export class CacheEngine {
  private readonly namespaces = new Map<string, MultiTierNamespace>();
  private readonly listeners = new Set<CacheEventListener>();
  /** How many listeners want each event type (see `onEvent`); the namespaces read it. */
  private readonly listening: Record<CacheEvent['type'], number> = { hit: 0, miss: 0, error: 0, eviction: 0, coalesced: 0, load: 0 };
  private readonly redis: RedisTier | null;
  private readonly context: NamespaceContext;
  private readonly channel: string;
  private readonly instanceId: string;
  private readonly ackChannel: string;
  private nextAckId = 1;
  /** Broadcasts waiting for confirmations; `remaining` is infinite until PUBLISH says how many to expect. */
  private readonly pendingAcks = new Map<number, { remaining: number; done: () => void }>();
  /** Confirmations that arrived before their PUBLISH's reply. */
  private readonly early = new Map<number, number>();

  private constructor(options: CacheEngineOptions) {
    const now = options.now ?? Date.now;
    const prefix = options.keyPrefix ?? 'chat-cache';
    this.channel = `${prefix}:invalidate`;
    this.instanceId = randomUUID();
    this.ackChannel = `${this.channel}:ack:${this.instanceId}`;
    this.redis =
      options.redisUrl === null
        ? null
        : new RedisTier({
            url: options.redisUrl,
            timeoutMs: options.l2TimeoutMs ?? 150,
            breakerFailures: options.breakerFailures ?? 5,
            breakerCooldownMs: options.breakerCooldownMs ?? 2_000,
            now,
            // Namespaces report their own failures, with their names.
            onError: () => undefined,
          });
    const instanceId = this.instanceId;
    this.context = {
      prefix,
      instanceId,
      redis: this.redis,
      now,
      compressAboveBytes: options.compressAboveBytes ?? 1_024,
      lockTtlMs: options.lockTtlMs ?? 30_000,
      lockWaitMs: options.lockWaitMs ?? 30_000,
      emit: (event) => this.emit(event),
      listening: this.listening,
      // Awaited by writers, and it waits (at most ACK_TIMEOUT_MS) until every other process has
      // dropped the key from its L1: PUBLISH alone does not order the other process's delivery
      // before the writer's response, so a client could otherwise read the old value elsewhere.
      broadcast: (message) => this.broadcast(message),
    };
    if (this.redis !== null) {
      this.redis.subscribe(this.channel, (raw) => this.receive(raw));
      this.redis.subscribe(this.ackChannel, (raw) => this.acknowledged(Number(raw)));
      // Messages may have been missed while disconnected: forget L1 and relearn namespace versions
      // (L2 is not used until then); writes that did not reach Redis meanwhile are replayed.
      this.redis.onBusReady(() => {
        for (const ns of this.namespaces.values()) {
          ns.dropFromL1();
          ns.versionMayBeStale();
        }
      });
    }
  }

  static create(options: CacheEngineOptions): CacheEngine {
    return new CacheEngine(options);
  }

  /**
   * Resolves once Redis answers (at most ~2 s), or at once without Redis, after one attempt to learn
   * the namespaces' versions and to replay the writes that did not reach Redis so far (those left
   * are retried in the background).
   */
  async ready(): Promise<void> {
    if (this.redis === null) return;
    await this.redis.ready();
    await Promise.all([...this.namespaces.values()].map((ns) => ns.repair()));
  }

  /** `closed` when Redis answers normally, `open` while calls to it are refused after failures. */
  get l2State(): 'none' | 'closed' | 'open' | 'half-open' {
    return this.redis === null ? 'none' : this.redis.breakerState;
  }

  namespace(name: string, options: NamespaceOptions): CacheNamespace {
    const existing = this.namespaces.get(name);
    if (existing !== undefined) return existing;
    if (!/^[\w.-]{1,64}$/.test(name)) throw new Error(`cache namespace name "${name}" must be 1-64 of [A-Za-z0-9_.-]`);
    const ns = new MultiTierNamespace(name, { ...NAMESPACE_DEFAULTS, ...stripUndefined(options), ttlMs: options.ttlMs }, this.context);
    this.namespaces.set(name, ns);
    // Reading L2 under a version not yet learnt could serve a generation that was invalidated.
    ns.waitForVersion(ns.repair().then(() => undefined));
    return ns;
  }

  stats(): Record<string, CacheStats> {
    return Object.fromEntries([...this.namespaces].map(([name, ns]) => [name, ns.stats()]));
  }

  /**
   * Calls `listener` with every event of the given `types` (default all of them) until the returned
   * function is called. Hits and misses come once per lookup: a listener that only needs their
   * counts should read `stats()` instead, and leave them out of `types`, so that lookups build no
   * event at all.
   */
  onEvent(listener: CacheEventListener, types: readonly CacheEvent['type'][] = CACHE_EVENT_TYPES): () => void {
    const wanted = new Set(types);
    const subscribed: CacheEventListener = wanted.size === CACHE_EVENT_TYPES.length ? listener : (event) => {
      if (wanted.has(event.type)) listener(event);
    };
    this.listeners.add(subscribed);
    for (const type of wanted) this.listening[type]++;
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.listeners.delete(subscribed);
      for (const type of wanted) this.listening[type]--;
    };
  }

  async close(): Promise<void> {
    const namespaces = [...this.namespaces.values()];
    for (const ns of namespaces) ns.stop();
    // A last attempt at what did not reach Redis yet: after this, nobody would replay it. Bounded:
    // every call has its deadline, and refusals (circuit open, not connected) are immediate.
    if (this.redis !== null) await Promise.all(namespaces.map((ns) => ns.repair()));
    await this.redis?.close();
  }

  private emit(event: CacheEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a listener's bug must not break caching
      }
    }
  }

  /** False when the message could not be published: no other process heard it. */
  private async broadcast(message: { n: string; k?: string; ks?: string[]; v?: number }): Promise<boolean> {
    if (this.redis === null) return true;
    const id = this.nextAckId++;
    try {
      // Registered before publishing: an acknowledgement can arrive before PUBLISH's own reply.
      const acked = new Promise<void>((resolve) => this.pendingAcks.set(id, { remaining: Number.POSITIVE_INFINITY, done: resolve }));
      const receivers = await this.redis.publish(this.channel, JSON.stringify({ o: this.instanceId, a: id, ...message } satisfies BusMessage));
      const pending = this.pendingAcks.get(id);
      // Every receiver confirms, this process's own subscriber included (so a count that does not
      // include us, because our subscriber is down, still waits for all the others).
      if (pending !== undefined) {
        pending.remaining = receivers - this.earlyAcks(id);
        if (pending.remaining <= 0) this.settleAck(id);
      }
      const timer = setTimeout(() => this.settleAck(id), ACK_TIMEOUT_MS);
      await acked;
      clearTimeout(timer);
      return true;
    } catch {
      this.settleAck(id);
      this.emit({ type: 'error', cache: message.n, tier: 'bus', error: 'invalidation not published' });
      return false;
    }
  }

  private earlyAcks(id: number): number {
    const n = this.early.get(id) ?? 0;
    this.early.delete(id);
    return n;
  }

  private acknowledged(id: number): void {
    const pending = this.pendingAcks.get(id);
    if (pending === undefined) return;
    if (!Number.isFinite(pending.remaining)) {
      // PUBLISH has not answered yet: count it for later.
      this.early.set(id, (this.early.get(id) ?? 0) + 1);
      return;
    }
    pending.remaining--;
    if (pending.remaining <= 0) this.settleAck(id);
  }

  private settleAck(id: number): void {
    const pending = this.pendingAcks.get(id);
    if (pending === undefined) return;
    this.pendingAcks.delete(id);
    this.early.delete(id);
    pending.done();
  }

  private receive(raw: string): void {
    let message: BusMessage;
    try {
      message = JSON.parse(raw) as BusMessage;
    } catch {
      return;
    }
    if (message.o === this.instanceId) {
      this.acknowledged(message.a);
      return;
    }
    const ns = this.namespaces.get(message.n);
    if (ns !== undefined) {
      if (message.v !== undefined) ns.adoptVersion(message.v);
      else if (message.ks !== undefined) for (const key of message.ks) ns.dropFromL1(key);
      else ns.dropFromL1(message.k);
    }
    // Confirm even for an unknown namespace: the writer counts every subscriber.
    this.redis?.publish(`${this.channel}:ack:${message.o}`, String(message.a)).catch(() => undefined);
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
