import { describe, expect, it } from 'vitest';
import { cacheDeltas, snapshotOf, taskEventDeltas } from './process.metrics.js';

const text = (hits: number, completed: number): string => `# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 209715200
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
# HELP nodejs_eventloop_lag_p99_seconds The 99th percentile of the recorded event loop delays.
# TYPE nodejs_eventloop_lag_p99_seconds gauge
nodejs_eventloop_lag_p99_seconds 0.0205
# HELP cache_operations_total Cache lookups.
# TYPE cache_operations_total counter
cache_operations_total{cache="conversation",result="miss",tier=""} 10
cache_operations_total{cache="conversation",result="hit",tier="l1"} ${hits}
cache_operations_total{cache="conversation",result="hit",tier="l2"} 5
cache_operations_total{cache="ai-response",result="error",tier=""} 1
# HELP queue_tasks_total Task lifecycle events.
# TYPE queue_tasks_total counter
queue_tasks_total{event="submitted",task_type="chat.reply",priority="normal"} 4
queue_tasks_total{event="completed",task_type="chat.reply",priority="normal"} ${completed}
queue_tasks_total{event="completed",task_type="tool.invoke",priority="high"} 1
`;

describe('process metrics', () => {
  it('reduces a scrape to RSS, loop lag, CPU, cache lookups (tiers summed) and task events', () => {
    const s = snapshotOf(text(20, 3));
    expect(s.rssBytes).toBe(200 * 1024 * 1024);
    expect(s.eventLoopLagP99Ms).toBeCloseTo(20.5);
    expect(s.cpuSeconds).toBe(12.5);
    expect(s.caches.conversation).toEqual({ hit: 25, miss: 10, error: 0 });
    expect(s.caches['ai-response']).toEqual({ hit: 0, miss: 0, error: 1 });
    expect(s.taskEvents).toEqual({ submitted: 4, completed: 4 });
  });

  it('gives the deltas between two scrapes of several processes', () => {
    const before = [snapshotOf(text(20, 3)), snapshotOf(text(0, 0))];
    const after = [snapshotOf(text(50, 8)), snapshotOf(text(10, 2))];
    const conversation = cacheDeltas(before, after).find((c) => c.cache === 'conversation');
    expect(conversation).toEqual({ cache: 'conversation', hits: 40, misses: 0, errors: 0, hitRate: 1 });
    expect(cacheDeltas(before, after).find((c) => c.cache === 'tool-result')?.hitRate).toBeNull();
    expect(taskEventDeltas(before, after)).toEqual({ submitted: 0, completed: 7 });
  });

  it('answers null for what a process does not export', () => {
    const s = snapshotOf('# TYPE up gauge\nup 1\n');
    expect(s).toEqual({ rssBytes: null, eventLoopLagP99Ms: null, cpuSeconds: null, caches: {}, taskEvents: {} });
  });
});
