import type { RunOptions, ScenarioResult } from './bench.types.js';
import { goalVerdict, type GoalResult } from './goals.js';
import type { MachineInfo } from './machine.info.js';
import type { LoadMixFigures } from './mix/mix.figures.js';

const f0 = (n: number | null | undefined): string => (n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(0));
const f1 = (n: number | null | undefined): string => (n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(1));
const pct = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : `${(n * 100).toFixed(0)}%`);
/** Markdown table cells: pipes escaped. */
const cell = (s: string): string => s.replace(/\|/g, '\\|');

function table(header: string[], rows: string[][], alignRight = true): string[] {
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 || !alignRight ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

function hitRate(m: LoadMixFigures, cache: string): string {
  const c = m.caches.find((x) => x.cache === cache);
  return c ? pct(c.hitRate) : '–';
}

function loadSummary(mixes: LoadMixFigures[]): string[] {
  return table(
    ['scenario', 'conn.', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'non-2xx', 'errors', '× hello req/s', 'CPU/req × hello', 'hit: conversation', 'hit: AI response', 'hit: tool result', 'upstream calls', 'tasks done (/s)', 'RSS after, MB', 'loop lag p99 under load, ms'],
    mixes.map((m) => {
      const hello = Object.entries(m.ratios).find(([k]) => k.startsWith('hello'))?.[1];
      const cpu = Object.entries(m.cpuRatios).find(([k]) => k.startsWith('hello'))?.[1];
      return [
        `${m.scenario} (${m.topology})`,
        String(m.connections),
        f0(m.total.requestsPerSec),
        f1(m.total.p50Ms),
        f1(m.total.p95Ms),
        f1(m.total.p99Ms),
        String(m.total.non2xx + m.total.unexpected),
        String(m.driver.errors),
        hello === undefined ? '–' : hello.toFixed(3),
        cpu === undefined ? '–' : `${cpu.toFixed(0)}×`,
        hitRate(m, 'conversation'),
        hitRate(m, 'ai-response'),
        hitRate(m, 'tool-result'),
        String(m.upstream.calls),
        `${m.tasks.completed} (${f1(m.tasks.completedPerSec)})`,
        m.processes.map((p) => f0(p.rssAfterMb)).join(' / '),
        m.processes.map((p) => f1(p.lagLoadP99Ms)).join(' / '),
      ];
    }),
  );
}

function mixSection(m: LoadMixFigures): string[] {
  const lines = [
    `### ${m.scenario}: ${m.connections} connections, ${m.topology}`,
    '',
    `${m.topology === 'single' ? 'One API process (ROLE=all).' : 'Two API processes (ROLE=api), half the connections each, and one worker (ROLE=worker).'}${m.sharedWithPrevious ? ' Same processes and data as the previous level (a ramp).' : ''} ${m.durationSeconds.toFixed(0)} s measured after a warm-up; ${pct(m.repeatShare)} of posted prompts repeat a popular one. Data: ${m.seeded.users} users, ${m.seeded.conversations} conversations, ${m.seeded.messages.toLocaleString('en-US')} messages. Fake model: ${m.upstreamSettings.latencyMs} ms, TTFT ${m.upstreamSettings.timeToFirstTokenMs} ms, ${m.upstreamSettings.tokensPerSecond} tokens/s, ${m.upstreamSettings.replyTokens}-token answers.`,
    '',
    ...table(
      ['operation', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'non-2xx', 'X-Cache HIT / MISS'],
      [...m.operations, m.total].map((o) => [
        o.operation === 'all' ? '**all**' : o.operation,
        String(o.requests),
        f0(o.requestsPerSec),
        f1(o.p50Ms),
        f1(o.p95Ms),
        f1(o.p99Ms),
        String(o.non2xx + o.unexpected),
        o.xCacheHit + o.xCacheMiss > 0 ? `${o.xCacheHit} / ${o.xCacheMiss}` : '',
      ]),
    ),
    '',
    `- baselines at ${m.connections} connections (mean of before and after the mix): ${m.baselines.map((b) => `${b.target} ${f0(b.requestsPerSec)} req/s, p99 ${f1(b.p99Ms)} ms, ${f0(b.cpuUsPerRequest)} µs CPU/request`).join('; ')}`,
    `- ratios: mix ${f0(m.total.requestsPerSec)} req/s = ${Object.entries(m.ratios)
      .map(([k, r]) => `${r.toFixed(3)}× ${k}`)
      .join(', ')}; reads alone ${m.readsToPgPk === null ? '–' : `${m.readsToPgPk.toFixed(3)}×`} pg-pk. API CPU per mix request ${f0(m.cpuUsPerRequest)} µs = ${Object.entries(m.cpuRatios)
      .map(([k, r]) => `${r.toFixed(1)}× ${k}`)
      .join(', ')}`,
    `- cache hit rate (all processes, during the load): ${m.caches.map((c) => `${c.cache} ${pct(c.hitRate)} (${c.hits} / ${c.hits + c.misses})`).join(' · ')}`,
    `- upstream: ${m.upstream.calls} model calls (${m.upstream.streamedCalls} streamed, ${m.upstream.toolCallReplies} answered with a tool call), at most ${m.upstream.maxInFlight} at once`,
    `- tasks: ${m.tasks.submitted} submitted, ${m.tasks.completed} completed during the load (${f1(m.tasks.completedPerSec)}/s), ${m.tasks.failed} failed, ${m.tasks.pendingAtEnd ?? '–'} pending at the end`,
    ...m.processes.map(
      (p) => `- process ${p.label} (${p.role}): RSS ${f0(p.rssBeforeMb)} → ${f0(p.rssAfterMb)} MB; event-loop lag p99 ${f1(p.lagIdleP99Ms)} ms idle → ${f1(p.lagLoadP99Ms)} ms under load; CPU ${p.cpuMs === null ? '–' : `${(p.cpuMs / 1000).toFixed(1)} s`} under load, ${f0(p.idleCpuPercent)}% of a core over the idle second before`,
    ),
  ];
  return lines;
}

function ratioSection(r: ScenarioResult): string[] {
  const others = r.results.filter((t) => t.ratioTo !== undefined).map((t) => `${t.target} ÷ ${t.ratioTo}`);
  return [
    ...table(
      ['target', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'ratio'],
      r.results.map((t) => [
        `${t.role === 'baseline' ? '[baseline] ' : ''}${t.target}`,
        f0(t.requestsPerSec),
        f1(t.p50Ms),
        f1(t.p99Ms),
        String(t.non2xx),
        String(t.errors),
        t.ratio === null ? '1.00' : t.ratio.toFixed(2),
      ]),
    ),
    '',
    `Medians over rounds${r.connections === undefined ? '' : `, ${r.connections} connections`}; ratio = req/s ÷ req/s of ${r.reference} in the same round${others.length > 0 ? `, except ${others.join('; ')}` : ''}.`,
  ];
}

export function renderGoalsMarkdown(goals: readonly GoalResult[]): string[] {
  return [
    '## Goals',
    '',
    'Printed beside the figures, never enforced: a shared 2-core machine moves them from run to run.',
    '',
    ...table(
      ['goal', 'measured', 'from', 'verdict'],
      goals.map((g) => [g.goal, g.value, g.source, g.met === null ? 'not measured' : g.met ? '✅ met' : g.edge === true ? `⚠️ ${goalVerdict(g)}` : `❌ ${goalVerdict(g)}`]),
      false,
    ),
  ];
}

export interface MarkdownContext {
  machine: MachineInfo;
  options: RunOptions;
  results: readonly ScenarioResult[];
  goals: readonly GoalResult[];
  /** Path of the chart, relative to the Markdown file. */
  chartPath: string;
  /** The API build that was measured (commit, and the entry when BENCH_API_ENTRY chose another build). */
  apiEntry?: string;
  elapsedSeconds: number;
}

/** The run as Markdown: settings, the load levels' summary and chart, every scenario, then the goals. */
export function renderMarkdown(ctx: MarkdownContext): string {
  const { machine, options, results } = ctx;
  const mixes = results.flatMap((r) => (r.mix ? [r.mix] : []));
  const topologies = [...new Set(mixes.map((m) => m.topology))];
  const lines: string[] = [
    `Run of ${machine.date}: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.platform}, load average at the start ${machine.loadAverage.join(' ')}; Node ${machine.node}; ${Math.round(ctx.elapsedSeconds)} s in all.`,
    `Settings: ratio scenarios ${options.connections} connections, ${options.warmupSeconds} s warm-up, ${options.rounds} interleaved round(s) of ${options.durationSeconds} s; load scenarios ${options.mixDurationSeconds} s, topology ${topologies.length > 0 ? topologies.join(' and ') : options.topology}, repeat share ${options.repeatShare}.${ctx.apiEntry ? ` API measured: ${ctx.apiEntry}.` : ''}`,
    '',
    `![throughput and p99 per scenario](${ctx.chartPath})`,
    '',
  ];
  if (mixes.length > 0) lines.push('## Load levels', '', ...loadSummary(mixes), '', 'Several figures per cell (RSS, lag) are per process, in the order api-a / api-b / worker for the cluster. Each connection waits for its answer before it sends again, and about one request in ten waits for the model (≈ 0.45 s), so at low connection counts the mix\'s req/s is bound by the model, not the API: its ratio to hello says little there. The CPU ratio (API CPU per mix request ÷ hello\'s CPU per request, both from /proc) is the cost comparison.', '');
  lines.push('## Scenarios', '');
  for (const r of results) {
    lines.push(`### ${r.scenario}${r.mix && topologies.length > 1 ? ` (${r.mix.topology})` : ''}${r.elapsedSeconds === undefined ? '' : ` (${r.elapsedSeconds.toFixed(0)} s)`}`, '', r.description, '');
    if (r.mix) {
      // The heading of mixSection repeats the name: keep only its body.
      lines.push(...mixSection(r.mix).slice(2), '');
    } else if (r.results.length > 0) {
      lines.push(...ratioSection(r), '');
      if (r.notes.length > 0) lines.push('```', ...r.notes, '```', '');
    } else if (r.notes.length > 0) {
      lines.push('```', ...r.notes, '```', '');
    }
    for (const f of r.failures) lines.push(`**FAILED:** ${f}`, '');
  }
  lines.push(...renderGoalsMarkdown(ctx.goals), '');
  return lines.join('\n');
}
