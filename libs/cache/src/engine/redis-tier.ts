import KeyvRedis, { createClient, type RedisClientType } from '@keyv/redis';
import { CircuitBreaker } from './circuit-breaker.js';

export class RedisUnavailable extends Error {
  override name = 'RedisUnavailable';
  constructor(
    message: string,
    /** The deadline passed: Redis may still have executed the command. */
    readonly timedOut = false,
  ) {
    super(message);
  }
}

/** Not even tried: the circuit is open after recent failures. Not a new failure. */
export class CircuitOpen extends RedisUnavailable {
  override name = 'CircuitOpen';
}

export interface RedisTierOptions {
  url: string;
  timeoutMs: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  now: () => number;
  /** Called once per failed operation (for stats and events). */
  onError: (error: Error) => void;
}

const LOCK = `local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]); return 1 end
if v then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); return 1`;
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
/** Raises a counter to at least ARGV[1]; returns the resulting value. */
const RAISE_TO = `local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]); return tonumber(ARGV[1]) end
return v`;
/** Increments a counter, and raises it to at least ARGV[1] if it is still below; returns the result. */
const BUMP = `local v = redis.call('INCR', KEYS[1])
if v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]); return tonumber(ARGV[1]) end
return v`;

/**
 * L2 and the cross-process plumbing, all fail-fast: every operation has a deadline, the client keeps
 * no offline queue, and a circuit breaker stops calling a Redis that keeps failing, then tries again
 * on its own. Values go through `@keyv/redis`; locks, counters and pub/sub use the same node-redis client.
 */
export class RedisTier {
  private readonly client: RedisClientType;
  private readonly subscriber: RedisClientType;
  private readonly store: KeyvRedis<string>;
  private readonly breaker: CircuitBreaker;
  private readonly subscriptions = new Map<string, (message: string) => void>();
  private readonly readyListeners: Array<() => void> = [];
  private closed = false;
  private subscriberReady = false;
  /** The trial call made when the main connection last came up, and the listeners told after it. */
  private trial: Promise<void> = Promise.resolve();
  /** Calls sent whose reply has not come yet (one that timed out here may still be on its way). */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: RedisTierOptions) {
    const clientOptions = {
      url: options.url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: Math.max(500, options.timeoutMs * 4),
        // Keep trying in the background; callers never wait for it.
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 2_000),
      },
    };
    this.client = createClient(clientOptions);
    this.subscriber = createClient(clientOptions);
    // node-redis throws an unhandled 'error' otherwise; failures are seen through the operations.
    this.client.on('error', () => undefined);
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('end', () => (this.subscriberReady = false));
    this.subscriber.on('reconnecting', () => (this.subscriberReady = false));
    this.subscriber.on('ready', () => {
      this.subscriberReady = true;
      for (const listener of this.readyListeners) listener();
    });
    // Either connection coming back may end an outage during which versions or messages were missed.
    this.client.on('ready', () => {
      // 'ready' follows the connection's handshake, which Redis answered: the failures that opened
      // the circuit may be those of a connection that was not up (calls refused at once while it was
      // being made, at start or after a drop), and left open it would refuse every call for its
      // cooldown on a working connection. So one trial goes now; not a full close, though: a Redis
      // that completes handshakes but times out on commands would get every call at each reconnect.
      this.breaker.trialNow();
      // The trial is a PING, made before anyone hears that the connection is up: if Redis answers,
      // every namespace then resyncs on a closed circuit, rather than one of them making the trial
      // and the others being refused and waiting for their backoff.
      this.trial = this.guard(() => this.client.ping())
        .then(
          () => undefined,
          () => undefined,
        )
        .then(() => {
          for (const listener of this.readyListeners) listener();
        });
    });
    this.store = new KeyvRedis<string>(this.client, { throwOnErrors: true, throwOnConnectError: false });
    this.store.on('error', () => undefined);
    this.breaker = new CircuitBreaker(options.breakerFailures, options.breakerCooldownMs, options.now);
    this.client.connect().catch(() => undefined);
    this.subscriber.connect().catch(() => undefined);
  }

  /** True while the invalidation channel is connected (L1 entries can be trusted for their full TTL). */
  get busHealthy(): boolean {
    // 'end' fires only on close: a dropped connection that is reconnecting shows as not ready.
    return this.subscriberReady && this.subscriber.isReady;
  }


  get breakerState(): 'closed' | 'open' | 'half-open' {
    return this.breaker.state;
  }

  /** Called each time a connection (re)connects: messages may have been missed meanwhile. */
  onBusReady(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  async ready(timeoutMs = 2_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.client.isReady && this.subscriberReady) {
        await this.trial;
        return true;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return false;
  }

  get(key: string): Promise<string | undefined> {
    return this.guard(() => this.store.get(key));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.guard(() => this.store.set(key, value, Math.max(1, Math.ceil(ttlMs))));
  }

  async delete(key: string): Promise<void> {
    await this.guard(() => this.store.delete(key));
  }

  /** One round trip for many keys (a MULTI of UNLINKs), through the store like every value key. */
  async deleteMany(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.guard(() => this.store.deleteMany([...keys]));
  }

  incr(key: string): Promise<number> {
    return this.guard(() => this.client.incr(key));
  }

  /** Makes the counter at least `value` (a version bumped locally while Redis was away) and returns it. */
  async raiseTo(key: string, value: number): Promise<number> {
    return Number(await this.guard(() => this.client.eval(RAISE_TO, { keys: [key], arguments: [String(value)] })));
  }

  /**
   * Increments the counter (a generation nobody has used yet), to at least `atLeast` (a version this
   * process reached while Redis was away, in case Redis lost the counter), and returns it.
   */
  async bump(key: string, atLeast: number): Promise<number> {
    return Number(await this.guard(() => this.client.eval(BUMP, { keys: [key], arguments: [String(atLeast)] })));
  }

  /**
   * Takes the lock, or finds it already ours (re-entrant by token: an earlier attempt that timed out
   * here may have succeeded in Redis). True if this caller now holds it.
   */
  async tryLock(key: string, token: string, ttlMs: number, deadlineMs: number): Promise<boolean> {
    const result = await this.guard(() => this.client.eval(LOCK, { keys: [key], arguments: [token, String(ttlMs)] }), deadlineMs);
    return Number(result) === 1;
  }

  /** Deletes the lock only if this caller still holds it. */
  async unlock(key: string, token: string): Promise<void> {
    await this.guard(() => this.client.eval(UNLOCK, { keys: [key], arguments: [token] }));
  }

  /** Returns how many subscribers Redis handed the message to. */
  publish(channel: string, message: string): Promise<number> {
    return this.guard(() => this.client.publish(channel, message));
  }

  subscribe(channel: string, handler: (message: string) => void): void {
    this.subscriptions.set(channel, handler);
    // node-redis re-subscribes after a reconnect by itself.
    this.subscriber.subscribe(channel, handler).catch(() => undefined);
  }

  /**
   * Gives the calls still on their way up to 1 s, then drops both connections. Not node-redis's
   * close(): it waits for every reply, so against a Redis that stopped answering it never resolves,
   * and once it was called destroy() refuses to run, leaving the socket open.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, 1_000)))]);
      clearTimeout(timer);
    }
    for (const c of [this.client, this.subscriber]) if (c.isOpen) c.destroy();
  }

  /** Runs one Redis operation within the deadline, through the breaker; failures throw RedisUnavailable. */
  private async guard<T>(operation: () => Promise<T>, deadlineMs = this.options.timeoutMs): Promise<T> {
    if (this.closed || !this.breaker.allow()) throw new CircuitOpen('Redis is unavailable (circuit open)');
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = deadlineMs;
    try {
      const running = operation();
      this.inFlight.add(running);
      const settled = (): boolean => this.inFlight.delete(running);
      running.then(settled, settled);
      const result = await Promise.race([
        running,
        new Promise<never>((_, reject) => {
          let armedAt = performance.now();
          let rearms = 0;
          const expire = (): void => {
            // A timer that fires far past its time means this process's event loop was busy, not
            // that Redis was slow, and the reply may be waiting to be read: give it another turn
            // (a few times at most) instead of declaring Redis down.
            if (performance.now() - armedAt > timeoutMs * 2 && rearms < 3) {
              rearms++;
              armedAt = performance.now();
              timer = setTimeout(expire, timeoutMs);
              return;
            }
            // Timers run before I/O in Node's loop: a reply already received but not yet read would
            // lose to this timer. setImmediate runs after the poll phase, so such a reply wins.
            setImmediate(() => reject(new RedisUnavailable(`Redis did not answer within ${deadlineMs} ms`, true)));
          };
          timer = setTimeout(expire, timeoutMs);
        }),
      ]);
      this.breaker.success();
      return result;
    } catch (error) {
      this.breaker.failure();
      const failure = error instanceof RedisUnavailable ? error : new RedisUnavailable((error as Error).message);
      this.options.onError(failure);
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }
}
