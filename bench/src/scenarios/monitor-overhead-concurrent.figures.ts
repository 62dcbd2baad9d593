import { mean, median, standardDeviation, standardError } from '../stats.util.js';

/**
 * The arithmetic of `monitor-overhead-concurrent` (pure, so that the goals and a re-rendered
 * report compute exactly what the scenario printed): API processes measured at the same time on
 * one shared core, compared by their CPU time per request.
 */

/** Issue 5's goal: the monitor costs at most 5% on a cached read. Printed, never enforced. */
export const MONITOR_OVERHEAD_GOAL = 0.05;

/** One API process over one round's measured window. */
export interface SharedCoreProcess {
  /** Monitor as deployed (`on`) or `MONITOR=off`. */
  side: 'on' | 'off';
  /** Its place in the round's start order, from 1. */
  started: number;
  pid: number;
  /** Requests answered in the window (every one a 200), and the seconds its load generator ran. */
  requests: number;
  seconds: number;
  /** CPU time (user + system, all threads) the process used over the window, ms (/proc/<pid>/stat). */
  cpuMs: number;
}

/** One round: fresh processes, measured side by side. */
export interface SharedCoreRound {
  round: number;
  processes: SharedCoreProcess[];
}

export const cpuUsPerRequest = (p: SharedCoreProcess): number => (p.cpuMs * 1000) / p.requests;
export const requestsPerSecond = (p: SharedCoreProcess): number => p.requests / p.seconds;

export interface RoundFigures {
  round: number;
  /** Mean CPU µs per request of the monitored processes ÷ that of the unmonitored ones (> 1: the monitor costs). */
  cpuRatio: number;
  /** Mean req/s of the monitored processes ÷ that of the unmonitored ones. */
  rpsRatio: number;
  /**
   * The A/A comparisons of the round, CPU per request: the unmonitored process started first ÷ the
   * one started second, and the same of the monitored ones (NaN with fewer than two on a side).
   */
  aaOff: number;
  aaOn: number;
}

function side(round: SharedCoreRound, which: 'on' | 'off'): SharedCoreProcess[] {
  return round.processes.filter((p) => p.side === which).sort((a, b) => a.started - b.started);
}

function aa(processes: readonly SharedCoreProcess[]): number {
  const [first, second] = processes;
  return first === undefined || second === undefined ? Number.NaN : cpuUsPerRequest(first) / cpuUsPerRequest(second);
}

export function roundFigures(round: SharedCoreRound): RoundFigures {
  const on = side(round, 'on');
  const off = side(round, 'off');
  return {
    round: round.round,
    cpuRatio: mean(on.map(cpuUsPerRequest)) / mean(off.map(cpuUsPerRequest)),
    rpsRatio: mean(on.map(requestsPerSecond)) / mean(off.map(requestsPerSecond)),
    aaOff: aa(off),
    aaOn: aa(on),
  };
}

/**
 * The verdict against the goal, from the mean overhead over rounds and its standard error:
 * - `met` when even the mean plus two standard errors is within the goal;
 * - `NOT met` when even the mean minus two standard errors exceeds it;
 * - `at the edge` otherwise (the goal lies within the measurement's own uncertainty), and with a
 *   single round, which has no standard error.
 * Two standard errors: about 95% of such means fall within them of the true overhead.
 */
export type OverheadVerdict = 'met' | 'NOT met' | 'at the edge';

export function overheadVerdict(meanOverhead: number, se: number, goal = MONITOR_OVERHEAD_GOAL): OverheadVerdict {
  if (!Number.isFinite(meanOverhead) || !Number.isFinite(se)) return 'at the edge';
  if (meanOverhead + 2 * se <= goal) return 'met';
  if (meanOverhead - 2 * se > goal) return 'NOT met';
  return 'at the edge';
}

export interface OverheadSummary {
  rounds: number;
  /** Per round: cpuRatio − 1, the monitor's extra CPU per request. */
  perRound: number[];
  mean: number;
  median: number;
  /** Standard deviation of `perRound` (one round's spread) and the standard error of `mean`. */
  sd: number;
  se: number;
  /** Mean over rounds of the rounds' req/s ratios. */
  rpsRatio: number;
  /** Standard deviation over rounds of each A/A ratio − 1: the floor, what comparing alike processes reads. */
  aaOffSd: number;
  aaOnSd: number;
  verdict: OverheadVerdict;
}

export function summariseRounds(rounds: readonly SharedCoreRound[], goal = MONITOR_OVERHEAD_GOAL): OverheadSummary {
  const figures = rounds.map(roundFigures);
  const perRound = figures.map((f) => f.cpuRatio - 1);
  const m = mean(perRound);
  const se = standardError(perRound);
  return {
    rounds: figures.length,
    perRound,
    mean: m,
    median: median(perRound),
    sd: standardDeviation(perRound),
    se,
    rpsRatio: mean(figures.map((f) => f.rpsRatio)),
    aaOffSd: standardDeviation(figures.map((f) => f.aaOff - 1)),
    aaOnSd: standardDeviation(figures.map((f) => f.aaOn - 1)),
    verdict: overheadVerdict(m, se, goal),
  };
}

export const percent = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');
export const signedPercent = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${percent(Math.abs(x))}` : '–');

/** "CPU per request +4.6% (median +4.3%, SE 0.8%); req/s 0.95×; A/A floor: off/off sd 0.9%, on/on sd 2.1%" */
export function describeOverhead(s: OverheadSummary): string {
  return `CPU per request ${signedPercent(s.mean)} (median ${signedPercent(s.median)}, SE ${percent(s.se)}); req/s ${Number.isFinite(s.rpsRatio) ? s.rpsRatio.toFixed(2) : '–'}×; A/A floor: off/off sd ${percent(s.aaOffSd)}, on/on sd ${percent(s.aaOnSd)}`;
}
