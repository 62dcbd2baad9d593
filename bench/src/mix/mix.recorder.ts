import { percentile } from '../stats.util.js';
import { EXPECTED_STATUS, type OperationName } from './mix.plan.js';

/** One operation's figures over a measured window. */
export interface OperationFigures {
  operation: string;
  requests: number;
  requestsPerSec: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers outside 2xx. */
  non2xx: number;
  /** 2xx answers other than the operation's documented one (e.g. 200 where 201 is expected). */
  unexpected: number;
  /** Answers that carried `X-Cache` (model operations): how many said HIT. */
  xCacheHit: number;
  xCacheMiss: number;
  /** Status → count, for everything that was not the expected status. */
  statuses: Record<string, number>;
}

interface Samples {
  latencies: number[];
  non2xx: number;
  unexpected: number;
  hit: number;
  miss: number;
  statuses: Record<string, number>;
}

/** Collects every response's latency per operation (raw samples: a window holds at most a few hundred thousand). */
export class MixRecorder {
  private readonly byOperation = new Map<string, Samples>();
  private recording = false;

  /** Only responses between start() and stop() count (warm-up responses are dropped). */
  start(): void {
    this.recording = true;
  }

  stop(): void {
    this.recording = false;
  }

  record(operation: OperationName, status: number, ms: number, xCache: string | undefined): void {
    if (!this.recording) return;
    let s = this.byOperation.get(operation);
    if (s === undefined) {
      s = { latencies: [], non2xx: 0, unexpected: 0, hit: 0, miss: 0, statuses: {} };
      this.byOperation.set(operation, s);
    }
    s.latencies.push(ms);
    if (status < 200 || status > 299) s.non2xx++;
    else if (status !== EXPECTED_STATUS[operation]) s.unexpected++;
    if (status !== EXPECTED_STATUS[operation]) s.statuses[String(status)] = (s.statuses[String(status)] ?? 0) + 1;
    if (xCache === 'HIT') s.hit++;
    else if (xCache === 'MISS') s.miss++;
  }

  /** Per-operation figures, most frequent first, then the total (`operation: 'all'`). */
  figures(durationSeconds: number): { operations: OperationFigures[]; total: OperationFigures } {
    const summarise = (operation: string, s: Samples): OperationFigures => ({
      operation,
      requests: s.latencies.length,
      requestsPerSec: s.latencies.length / durationSeconds,
      p50Ms: percentile(s.latencies, 50),
      p95Ms: percentile(s.latencies, 95),
      p99Ms: percentile(s.latencies, 99),
      maxMs: s.latencies.reduce((m, x) => Math.max(m, x), 0),
      non2xx: s.non2xx,
      unexpected: s.unexpected,
      xCacheHit: s.hit,
      xCacheMiss: s.miss,
      statuses: s.statuses,
    });
    const operations = [...this.byOperation.entries()].map(([name, s]) => summarise(name, s)).sort((a, b) => b.requests - a.requests);
    const all: Samples = { latencies: [], non2xx: 0, unexpected: 0, hit: 0, miss: 0, statuses: {} };
    for (const s of this.byOperation.values()) {
      for (const x of s.latencies) all.latencies.push(x);
      all.non2xx += s.non2xx;
      all.unexpected += s.unexpected;
      all.hit += s.hit;
      all.miss += s.miss;
      for (const [k, v] of Object.entries(s.statuses)) all.statuses[k] = (all.statuses[k] ?? 0) + v;
    }
    return { operations, total: summarise('all', all) };
  }
}
