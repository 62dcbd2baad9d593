import type { LoadMixFigures } from './mix/mix.figures.js';
import type { Topology } from './mix/mix.topology.js';

/**
 * The vocabulary of the bench. A run measures targets: one HTTP request shape
 * each, driven by autocannon. Baselines and scenarios both prepare targets; a
 * scenario's targets are compared with the baseline targets measured in the same
 * run, so a result reads "x times the bare framework on this machine, today".
 */

export interface RunOptions {
  /** Measured seconds per target per round. */
  durationSeconds: number;
  /**
   * Whether the command line set `--duration`: a scenario with a measured window of its own
   * (`monitor-overhead-concurrent`) takes `durationSeconds` only then. Absent in older reports.
   */
  durationSet?: boolean;
  /** Warm-up seconds per target before the first round (JIT, pools and caches settle; not reported). */
  warmupSeconds: number;
  /**
   * Every target is measured once per round, in ABC-CBA order, so that drift in the
   * machine's load (other processes, thermal) hits baseline and subject alike.
   */
  rounds: number;
  connections: number;
  /** How the load scenarios (light … stress) deploy the API: one process, or two API processes and a worker. */
  topology: Topology;
  /** Measured seconds of each load scenario's mix. */
  mixDurationSeconds: number;
  /** Share (0..1) of the prompts posted by the load scenarios that repeat a popular one (AI-response cache hits). */
  repeatShare: number;
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
  /**
   * A scenario's own target that the scenario's ratios refer to instead of its first baseline
   * (e.g. the same request without cache). Shown as a baseline; at most one per scenario.
   */
  reference?: boolean;
  /**
   * Name of another target of the same scenario that this target's ratio divides by, round by round,
   * instead of the scenario's reference (e.g. the same route on a second process, when a scenario
   * compares two processes on several routes). Default: the reference.
   */
  ratioTo?: string;
  /**
   * The process serving the target, when the scenario started it: the runner then records the CPU
   * time it used during each measurement (`Measurement.serverCpuMs`; Linux only), a cost per
   * request that a shared machine disturbs far less than req/s.
   */
  serverPid?: number;
  /** autocannon's per-request timeout, in seconds (default 10); must exceed the target's slowest expected answer. */
  timeoutSeconds?: number;
}

/** Targets ready to measure and how to release what was started for them. */
export interface Prepared {
  targets: Target[];
  /**
   * Runs after the measured rounds, before teardown: checks that what was measured is what the
   * label says (say, every cached answer still a HIT). Gets the scenario's results (figures and raw
   * rounds, e.g. how many requests were measured). Returns lines shown under the table; throws when
   * the measurement is not valid.
   */
  verify?(results: readonly TargetResult[]): Promise<string[]>;
  teardown(): Promise<void>;
}

/** A reference system measured in the same run, e.g. a bare Nest-on-Fastify route. */
export interface Baseline {
  name: string;
  description: string;
  prepare(): Promise<Prepared>;
}

/** Driven by autocannon: targets measured in interleaved rounds, reported as ratios. */
export interface LoadScenario {
  kind?: 'load';
  name: string;
  description: string;
  /**
   * Baseline names (see the baseline registry); every ratio uses the first one's first target,
   * unless one of the scenario's own targets is marked `reference`.
   */
  baselines: string[];
  /** Connections for this scenario's targets instead of the run's `--connections` (e.g. a latency comparison at low concurrency). */
  connections?: number;
  /** `options` is what the run will apply (e.g. to name the connection count in a label). */
  prepare(options: RunOptions): Promise<Prepared>;
}

/** What a figure scenario gets from the runner. */
export interface FigureContext {
  options: RunOptions;
  progress: (line: string) => void;
  /** Registers a teardown so that Ctrl-C still stops what the scenario started; the returned function runs it now. */
  onCleanup: (teardown: () => Promise<void>) => () => Promise<void>;
  /** A baseline of the run (started once, shared with the other scenarios), to measure in the scenario's own way. */
  baseline: (name: string) => Promise<Prepared>;
}

/** What a figure scenario measured: lines for the report, raw data for the JSON, and what went wrong. */
export interface FigureOutcome {
  lines: string[];
  data: unknown;
  failures: string[];
  /** A load-mix scenario's figures, for the Markdown report, the chart and the goals. */
  mix?: LoadMixFigures;
}

/**
 * Not a throughput figure: the scenario drives its own requests (e.g. one burst of identical
 * requests) and reports counts and latencies. Never compared with a baseline.
 */
export interface FigureScenario {
  kind: 'figure';
  name: string;
  description: string;
  run(context: FigureContext): Promise<FigureOutcome>;
}

export type Scenario = LoadScenario | FigureScenario;

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
  /** CPU time (user + system) of `Target.serverPid` during this measurement, ms; absent without a pid or /proc. */
  serverCpuMs?: number;
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
  /** The target `ratio` divides by when it is not the scenario's reference (`Target.ratioTo`). */
  ratioTo?: string;
  rounds: Measurement[];
}

export interface ScenarioResult {
  scenario: string;
  description: string;
  /** Name of the target the ratios refer to. */
  reference: string;
  results: TargetResult[];
  /** Lines shown under the table: a load scenario's `verify` output, or a figure scenario's whole report. */
  notes: string[];
  /** A figure scenario's raw data (for the JSON report). */
  data?: unknown;
  /** A load-mix scenario's figures (also in `data`). */
  mix?: LoadMixFigures;
  /** Connections the scenario's targets were measured with. */
  connections?: number;
  /** Wall-clock seconds the scenario took, setup and teardown included. */
  elapsedSeconds?: number;
  /** Why the scenario could not run or is not valid (failed start, non-2xx, errors); empty when fine. */
  failures: string[];
}
