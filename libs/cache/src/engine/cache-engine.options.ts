export interface CacheEngineOptions {
  /** Redis for L2, the L1 invalidation bus and cross-process locks; null: L1 only, same API. */
  redisUrl: string | null;
  /** Prefix of every Redis key and channel (lets several apps share one Redis). Default `chat-cache`. */
  keyPrefix?: string;
  /** A Redis operation slower than this counts as failed and the call falls through. Default 150 ms. */
  l2TimeoutMs?: number;
  /** L2 values larger than this (serialized, bytes) are deflated. Default 1024. */
  compressAboveBytes?: number;
  /** Consecutive L2 failures that open the circuit, and how long it stays open. Defaults 5 and 2000 ms. */
  breakerFailures?: number;
  breakerCooldownMs?: number;
  /** Distributed single-flight: lock lifetime (a dead holder's lock expires after it) and a follower's longest wait. */
  lockTtlMs?: number;
  lockWaitMs?: number;
  /** Milliseconds since the epoch; injectable so TTL logic is testable exactly. Default `Date.now`. */
  now?: () => number;
}
