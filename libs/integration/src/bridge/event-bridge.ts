import type { TaskEvent, TaskProcessor } from '@chat/async';
import type { CacheEngine, CacheEvent, CacheStats } from '@chat/cache';
import type { CacheTotals, PerformanceMonitorService } from '@chat/monitoring';
import { Logger } from '@nestjs/common';

const MINUTE = 60_000;
/** Minutes of queue depth kept (the monitor's retention). */
const DEPTH_MINUTES = 24 * 60;

/** A cache event as the monitor counts it; events the monitor does not count give null. */
export function cacheEventForMonitor(event: CacheEvent): Parameters<PerformanceMonitorService['recordCache']>[0] | null {
  switch (event.type) {
    case 'hit':
      return { cache: event.cache, outcome: 'hit', ...(event.tier === 'stale' ? {} : { tier: event.tier }) };
    case 'miss':
      return { cache: event.cache, outcome: 'miss' };
    case 'error':
      return { cache: event.cache, outcome: 'error' };
    default:
      return null;
  }
}

/** The engine's per-namespace stats as the monitor counts lookups (see `PerformanceMonitorService.watchCaches`). */
export function cacheTotalsOf(stats: Readonly<Record<string, CacheStats>>): CacheTotals[] {
  return Object.entries(stats).map(([cache, s]) => ({
    cache,
    l1Hits: s.l1.hits,
    l2Hits: s.l2.hits,
    // The rest of the hits: stale entries served while they refresh.
    otherHits: Math.max(0, s.hits - s.l1.hits - s.l2.hits),
    misses: s.misses,
    errors: s.l2.errors,
    // Writes waiting for a replay to Redis: a level, exported as a gauge.
    pending: s.l2.pending,
  }));
}

/** A task event as the monitor counts it; `reconciled` is not a queue figure (null). */
export function taskEventForMonitor(event: TaskEvent): Parameters<PerformanceMonitorService['recordQueue']>[0] | null {
  switch (event.kind) {
    case 'submitted':
      return { kind: 'submitted', type: event.type, priority: event.priority, count: event.count };
    case 'rejected':
      return { kind: 'rejected', count: event.count };
    case 'started':
      return { kind: 'started', type: event.type, priority: event.priority, waitMs: event.waitMs };
    case 'completed':
      return { kind: 'completed', type: event.type, priority: event.priority, runMs: event.runMs };
    case 'failed':
      return { kind: 'failed', type: event.type, priority: event.priority, runMs: event.runMs, final: event.final };
    case 'released':
      return { kind: 'released', type: event.type, priority: event.priority };
    case 'reconciled':
      return null;
  }
}

/**
 * Hands cache and task events to the monitor, and reads the task backlog for it on a timer. The
 * three libs do not know each other: they meet here, through their small event interfaces.
 */
export class EventBridge {
  private readonly logger = new Logger('PerformanceIntegration');
  private readonly detach: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  /** The last backlog reading of each minute (epoch ms of its start → pending tasks), oldest first, 24 h at most. */
  private readonly depth = new Map<number, number>();

  constructor(
    private readonly monitor: PerformanceMonitorService,
    private readonly cache: CacheEngine | null,
    private readonly tasks: TaskProcessor | null,
    private readonly backlogEveryMs: number,
  ) {}

  attach(): void {
    const monitor = this.monitor;
    const cache = this.cache;
    if (cache !== null) {
      // Hits, misses and Redis errors: counted by the engine, read by the monitor on its own timer
      // and at each scrape. A cached read then builds no event and calls nothing for the monitor.
      this.detach.push(monitor.watchCaches(() => cacheTotalsOf(cache.stats())));
      // The invalidation bus's failures are in no namespace's stats: they come as events (rare).
      this.detach.push(
        cache.onEvent(
          (event) => {
            const record = event.type === 'error' && event.tier === 'bus' ? cacheEventForMonitor(event) : null;
            if (record !== null) monitor.recordCache(record);
          },
          ['error'],
        ),
      );
    }
    if (this.tasks !== null) {
      this.detach.push(
        this.tasks.onEvent((event) => {
          const record = taskEventForMonitor(event);
          if (record !== null) monitor.recordQueue(record);
        }),
      );
      this.timer = setInterval(() => void this.readBacklog(), this.backlogEveryMs);
      this.timer.unref();
      void this.readBacklog();
    }
  }

  /** No more events or backlog readings. */
  detachAll(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const detach of this.detach.splice(0)) detach();
  }

  /**
   * Pending tasks at the end of each minute a reading was taken in, oldest first: the dashboard's
   * queue-depth series (the monitor keeps only the latest reading, for its alert rule and gauge).
   */
  backlog(): Array<{ minute: number; value: number }> {
    return [...this.depth].map(([minute, value]) => ({ minute, value }));
  }

  async readBacklog(): Promise<void> {
    if (this.tasks === null) return;
    try {
      const pending = await this.tasks.store.pendingCount();
      this.monitor.setQueuePending(pending);
      this.depth.set(Math.floor(Date.now() / MINUTE) * MINUTE, pending);
      if (this.depth.size > DEPTH_MINUTES) this.depth.delete(this.depth.keys().next().value as number);
    } catch (error) {
      this.logger.debug(`task backlog unavailable: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
