import type { ScenarioResult, TargetResult } from './bench.types.js';
import { MONITOR_OVERHEAD_GOAL, describeOverhead, summariseRounds, type SharedCoreRound } from './scenarios/monitor-overhead-concurrent.figures.js';
import { abbaHalves, median, medianRatioOfMeans } from './stats.util.js';

/** One of the issue's goals, as measured in this run: printed beside the figures, never enforced. */
export interface GoalResult {
  goal: string;
  /** Where the figure comes from (scenario). */
  source: string;
  /** The measured figure, in words. */
  value: string;
  /** true met, false not met, null not measured in this run (scenario not run or failed). */
  met: boolean | null;
  /**
   * Measured, but the goal lies within the figure's own uncertainty: neither met nor NOT met can be
   * said (`met` is then false: the goal is not shown met).
   */
  edge?: boolean;
}

const x = (n: number): string => `${n.toFixed(2)}×`;

function scenario(results: readonly ScenarioResult[], name: string): ScenarioResult | undefined {
  const r = results.find((s) => s.scenario === name);
  return r && (r.results.length > 0 || r.data !== undefined) ? r : undefined;
}

/** Median over rounds of a's req/s ÷ b's req/s in the same round. */
function roundRatio(a: TargetResult, b: TargetResult): number {
  return median(a.rounds.map((m, i) => m.requestsPerSec / (b.rounds[i]?.requestsPerSec ?? Number.NaN)));
}

const notMeasured = (goal: string, source: string): GoalResult => ({ goal, source, value: 'not measured in this run', met: null });

function conversationRead(results: readonly ScenarioResult[]): GoalResult {
  const goal = 'cached conversation read ≥ 0.6× hello';
  const s = scenario(results, 'conversation-read');
  const read = s?.results.find((r) => r.role === 'subject' && r.target.startsWith('GET /v1/conversations/:id ') && r.ratio !== null);
  if (!s || !read || read.ratio === null) return notMeasured(goal, 'conversation-read');
  return { goal, source: 'conversation-read', value: `${x(read.ratio)} (${read.requestsPerSec.toFixed(0)} req/s)`, met: read.ratio >= 0.6 };
}

function aiCache(results: readonly ScenarioResult[]): GoalResult {
  const goal = 'cached completion ≥ 0.5× hello';
  const s = scenario(results, 'ai-cache');
  const cached = s?.results.find((r) => r.role === 'subject' && r.target.includes('cached'));
  const hello = s?.results.find((r) => r.target.startsWith('hello'));
  if (!s || !cached || !hello) return notMeasured(goal, 'ai-cache');
  const r = roundRatio(cached, hello);
  return { goal, source: 'ai-cache', value: `${x(r)} (${cached.requestsPerSec.toFixed(0)} vs ${hello.requestsPerSec.toFixed(0)} req/s)`, met: r >= 0.5 };
}

function singleFlight(results: readonly ScenarioResult[]): GoalResult {
  const goal = 'one upstream call per burst of identical cold prompts';
  const s = scenario(results, 'single-flight');
  const prompts = (s?.data as { burst?: number; prompts?: Array<{ upstreamCalls: number }> } | undefined)?.prompts;
  if (!s || !prompts || prompts.length === 0) return notMeasured(goal, 'single-flight');
  const burst = (s.data as { burst?: number }).burst ?? 0;
  return {
    goal,
    source: 'single-flight',
    value: `${prompts.map((p) => p.upstreamCalls).join(', ')} call(s) for bursts of ${burst}`,
    met: prompts.every((p) => p.upstreamCalls === 1),
  };
}

function taskThroughput(results: readonly ScenarioResult[]): GoalResult {
  const goal = 'tasks ≥ 0.5× raw BullMQ';
  const s = scenario(results, 'task-throughput');
  const runs = (s?.data as { runs?: Array<{ side: string; round: number; perSec: number }> } | undefined)?.runs;
  if (!s || !runs || runs.length === 0) return notMeasured(goal, 'task-throughput');
  const rounds = [...new Set(runs.map((r) => r.round))];
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const r = median(
    rounds.map((round) => {
      const of = (side: string): number => mean(runs.filter((x) => x.round === round && x.side === side).map((x) => x.perSec));
      return of('ours') / of('raw');
    }),
  );
  return { goal, source: 'task-throughput', value: x(r), met: r >= 0.5 };
}

function monitorOverhead(results: readonly ScenarioResult[]): GoalResult {
  const goal = 'monitor overhead ≤ 5% (req/s; pairs measured in turn, ABBA)';
  const s = scenario(results, 'monitor-overhead');
  // Targets are named `<route>, monitor on …` and `<route>, MONITOR=off …`, one per process, listed
  // in the order they started. Per route and round, the monitored processes' mean req/s ÷ the
  // unmonitored ones'; the median over rounds. The same ratio between the unmonitored side's two
  // halves (ABBA) is the run's floor, printed beside. An A/A run names its subjects `A/A twin`:
  // nothing is monitored, nothing to judge.
  const routes = new Map<string, { on: TargetResult[]; off: TargetResult[] }>();
  for (const r of s?.results ?? []) {
    const comma = r.target.indexOf(', ');
    if (comma < 0) continue;
    const side = r.target.includes('monitor on') ? 'on' : r.target.includes('MONITOR=off') && !r.target.includes('A/A') ? 'off' : null;
    if (side === null) continue;
    const route = r.target.slice(0, comma);
    const entry = routes.get(route) ?? { on: [], off: [] };
    entry[side].push(r);
    routes.set(route, entry);
  }
  const measured = [...routes].filter(([, sides]) => sides.on.length > 0 && sides.off.length > 0);
  if (!s || measured.length === 0) return notMeasured(goal, 'monitor-overhead');
  const overheads = measured.map(([route, sides]) => {
    const [halfA, halfB] = abbaHalves(sides.off);
    const floor = halfA.length > 0 ? 1 - medianRatioOfMeans(halfA, halfB) : null;
    return { route, floor, overhead: 1 - medianRatioOfMeans(sides.on, sides.off) };
  });
  const worst = Math.max(...overheads.map((o) => o.overhead));
  return {
    goal,
    source: 'monitor-overhead',
    value:
      overheads.map((o) => `${(o.overhead * 100).toFixed(1)}%`).join(', ') +
      ` (per route; worst ${(worst * 100).toFixed(1)}%` +
      // The same comparison between the two halves of the unmonitored side: the run's noise.
      (overheads.every((o) => o.floor !== null) ? `; A/A floor ${overheads.map((o) => `${((o.floor ?? 0) * 100).toFixed(1)}%`).join(', ')})` : ')'),
    met: worst <= MONITOR_OVERHEAD_GOAL,
  };
}

function monitorOverheadConcurrent(results: readonly ScenarioResult[]): GoalResult {
  const goal = 'monitor overhead ≤ 5% (CPU per request; on and off side by side on one core)';
  const source = 'monitor-overhead-concurrent';
  const s = scenario(results, source);
  const data = s?.data as { skipped?: string; rounds?: SharedCoreRound[] } | undefined;
  // Skipped (no taskset, one CPU, no PostgreSQL): say why.
  if (data?.skipped !== undefined) return { goal, source, value: `not measured: ${data.skipped}`, met: null };
  if (!s || !data?.rounds || data.rounds.length === 0) return notMeasured(goal, source);
  // Judged from the raw rounds, with the scenario's own arithmetic (mean ± 2 SE against 5%).
  const summary = summariseRounds(data.rounds);
  return {
    goal,
    source,
    value: `${describeOverhead(summary)}; ${summary.rounds} round${summary.rounds === 1 ? '' : 's'} of ${data.rounds[0]?.processes.length ?? 0} processes`,
    met: summary.verdict === 'met',
    ...(summary.verdict === 'at the edge' ? { edge: true } : {}),
  };
}

function pageDepth(results: readonly ScenarioResult[]): GoalResult {
  const goal = 'page of 50 messages at 100,000 messages ≤ 1.5× its latency at 100 (p50)';
  const s = scenario(results, 'message-page-depth');
  const data = s?.data as { ratios?: { first: number; deep: number }; goal?: number } | null | undefined;
  if (!s || !data?.ratios) return notMeasured(goal, 'message-page-depth');
  const { first, deep } = data.ratios;
  return { goal, source: 'message-page-depth', value: `first page ${x(first)}, deep page (before=) ${x(deep)}`, met: first <= 1.5 && deep <= 1.5 };
}

function rssAfterStress(results: readonly ScenarioResult[]): GoalResult {
  const goal = 'RSS ≤ 250 MB after stress';
  // Every stress run of the report (a single and a cluster one, when rendered together): the worst process.
  const mixes = results.filter((r) => r.scenario === 'stress').flatMap((r) => (r.mix ? [r.mix] : []));
  const rss = mixes.flatMap((m) => m.processes.filter((p) => p.rssAfterMb !== null).map((p) => ({ ...p, label: mixes.length > 1 ? `${m.topology} ${p.label}` : p.label })));
  if (mixes.length === 0 || rss.length === 0) return notMeasured(goal, 'stress');
  const worst = Math.max(...rss.map((p) => p.rssAfterMb ?? 0));
  return { goal, source: `stress (${[...new Set(mixes.map((m) => m.topology))].join(', ')})`, value: rss.map((p) => `${p.label} ${(p.rssAfterMb ?? 0).toFixed(0)} MB`).join(', '), met: worst <= 250 };
}

/** The issue's goals, evaluated from this run's results (only what ran is judged). */
export function evaluateGoals(results: readonly ScenarioResult[]): GoalResult[] {
  return [conversationRead, aiCache, singleFlight, taskThroughput, monitorOverhead, monitorOverheadConcurrent, pageDepth, rssAfterStress].map((g) => g(results));
}

export function goalVerdict(g: GoalResult): string {
  if (g.met === null) return 'not measured';
  if (g.edge === true) return 'at the edge';
  return g.met ? 'met' : 'NOT met';
}

/** ✓ met, ✗ NOT met, ~ at the edge, · not measured. */
function goalMark(g: GoalResult): string {
  if (g.met === null) return '·';
  if (g.edge === true) return '~';
  return g.met ? '✓' : '✗';
}

/** The goals as plain text lines (stdout). */
export function renderGoalLines(goals: readonly GoalResult[]): string[] {
  return ['', '== goals (printed, never enforced)', ...goals.map((g) => `${goalMark(g)} ${g.goal}: ${g.value} [${g.source}] → ${goalVerdict(g)}`)];
}
