/**
 * What the cache and the task processor tell the monitor, through `@chat/integration`: this lib
 * imports neither, so these shapes are its whole interface to them.
 */
export interface CacheMonitorEvent {
  /** The cache's name, e.g. `conversation`, `ai-response` (a bounded set: it becomes a label). */
  cache: string;
  outcome: 'hit' | 'miss' | 'error';
  /** Where a hit was served from. */
  tier?: 'l1' | 'l2';
  durationMs?: number;
}

/**
 * One cache's lookup counts since its start (monotonic), for `PerformanceMonitorService.watchCaches`:
 * the monitor reads them on its timer and at each scrape, and records what grew since the last read.
 * A cache read on every request is cheaper counted this way than told of each lookup.
 */
export interface CacheTotals {
  cache: string;
  /** Hits served from the in-process tier, from Redis, and from elsewhere (e.g. a stale entry). */
  l1Hits: number;
  l2Hits: number;
  otherHits: number;
  misses: number;
  errors: number;
  /**
   * Not a count: how many writes wait now to be replayed to the cache's second tier (Redis), as the
   * cache reports it; exported as the gauge `cache_l2_pending`. Left out by a cache that has none.
   */
  pending?: number;
}

export interface QueueMonitorEvent {
  kind: 'submitted' | 'rejected' | 'started' | 'completed' | 'failed' | 'released';
  /** The task type (a bounded set: it becomes a label). */
  type?: string;
  priority?: string;
  /** How many (a batch submission counts once per task). */
  count?: number;
  /** `started`: time spent waiting since submission. */
  waitMs?: number;
  /** `completed`/`failed`: the attempt's run time. */
  runMs?: number;
  /** `failed`: no attempt left. */
  final?: boolean;
}

export interface HttpRequestRecord {
  method: string;
  /** The route template (`/v1/items/:id`), never the raw path; unmatched requests use a fixed placeholder. */
  route: string;
  status: number;
  durationMs: number;
}
