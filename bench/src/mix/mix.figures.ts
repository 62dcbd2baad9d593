import type { DriverTotals } from './mix.driver.js';
import type { OperationFigures } from './mix.recorder.js';
import type { CacheDelta } from './process.metrics.js';
import type { Topology } from './mix.topology.js';

export interface BaselineFigures {
  target: string;
  /** Mean of the measurement before and the one after the mix. */
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  rounds: number[];
  /** CPU (user + system) of the baseline's process per request, µs; null without /proc. */
  cpuUsPerRequest: number | null;
}

export interface ProcessFigures {
  label: string;
  role: string;
  rssBeforeMb: number | null;
  rssAfterMb: number | null;
  /** Event-loop delay p99 over one idle second before the load, and over the load. */
  lagIdleP99Ms: number | null;
  lagLoadP99Ms: number | null;
  /** User + system CPU during the load, from /proc (null elsewhere). */
  cpuMs: number | null;
  /** CPU used over the idle second before the load (background work: timers, sampling, reconciliation), % of one core. */
  idleCpuPercent?: number | null;
}

/** Everything a load-mix scenario measured: the Markdown report, the chart and the goals read it. */
export interface LoadMixFigures {
  scenario: string;
  topology: Topology;
  /** Run on the deployment (processes, data, caches) of the previous load level of the run. */
  sharedWithPrevious?: boolean;
  connections: number;
  durationSeconds: number;
  repeatShare: number;
  upstreamSettings: { latencyMs: number; timeToFirstTokenMs: number; tokensPerSecond: number; replyTokens: number };
  seeded: { users: number; conversations: number; messages: number };
  total: OperationFigures;
  operations: OperationFigures[];
  driver: DriverTotals;
  baselines: BaselineFigures[];
  /** Total mix req/s ÷ each baseline's req/s at the same connections (by baseline target name). */
  ratios: Record<string, number>;
  /** CPU of every API process (worker included) during the mix per mix request, µs; null without /proc. */
  cpuUsPerRequest: number | null;
  /** That ÷ each baseline's CPU per request (by baseline target name): what a mix request costs in bare requests. */
  cpuRatios: Record<string, number>;
  /** Reads only (list, conversation, page): their req/s ÷ the pg primary-key baseline, as a DB-bound comparison. */
  readsToPgPk: number | null;
  caches: CacheDelta[];
  upstream: { calls: number; streamedCalls: number; toolCallReplies: number; maxInFlight: number };
  tasks: { submitted: number; completed: number; failed: number; completedPerSec: number; pendingAtEnd: number | null };
  processes: ProcessFigures[];
}
