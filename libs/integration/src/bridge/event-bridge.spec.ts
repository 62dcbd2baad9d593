import type { TaskEvent, TaskEventListener, TaskProcessor } from '@chat/async';
import type { CacheEngine, CacheEvent, CacheEventListener, CacheEventType, CacheStats } from '@chat/cache';
import type { CacheTotals, PerformanceMonitorService } from '@chat/monitoring';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { emptyCacheStats } from '../facade/pass-through.namespace.js';
import { cacheEventForMonitor, cacheTotalsOf, EventBridge, taskEventForMonitor } from './event-bridge.js';

describe('cacheEventForMonitor', () => {
  it.each<[CacheEvent, ReturnType<typeof cacheEventForMonitor>]>([
    [{ type: 'hit', cache: 'conversation', tier: 'l1' }, { cache: 'conversation', outcome: 'hit', tier: 'l1' }],
    [{ type: 'hit', cache: 'conversation', tier: 'l2' }, { cache: 'conversation', outcome: 'hit', tier: 'l2' }],
    // A stale hit is a hit the monitor cannot place in a tier.
    [{ type: 'hit', cache: 'ai-response', tier: 'stale' }, { cache: 'ai-response', outcome: 'hit' }],
    [{ type: 'miss', cache: 'tool-result' }, { cache: 'tool-result', outcome: 'miss' }],
    [{ type: 'error', cache: 'conversation', tier: 'l2', error: 'timeout' }, { cache: 'conversation', outcome: 'error' }],
    [{ type: 'error', cache: 'conversation', tier: 'bus', error: 'closed' }, { cache: 'conversation', outcome: 'error' }],
    [{ type: 'eviction', cache: 'conversation' }, null],
    [{ type: 'coalesced', cache: 'conversation', distributed: true }, null],
    [{ type: 'load', cache: 'conversation', durationMs: 3, ok: true }, null],
  ])('%j → %j', (event, expected) => {
    expect(cacheEventForMonitor(event)).toEqual(expected);
  });
});

/** Engine stats with the counts `cacheTotalsOf` reads set, and the others set to numbers it must ignore. */
function stats(counts: { hits?: number; misses?: number; l1Hits?: number; l2Hits?: number; l2Errors?: number; pending?: number }): CacheStats {
  return {
    ...emptyCacheStats(),
    hits: counts.hits ?? 0,
    misses: counts.misses ?? 0,
    hitRate: 0.5,
    l1: { hits: counts.l1Hits ?? 0, size: 11, bytes: 1_234 },
    l2: { hits: counts.l2Hits ?? 0, errors: counts.l2Errors ?? 0, pending: counts.pending ?? 0 },
    evictions: 13,
    stampedesCoalesced: 17,
    staleServed: 19,
    refreshes: 23,
    loads: 29,
    loadErrors: 31,
  };
}

describe('cacheTotalsOf', () => {
  it.each<[string, Record<string, CacheStats>, CacheTotals[]]>([
    ['no namespace', {}, []],
    ['nothing counted yet', { conversation: stats({}) }, [{ cache: 'conversation', l1Hits: 0, l2Hits: 0, otherHits: 0, misses: 0, errors: 0, pending: 0 }]],
    [
      'hits from L1 and L2 only: no other hits; errors are the L2 errors (not load errors)',
      { conversation: stats({ hits: 5, l1Hits: 3, l2Hits: 2, misses: 4, l2Errors: 1 }) },
      [{ cache: 'conversation', l1Hits: 3, l2Hits: 2, otherHits: 0, misses: 4, errors: 1, pending: 0 }],
    ],
    [
      'stale hits (in hits, in neither tier) are the other hits',
      { 'ai-response': stats({ hits: 10, l1Hits: 4, l2Hits: 1, misses: 2 }) },
      [{ cache: 'ai-response', l1Hits: 4, l2Hits: 1, otherHits: 5, misses: 2, errors: 0, pending: 0 }],
    ],
    [
      'only stale hits',
      { 'ai-response': stats({ hits: 3 }) },
      [{ cache: 'ai-response', l1Hits: 0, l2Hits: 0, otherHits: 3, misses: 0, errors: 0, pending: 0 }],
    ],
    [
      'tier hits above the total (a torn read): other hits never negative',
      { conversation: stats({ hits: 4, l1Hits: 3, l2Hits: 2 }) },
      [{ cache: 'conversation', l1Hits: 3, l2Hits: 2, otherHits: 0, misses: 0, errors: 0, pending: 0 }],
    ],
    [
      'writes waiting for a replay to Redis: the level, as reported',
      { conversation: stats({ hits: 1, l1Hits: 1, pending: 3 }) },
      [{ cache: 'conversation', l1Hits: 1, l2Hits: 0, otherHits: 0, misses: 0, errors: 0, pending: 3 }],
    ],
    [
      'one entry per namespace, by name, in order',
      { conversation: stats({ hits: 1, l1Hits: 1 }), 'tool-result': stats({ misses: 6, l2Errors: 2 }), 'ai-response': stats({ hits: 2, l2Hits: 1 }) },
      [
        { cache: 'conversation', l1Hits: 1, l2Hits: 0, otherHits: 0, misses: 0, errors: 0, pending: 0 },
        { cache: 'tool-result', l1Hits: 0, l2Hits: 0, otherHits: 0, misses: 6, errors: 2, pending: 0 },
        { cache: 'ai-response', l1Hits: 0, l2Hits: 1, otherHits: 1, misses: 0, errors: 0, pending: 0 },
      ],
    ],
  ])('%s', (_, input, expected) => {
    const totals = cacheTotalsOf(input);
    expect(totals).toEqual(expected);
    for (const t of totals) expect(t.otherHits).toBeGreaterThanOrEqual(0);
  });
});

describe('taskEventForMonitor', () => {
  it.each<[TaskEvent, ReturnType<typeof taskEventForMonitor>]>([
    [{ kind: 'submitted', type: 'email', priority: 'high', count: 3 }, { kind: 'submitted', type: 'email', priority: 'high', count: 3 }],
    [{ kind: 'rejected', reason: 'full', count: 2 }, { kind: 'rejected', count: 2 }],
    [{ kind: 'rejected', reason: 'unavailable', count: 1 }, { kind: 'rejected', count: 1 }],
    [{ kind: 'started', type: 'email', priority: 'normal', attempt: 2, waitMs: 40 }, { kind: 'started', type: 'email', priority: 'normal', waitMs: 40 }],
    [{ kind: 'completed', type: 'email', priority: 'low', attempt: 1, runMs: 12 }, { kind: 'completed', type: 'email', priority: 'low', runMs: 12 }],
    [
      { kind: 'failed', type: 'email', priority: 'urgent', attempt: 1, runMs: 5, final: false, error: 'boom' },
      { kind: 'failed', type: 'email', priority: 'urgent', runMs: 5, final: false },
    ],
    [
      { kind: 'failed', type: 'email', priority: 'critical', attempt: 3, runMs: 5, final: true, error: 'boom' },
      { kind: 'failed', type: 'email', priority: 'critical', runMs: 5, final: true },
    ],
    [{ kind: 'released', type: 'email', priority: 'normal' }, { kind: 'released', type: 'email', priority: 'normal' }],
    [{ kind: 'reconciled', requeued: 1, recovered: 2, failed: 0 }, null],
  ])('%j → %j', (event, expected) => {
    expect(taskEventForMonitor(event)).toEqual(expected);
  });
});

// ── EventBridge with fakes ───────────────────────────────────────────────────────────────────────

const ALL_CACHE_EVENTS: readonly CacheEventType[] = ['hit', 'miss', 'error', 'eviction', 'coalesced', 'load'];

/** The engine's `onEvent` (types honoured, idempotent unsubscribe) and `stats()`. */
class FakeCache {
  readonly listeners = new Set<{ listener: CacheEventListener; types: ReadonlySet<CacheEventType> }>();
  /** The `types` argument of each `onEvent` call (undefined: none given). */
  readonly subscriptions: Array<readonly CacheEventType[] | undefined> = [];
  current: Record<string, CacheStats> = {};
  readonly stats = vi.fn((): Record<string, CacheStats> => this.current);
  onEvent(listener: CacheEventListener, types?: readonly CacheEventType[]): () => void {
    this.subscriptions.push(types);
    const entry = { listener, types: new Set(types ?? ALL_CACHE_EVENTS) };
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }
  /** As the engine does: to the listeners that asked for this event's type. */
  emit(event: CacheEvent): void {
    for (const { listener, types } of this.listeners) if (types.has(event.type)) listener(event);
  }
  /** To every listener whatever it asked for: shows what the bridge's listener itself does with an event. */
  emitToAll(event: CacheEvent): void {
    for (const { listener } of this.listeners) listener(event);
  }
}

class FakeTasks {
  readonly listeners = new Set<TaskEventListener>();
  pending = 0;
  readonly store = { pendingCount: vi.fn(async (): Promise<number> => this.pending) };
  onEvent(listener: TaskEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: TaskEvent): void {
    for (const l of this.listeners) l(event);
  }
}

function fakeMonitor() {
  const detachCaches = vi.fn();
  return {
    recordCache: vi.fn(),
    recordQueue: vi.fn(),
    setQueuePending: vi.fn(),
    watchCaches: vi.fn((_read: () => Iterable<CacheTotals>) => detachCaches),
    detachCaches,
  };
}

/** The read function the bridge handed to `watchCaches` (exactly one). */
function watchedRead(monitor: ReturnType<typeof fakeMonitor>): () => Iterable<CacheTotals> {
  expect(monitor.watchCaches).toHaveBeenCalledTimes(1);
  const read = monitor.watchCaches.mock.calls[0]?.[0];
  if (read === undefined) throw new Error('no watchCaches source');
  return read;
}

function bridge(parts: { cache?: FakeCache | null; tasks?: FakeTasks | null; everyMs?: number } = {}) {
  const monitor = fakeMonitor();
  const cache = parts.cache === undefined ? new FakeCache() : parts.cache;
  const tasks = parts.tasks === undefined ? new FakeTasks() : parts.tasks;
  const b = new EventBridge(
    monitor as unknown as PerformanceMonitorService,
    cache as unknown as CacheEngine | null,
    tasks as unknown as TaskProcessor | null,
    parts.everyMs ?? 15_000,
  );
  return { b, monitor, cache, tasks };
}

describe('EventBridge', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('forwards the task events the monitor counts, and nothing else', () => {
    const { b, monitor, tasks } = bridge();
    b.attach();
    tasks?.emit({ kind: 'completed', type: 't', priority: 'normal', attempt: 1, runMs: 3 });
    tasks?.emit({ kind: 'reconciled', requeued: 0, recovered: 0, failed: 0 });
    expect(monitor.recordQueue.mock.calls).toEqual([[{ kind: 'completed', type: 't', priority: 'normal', runMs: 3 }]]);
    expect(monitor.recordCache).not.toHaveBeenCalled();
    b.detachAll();
  });

  it('registers exactly one watchCaches source, which reads cacheTotalsOf(cache.stats()) afresh at each call', () => {
    const { b, monitor, cache } = bridge();
    if (cache === null) throw new Error('no cache');
    b.attach();
    const read = watchedRead(monitor);
    // Attaching reads nothing: the monitor reads when it collects.
    expect(cache.stats).not.toHaveBeenCalled();

    cache.current = { conversation: stats({ hits: 6, l1Hits: 3, l2Hits: 2, misses: 4, l2Errors: 1 }) };
    expect([...read()]).toEqual(cacheTotalsOf(cache.current));
    expect([...read()]).toEqual([{ cache: 'conversation', l1Hits: 3, l2Hits: 2, otherHits: 1, misses: 4, errors: 1, pending: 0 }]);

    cache.current = { conversation: stats({ hits: 9, l1Hits: 5, l2Hits: 2, misses: 4, l2Errors: 1 }), 'tool-result': stats({ misses: 1 }) };
    expect([...read()]).toEqual(cacheTotalsOf(cache.current));
    expect(cache.stats).toHaveBeenCalledTimes(3);
    b.detachAll();
  });

  it('subscribes to error events only, and forwards no hit, miss or L2 error (those come through stats)', () => {
    const { b, monitor, cache } = bridge();
    if (cache === null) throw new Error('no cache');
    b.attach();
    expect(cache.subscriptions).toEqual([['error']]);
    const events: CacheEvent[] = [
      { type: 'hit', cache: 'conversation', tier: 'l1' },
      { type: 'hit', cache: 'conversation', tier: 'l2' },
      { type: 'hit', cache: 'ai-response', tier: 'stale' },
      { type: 'miss', cache: 'conversation' },
      { type: 'error', cache: 'conversation', tier: 'l2', error: 'timeout' },
      { type: 'eviction', cache: 'conversation' },
      { type: 'coalesced', cache: 'conversation', distributed: false },
      { type: 'load', cache: 'conversation', durationMs: 2, ok: true },
    ];
    for (const event of events) cache.emit(event);
    // Even handed every type, the bridge's listener forwards none of these.
    for (const event of events) cache.emitToAll(event);
    expect(monitor.recordCache).not.toHaveBeenCalled();
    b.detachAll();
  });

  it('forwards each invalidation-bus error as one cache error, without its message', () => {
    const { b, monitor, cache } = bridge();
    b.attach();
    cache?.emit({ type: 'error', cache: 'conversation', tier: 'bus', error: 'closed' });
    cache?.emit({ type: 'error', cache: 'tool-result', tier: 'bus', error: 'ECONNRESET' });
    cache?.emit({ type: 'error', cache: 'conversation', tier: 'bus', error: 'closed again' });
    expect(monitor.recordCache.mock.calls).toEqual([
      [{ cache: 'conversation', outcome: 'error' }],
      [{ cache: 'tool-result', outcome: 'error' }],
      [{ cache: 'conversation', outcome: 'error' }],
    ]);
    b.detachAll();
  });

  it('detachAll detaches the watchCaches source once and unsubscribes the cache listener', () => {
    const { b, monitor, cache } = bridge({ tasks: null });
    if (cache === null) throw new Error('no cache');
    b.attach();
    expect(cache.listeners.size).toBe(1);
    expect(monitor.detachCaches).not.toHaveBeenCalled();
    b.detachAll();
    expect(monitor.detachCaches).toHaveBeenCalledTimes(1);
    expect(cache.listeners.size).toBe(0);
    cache.emit({ type: 'error', cache: 'conversation', tier: 'bus', error: 'closed' });
    expect(monitor.recordCache).not.toHaveBeenCalled();
    b.detachAll();
    expect(monitor.detachCaches).toHaveBeenCalledTimes(1);
  });

  it('after detachAll no event reaches the monitor and the listeners are gone', () => {
    const { b, monitor, cache, tasks } = bridge();
    b.attach();
    b.detachAll();
    expect(cache?.listeners.size).toBe(0);
    expect(tasks?.listeners.size).toBe(0);
    cache?.emit({ type: 'miss', cache: 'conversation' });
    cache?.emit({ type: 'error', cache: 'conversation', tier: 'bus', error: 'closed' });
    tasks?.emit({ kind: 'submitted', type: 't', priority: 'normal', count: 1 });
    expect(monitor.detachCaches).toHaveBeenCalledTimes(1);
    expect(monitor.recordCache).not.toHaveBeenCalled();
    expect(monitor.recordQueue).not.toHaveBeenCalled();
  });

  it('reads the backlog on attach, then on the timer, and not after detachAll', async () => {
    const { b, monitor, tasks } = bridge({ everyMs: 1_000 });
    if (tasks === null) throw new Error('no tasks');
    tasks.pending = 7;
    b.attach();
    await vi.waitFor(() => expect(monitor.setQueuePending).toHaveBeenCalledWith(7));
    expect(tasks.store.pendingCount).toHaveBeenCalledTimes(1);

    tasks.pending = 3;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(tasks.store.pendingCount).toHaveBeenCalledTimes(2);
    expect(monitor.setQueuePending).toHaveBeenLastCalledWith(3);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(tasks.store.pendingCount).toHaveBeenCalledTimes(4);

    b.detachAll();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(tasks.store.pendingCount).toHaveBeenCalledTimes(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a failing backlog reading is swallowed; the next one still counts', async () => {
    const { b, monitor, tasks } = bridge({ everyMs: 1_000 });
    if (tasks === null) throw new Error('no tasks');
    tasks.store.pendingCount.mockRejectedValueOnce(new Error('connection refused'));
    b.attach();
    await vi.advanceTimersByTimeAsync(0);
    expect(monitor.setQueuePending).not.toHaveBeenCalled();
    tasks.pending = 2;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(monitor.setQueuePending).toHaveBeenCalledWith(2);
    tasks.store.pendingCount.mockRejectedValueOnce('not even an Error');
    await expect(b.readBacklog()).resolves.toBeUndefined();
    b.detachAll();
  });

  it('without a queue: the cache only, no timer, readBacklog does nothing', async () => {
    const { b, monitor, cache } = bridge({ tasks: null });
    b.attach();
    expect(vi.getTimerCount()).toBe(0);
    expect(monitor.watchCaches).toHaveBeenCalledTimes(1);
    cache?.emit({ type: 'miss', cache: 'x' });
    cache?.emit({ type: 'error', cache: 'x', tier: 'bus', error: 'closed' });
    expect(monitor.recordCache.mock.calls).toEqual([[{ cache: 'x', outcome: 'error' }]]);
    await b.readBacklog();
    expect(monitor.setQueuePending).not.toHaveBeenCalled();
    b.detachAll();
  });

  it('without a cache: task events and backlog only', async () => {
    const { b, monitor, tasks } = bridge({ cache: null });
    b.attach();
    expect(monitor.watchCaches).not.toHaveBeenCalled();
    tasks?.emit({ kind: 'released', type: 't', priority: 'low' });
    expect(monitor.recordQueue).toHaveBeenCalledWith({ kind: 'released', type: 't', priority: 'low' });
    await vi.advanceTimersByTimeAsync(0);
    expect(monitor.setQueuePending).toHaveBeenCalledWith(0);
    b.detachAll();
  });

  it('the backlog timer does not keep the process alive', () => {
    const setInterval = vi.spyOn(globalThis, 'setInterval');
    const { b } = bridge();
    b.attach();
    const timer = setInterval.mock.results[0]?.value as { hasRef(): boolean } | undefined;
    expect(timer?.hasRef()).toBe(false);
    b.detachAll();
    setInterval.mockRestore();
  });

  it('keeps the last backlog reading of each minute for the dashboard\'s depth series, 24 h at most', async () => {
    const start = Date.UTC(2026, 10, 23, 2, 0, 0);
    vi.setSystemTime(start + 5_000);
    const { b, tasks } = bridge();
    if (tasks === null) throw new Error('no tasks');
    expect(b.backlog()).toEqual([]);
    tasks.pending = 4;
    await b.readBacklog();
    vi.setSystemTime(start + 50_000);
    tasks.pending = 6;
    await b.readBacklog();
    vi.setSystemTime(start + 3 * 60_000 + 1);
    tasks.pending = 1;
    await b.readBacklog();
    expect(b.backlog()).toEqual([
      { minute: start, value: 6 },
      { minute: start + 3 * 60_000, value: 1 },
    ]);
    // A failed reading leaves no point.
    tasks.store.pendingCount.mockRejectedValueOnce(new Error('down'));
    vi.setSystemTime(start + 4 * 60_000);
    await b.readBacklog();
    expect(b.backlog()).toHaveLength(2);

    for (let m = 5; m < 5 + 24 * 60; m++) {
      vi.setSystemTime(start + m * 60_000);
      await b.readBacklog();
    }
    const kept = b.backlog();
    expect(kept).toHaveLength(24 * 60);
    expect(kept[0]?.minute).toBe(start + 5 * 60_000);
    expect(kept.at(-1)?.minute).toBe(start + (4 + 24 * 60) * 60_000);
  });

  it('detachAll twice is harmless', () => {
    const { b } = bridge();
    b.attach();
    b.detachAll();
    expect(() => b.detachAll()).not.toThrow();
  });
});
