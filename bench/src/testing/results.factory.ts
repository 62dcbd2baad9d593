/** Test data for the report and goal specs: results shaped as the runner makes them. */
import type { Measurement, RunOptions, ScenarioResult, TargetResult } from '../bench.types.js';
import type { MachineInfo } from '../machine.info.js';
import type { LoadMixFigures } from '../mix/mix.figures.js';
import type { OperationFigures } from '../mix/mix.recorder.js';
import type { SharedCoreRound } from '../scenarios/monitor-overhead-concurrent.figures.js';

export const machine: MachineInfo = { date: '2026-11-23T02:00:00.000Z', node: 'v20.20.2', platform: 'linux x64', cpuModel: 'Test CPU', cpus: 2, memoryGiB: 8, loadAverage: [1, 1, 1] };

export const options: RunOptions = { durationSeconds: 5, warmupSeconds: 3, rounds: 2, connections: 100, topology: 'single', mixDurationSeconds: 30, repeatShare: 0.5 };

export function measurement(requestsPerSec: number, over: Partial<Measurement> = {}): Measurement {
  return { requestsPerSec, p50Ms: 5, p90Ms: 8, p99Ms: 12, maxMs: 20, totalRequests: requestsPerSec * 5, non2xx: 0, errors: 0, timeouts: 0, durationSeconds: 5, ...over };
}

export function target(name: string, rps: number[], over: Partial<TargetResult> = {}): TargetResult {
  return { target: name, role: 'subject', requestsPerSec: rps.reduce((a, b) => a + b, 0) / rps.length, p50Ms: 5, p99Ms: 12, non2xx: 0, errors: 0, timeouts: 0, ratio: null, rounds: rps.map((r) => measurement(r)), ...over };
}

export function scenarioResult(scenario: string, over: Partial<ScenarioResult> = {}): ScenarioResult {
  return { scenario, description: `${scenario} description`, reference: '', results: [], notes: [], failures: [], ...over };
}

export function operation(name: string, requests: number, over: Partial<OperationFigures> = {}): OperationFigures {
  return { operation: name, requests, requestsPerSec: requests / 30, p50Ms: 10, p95Ms: 40, p99Ms: 90, maxMs: 120, non2xx: 0, unexpected: 0, xCacheHit: 0, xCacheMiss: 0, statuses: {}, ...over };
}

export function mixFigures(scenario: string, connections: number, over: Partial<LoadMixFigures> = {}): LoadMixFigures {
  return {
    scenario,
    topology: 'single',
    connections,
    durationSeconds: 30,
    repeatShare: 0.5,
    upstreamSettings: { latencyMs: 200, timeToFirstTokenMs: 50, tokensPerSecond: 200, replyTokens: 40 },
    seeded: { users: 8, conversations: 200, messages: 8000 },
    total: operation('all', 9000, { p99Ms: 800 }),
    operations: [operation('read message page', 6000), operation('post message (repeated prompt)', 3000, { xCacheHit: 2500, xCacheMiss: 500 })],
    driver: { requests: 9000, errors: 0, timeouts: 0, non2xx: 0, durationSeconds: 30 },
    baselines: [
      { target: 'hello (Nest+Fastify)', requestsPerSec: 15000, p50Ms: 5, p99Ms: 10, rounds: [15000, 15000], cpuUsPerRequest: 50 },
      { target: 'pg primary-key SELECT (node:http + pg Pool)', requestsPerSec: 6000, p50Ms: 10, p99Ms: 30, rounds: [6000, 6000], cpuUsPerRequest: 80 },
    ],
    ratios: { 'hello (Nest+Fastify)': 0.02, 'pg primary-key SELECT (node:http + pg Pool)': 0.05 },
    cpuUsPerRequest: 1500,
    cpuRatios: { 'hello (Nest+Fastify)': 30 },
    readsToPgPk: 0.03,
    caches: [
      { cache: 'conversation', hits: 90, misses: 10, errors: 0, hitRate: 0.9 },
      { cache: 'ai-response', hits: 50, misses: 50, errors: 0, hitRate: 0.5 },
      { cache: 'tool-result', hits: 0, misses: 0, errors: 0, hitRate: null },
      { cache: 'api-key', hits: 100, misses: 0, errors: 0, hitRate: 1 },
    ],
    upstream: { calls: 700, streamedCalls: 0, toolCallReplies: 100, maxInFlight: 40 },
    tasks: { submitted: 300, completed: 290, failed: 0, completedPerSec: 9.7, pendingAtEnd: 10 },
    processes: [{ label: 'api', role: 'all', rssBeforeMb: 220, rssAfterMb: 240, lagIdleP99Ms: 11, lagLoadP99Ms: 60, cpuMs: 25_000 }],
    ...over,
  };
}

/**
 * Rounds of `monitor-overhead-concurrent` in which the monitored processes cost `overheads[i]` %
 * more CPU per request than the unmonitored ones (100 µs), every process alike on its side,
 * 1,000 req/s each: the start order rotated as the scenario does.
 */
export function sharedCoreRounds(overheads: number[]): SharedCoreRound[] {
  const order = ['off', 'on', 'on', 'off'] as const;
  return overheads.map((overhead, r) => ({
    round: r + 1,
    processes: order.map((_, i) => {
      const side = order[(i + r) % order.length] ?? 'off';
      // 10,000 requests in 10 s at 100 µs (off) or 100 + overhead µs (on) each.
      return { side, started: i + 1, pid: 100 + i, requests: 10_000, seconds: 10, cpuMs: side === 'on' ? 1000 + overhead * 10 : 1000 };
    }),
  }));
}
