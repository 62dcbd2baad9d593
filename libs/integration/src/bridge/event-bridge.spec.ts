import type { TaskEvent, TaskEventListener, TaskProcessor } from '@chat/async';
import type { CacheEngine, CacheEvent, CacheEventListener } from '@chat/cache';
import type { PerformanceMonitorService } from '@chat/monitoring';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cacheEventForMonitor, EventBridge, taskEventForMonitor } from './event-bridge.js';

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

class FakeCache {
  readonly listeners = new Set<CacheEventListener>();
  onEvent(listener: CacheEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: CacheEvent): void {
    for (const l of this.listeners) l(event);
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
  return { recordCache: vi.fn(), recordQueue: vi.fn(), setQueuePending: vi.fn() };
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

  it('forwards cache and task events the monitor counts, and nothing else', () => {
    const { b, monitor, cache, tasks } = bridge();
    b.attach();
    cache?.emit({ type: 'hit', cache: 'conversation', tier: 'l1' });
    cache?.emit({ type: 'eviction', cache: 'conversation' });
    tasks?.emit({ kind: 'completed', type: 't', priority: 'normal', attempt: 1, runMs: 3 });
    tasks?.emit({ kind: 'reconciled', requeued: 0, recovered: 0, failed: 0 });
    expect(monitor.recordCache.mock.calls).toEqual([[{ cache: 'conversation', outcome: 'hit', tier: 'l1' }]]);
    expect(monitor.recordQueue.mock.calls).toEqual([[{ kind: 'completed', type: 't', priority: 'normal', runMs: 3 }]]);
    b.detachAll();
  });

  it('hands the monitor one record per cache and outcome, made once: the same object for every hit', () => {
    const { b, monitor, cache } = bridge();
    b.attach();
    cache?.emit({ type: 'hit', cache: 'conversation', tier: 'l1' });
    cache?.emit({ type: 'hit', cache: 'conversation', tier: 'l1' });
    cache?.emit({ type: 'hit', cache: 'conversation', tier: 'l2' });
    cache?.emit({ type: 'hit', cache: 'tool-result', tier: 'l1' });
    cache?.emit({ type: 'error', cache: 'conversation', tier: 'l2', error: 'timeout' });
    cache?.emit({ type: 'error', cache: 'conversation', tier: 'bus', error: 'closed' });
    const [first, second, l2, other, error, busError] = monitor.recordCache.mock.calls.map(([record]) => record as unknown);
    expect(second).toBe(first);
    expect(first).toEqual({ cache: 'conversation', outcome: 'hit', tier: 'l1' });
    expect(l2).toEqual({ cache: 'conversation', outcome: 'hit', tier: 'l2' });
    expect(other).toEqual({ cache: 'tool-result', outcome: 'hit', tier: 'l1' });
    expect(error).toEqual({ cache: 'conversation', outcome: 'error' });
    expect(busError).toBe(error);
    b.detachAll();
  });

  it('after detachAll no event reaches the monitor and the listeners are gone', () => {
    const { b, monitor, cache, tasks } = bridge();
    b.attach();
    b.detachAll();
    expect(cache?.listeners.size).toBe(0);
    expect(tasks?.listeners.size).toBe(0);
    cache?.emit({ type: 'miss', cache: 'conversation' });
    tasks?.emit({ kind: 'submitted', type: 't', priority: 'normal', count: 1 });
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

  it('without a queue: cache events only, no timer, readBacklog does nothing', async () => {
    const { b, monitor, cache } = bridge({ tasks: null });
    b.attach();
    expect(vi.getTimerCount()).toBe(0);
    cache?.emit({ type: 'miss', cache: 'x' });
    expect(monitor.recordCache).toHaveBeenCalledTimes(1);
    await b.readBacklog();
    expect(monitor.setQueuePending).not.toHaveBeenCalled();
    b.detachAll();
  });

  it('without a cache: task events and backlog only', async () => {
    const { b, monitor, tasks } = bridge({ cache: null });
    b.attach();
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
