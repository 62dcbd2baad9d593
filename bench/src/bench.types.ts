/**
 * The vocabulary of the bench. A run measures targets: one HTTP request shape
 * each, driven by autocannon. Baselines and scenarios both prepare targets; a
 * scenario's targets are compared with the baseline targets measured in the same
 * run, so a result reads "x times the bare framework on this machine, today".
 */

export interface RunOptions {
  /** Measured seconds per target per round. */
  durationSeconds: number;
  /** Warm-up seconds per target before the first round (JIT, pools and caches settle; not reported). */
  warmupSeconds: number;
  /**
   * Every target is measured once per round, in ABC-CBA order, so that drift in the
   * machine's load (other processes, thermal) hits baseline and subject alike.
   */
  rounds: number;
  connections: number;
}

export interface HttpRequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute URL. */
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface Target {
  /** Shown in the table, e.g. `GET /v1/conversations/:id`. */
  name: string;
  request: HttpRequestSpec;
}

/** Targets ready to measure and how to release what was started for them. */
export interface Prepared {
  targets: Target[];
  teardown(): Promise<void>;
}

/** A reference system measured in the same run, e.g. a bare Nest-on-Fastify route. */
export interface Baseline {
  name: string;
  description: string;
  prepare(): Promise<Prepared>;
}

export interface Scenario {
  name: string;
  description: string;
  /** Baseline names (see the baseline registry); every ratio uses the first one's first target. */
  baselines: string[];
  prepare(): Promise<Prepared>;
}

/** One autocannon run of one target. */
export interface Measurement {
  requestsPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  totalRequests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSeconds: number;
}

export interface TargetResult {
  target: string;
  role: 'baseline' | 'subject';
  /** Medians over the rounds. */
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Sums over the rounds. */
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Median over the rounds of (req/s ÷ the reference's req/s in the same round); null for the reference itself. */
  ratio: number | null;
  rounds: Measurement[];
}

export interface ScenarioResult {
  scenario: string;
  description: string;
  /** Name of the target the ratios refer to. */
  reference: string;
  results: TargetResult[];
  /** Why the scenario could not run or is not valid (failed start, non-2xx, errors); empty when fine. */
  failures: string[];
}
