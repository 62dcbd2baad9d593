import { setTimeout as sleep } from 'node:timers/promises';
import { measureOnce } from '../autocannon.measure.js';
import type { FigureContext, FigureOutcome, FigureScenario, Target } from '../bench.types.js';
import { processCpuMs } from '../process.cpu.js';
import { driveMix } from '../mix/mix.driver.js';
import type { BaselineFigures, LoadMixFigures, ProcessFigures } from '../mix/mix.figures.js';
import { mixWeights } from '../mix/mix.plan.js';
import { MixRecorder, type OperationFigures } from '../mix/mix.recorder.js';
import { seedMix, type Seeded } from '../mix/mix.seed.js';
import { deploy, type Deployment, type Topology } from '../mix/mix.topology.js';
import { cacheDeltas, taskEventDeltas, type ProcessSnapshot } from '../mix/process.metrics.js';

/** The fake model for answers that are not cached: 200 ms to the headers, 50 ms to the first token, 200 tokens/s, 40-token answers (≈ 0.45 s). */
export const MIX_UPSTREAM = { latencyMs: 200, timeToFirstTokenMs: 50, tokensPerSecond: 200, replyTokens: 40 };
const SEED = { users: 8, conversationsPerUser: 25, messagesPerConversation: 40 };
/** Per worker process: model answers wait ≈ 0.45 s, so more than the default 8 at once. */
const TASK_CONCURRENCY = 32;
const READ_OPERATIONS = new Set(['list conversations', 'get conversation', 'read message page']);

const mb = (bytes: number | null | undefined): number | null => (bytes === null || bytes === undefined ? null : bytes / 1024 ** 2);
const f0 = (n: number | null | undefined): string => (n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(0));
const f1 = (n: number | null | undefined): string => (n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(1));
const pct = (n: number | null): string => (n === null ? '-' : `${(n * 100).toFixed(1)}%`);

function operationTable(rows: OperationFigures[]): string[] {
  const header = ['operation', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'non-2xx', 'X-Cache HIT/MISS'];
  const cells = rows.map((r) => [
    r.operation,
    String(r.requests),
    f0(r.requestsPerSec),
    f1(r.p50Ms),
    f1(r.p95Ms),
    f1(r.p99Ms),
    String(r.non2xx + r.unexpected),
    r.xCacheHit + r.xCacheMiss > 0 ? `${r.xCacheHit}/${r.xCacheMiss}` : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]?.length ?? 0)));
  const row = (c: string[]): string => `  ${c.map((x, i) => (i === 0 ? x.padEnd(widths[i] ?? 0) : x.padStart(widths[i] ?? 0))).join('  ')}`;
  return [row(header), ...cells.map(row)];
}

/** The report lines of one load-mix scenario. */
export function describeMix(m: LoadMixFigures): string[] {
  const lines = [
    `topology ${m.topology} (${m.topology === 'single' ? 'one process, ROLE=all' : 'two ROLE=api processes, half the connections each, and one ROLE=worker'}), ${m.connections} connections, ${m.durationSeconds} s measured; ${pct(m.repeatShare)} of posted prompts repeat a popular one`,
    `data: ${m.seeded.users} users, ${m.seeded.conversations} conversations, ${m.seeded.messages} messages; model: ${m.upstreamSettings.latencyMs} ms latency, TTFT ${m.upstreamSettings.timeToFirstTokenMs} ms, ${m.upstreamSettings.tokensPerSecond} tokens/s, ${m.upstreamSettings.replyTokens}-token answers`,
    ...operationTable([...m.operations, m.total]),
    `  autocannon: ${m.driver.requests} responses, ${m.driver.errors} errors (${m.driver.timeouts} timeouts), ${m.driver.non2xx} non-2xx`,
    `baselines at ${m.connections} connections (mean of before and after the mix): ${m.baselines.map((b) => `${b.target} ${f0(b.requestsPerSec)} req/s (p50 ${f1(b.p50Ms)} ms, p99 ${f1(b.p99Ms)} ms)`).join('; ')}`,
    `ratios: mix total ${f0(m.total.requestsPerSec)} req/s = ${Object.entries(m.ratios)
      .map(([name, r]) => `${r.toFixed(2)}× ${name}`)
      .join(', ')}; reads alone ${m.readsToPgPk === null ? '-' : `${m.readsToPgPk.toFixed(2)}×`} pg primary-key SELECT`,
    `API CPU per mix request (all processes, user + system): ${m.cpuUsPerRequest === null ? '-' : `${m.cpuUsPerRequest.toFixed(0)} µs`}${Object.entries(m.cpuRatios)
      .map(([name, r]) => `; ${r.toFixed(1)}× ${name} (${f0(m.baselines.find((b) => b.target === name)?.cpuUsPerRequest)} µs)`)
      .join('')}`,
    `cache hit rate during the load: ${m.caches.map((c) => `${c.cache} ${pct(c.hitRate)} (${c.hits}/${c.hits + c.misses}${c.errors > 0 ? `, ${c.errors} errors` : ''})`).join(' · ')}`,
    `upstream (fake model): ${m.upstream.calls} calls (${m.upstream.streamedCalls} streamed, ${m.upstream.toolCallReplies} answered with a tool call), at most ${m.upstream.maxInFlight} at once`,
    `tasks: ${m.tasks.submitted} submitted, ${m.tasks.completed} completed during the load (${f1(m.tasks.completedPerSec)}/s), ${m.tasks.failed} failed; pending at the end: ${m.tasks.pendingAtEnd ?? '-'}`,
    ...m.processes.map(
      (p) =>
        `process ${p.label} (${p.role}): RSS ${f0(p.rssBeforeMb)} → ${f0(p.rssAfterMb)} MB; event-loop lag p99 idle ${f1(p.lagIdleP99Ms)} ms → under load ${f1(p.lagLoadP99Ms)} ms; CPU ${p.cpuMs === null ? '-' : `${(p.cpuMs / 1000).toFixed(1)} s`} under load, ${f0(p.idleCpuPercent)}% of a core idle`,
    ),
  ];
  return lines;
}

/**
 * The load levels of one run share one deployment, started by the first of them and kept until
 * the run ends (the runner's cleanup stack stops it): run in order, light → stress is a ramp on
 * one deployment, as a production service sees it, and the run spares three starts and seedings.
 * Every level's figures are deltas over its own measured window.
 */
let shared: { topology: Topology; deployment: Deployment; seeded: Seeded } | null = null;

async function healthy(d: Deployment): Promise<boolean> {
  const ready = await Promise.all(
    d.processes.map(async (p) => {
      try {
        const res = await fetch(`${p.api.url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
        await res.body?.cancel();
        return res.ok;
      } catch {
        return false;
      }
    }),
  );
  return ready.every(Boolean);
}

async function sharedDeployment(
  name: string,
  topology: Topology,
  progress: (line: string) => void,
  onCleanup: FigureContext['onCleanup'],
): Promise<{ deployment: Deployment; seeded: Seeded; reused: boolean }> {
  if (shared !== null && shared.topology === topology && (await healthy(shared.deployment))) return { ...shared, reused: true };
  if (shared !== null) {
    const old = shared.deployment;
    shared = null;
    await old.stop().catch((err: Error) => progress(`${name}: stopping the previous deployment: ${err.message}`));
  }
  progress(`${name}: deploying the API (${topology}) and the fake model`);
  const deployment = await deploy({ topology, upstream: MIX_UPSTREAM, taskConcurrency: TASK_CONCURRENCY });
  onCleanup(async () => {
    if (shared?.deployment === deployment) shared = null;
    await deployment.stop();
  });
  progress(`${name}: seeding ${SEED.users} users, ${SEED.users * SEED.conversationsPerUser} conversations`);
  const seeded = await seedMix(deployment, SEED);
  shared = { topology, deployment, seeded };
  return { deployment, seeded, reused: false };
}

interface BaselineRound {
  rps: number;
  p50: number;
  p99: number;
  failures: number;
  requests: number;
  cpuMs: number | null;
}

async function measureBaseline(target: Target, connections: number, seconds: number): Promise<BaselineRound> {
  const pid = target.serverPid;
  const before = pid === undefined ? null : processCpuMs(pid);
  const m = await measureOnce(target, connections, seconds);
  const after = pid === undefined ? null : processCpuMs(pid);
  return { rps: m.requestsPerSec, p50: m.p50Ms, p99: m.p99Ms, failures: m.non2xx + m.errors, requests: m.totalRequests, cpuMs: before === null || after === null ? null : after - before };
}

/**
 * One of the issue's load levels: the everyday mix (mix.plan.ts) at `connections`, against the API
 * deployed as `--topology` says, with the fake model in its own process. Baselines (bare hello,
 * pg primary-key SELECT) are measured at the same connection count just before and after the mix.
 */
export function loadMixScenario(name: string, connections: number): FigureScenario {
  return {
    kind: 'figure',
    name,
    description: `${connections} connections: list conversations, conversations, message pages, posted prompts (a share repeated: cache hits), async messages and tool calls, sync tool calls; fake model ${MIX_UPSTREAM.latencyMs} ms + TTFT ${MIX_UPSTREAM.timeToFirstTokenMs} ms + ${MIX_UPSTREAM.tokensPerSecond} tokens/s; PostgreSQL + Redis; vs hello and pg-pk at the same connections`,
    async run({ options, progress, onCleanup, baseline }: FigureContext): Promise<FigureOutcome> {
      const failures: string[] = [];
      try {
        const hello = (await baseline('hello')).targets[0];
        const pgPk = (await baseline('pg-pk')).targets[0];
        if (hello === undefined || pgPk === undefined) throw new Error('baselines hello and pg-pk have no target');
        const { deployment: d, seeded, reused } = await sharedDeployment(name, options.topology, progress, onCleanup);
        if (reused) progress(`${name}: on the deployment of the previous load level`);
        const weights = mixWeights(options.repeatShare);
        const http = d.httpProcesses;
        const endpoints = http.map((p, i) => ({
          url: p.api.url,
          // Half each in the cluster (the first takes the odd one).
          connections: Math.floor(connections / http.length) + (i < connections % http.length ? 1 : 0),
        }));
        const run = { endpoints, users: seeded.users, weights, repeatShare: options.repeatShare, timeoutSeconds: 30 };
        const recorder = new MixRecorder();
        const warmup = options.warmupSeconds > 0 ? options.warmupSeconds + 1 : 0;
        if (warmup > 0) {
          progress(`${name}: warm-up, ${connections} connections, ${warmup} s`);
          await driveMix({ ...run, durationSeconds: warmup }, recorder);
        }

        const baselineSeconds = Math.max(2, Math.min(3, options.durationSeconds));
        const rounds: Record<string, BaselineRound[]> = { [hello.name]: [], [pgPk.name]: [] };
        const measureBaselines = async (order: Target[]): Promise<void> => {
          for (const t of order) {
            progress(`${name}: baseline ${t.name}, ${connections} connections, ${baselineSeconds} s`);
            const m = await measureBaseline(t, connections, baselineSeconds);
            if (m.failures > 0) failures.push(`${name}: baseline ${t.name}: ${m.failures} failed requests`);
            rounds[t.name]?.push(m);
          }
        };
        await measureBaselines([hello, pgPk]);

        // Before: one scrape resets the event-loop histogram; one idle second later, the idle lag.
        await d.snapshot();
        const idleFrom = d.processes.map((p) => processCpuMs(p.api.pid));
        const idleStart = performance.now();
        await sleep(1_000);
        const idleCpu = d.processes.map((p, i) => {
          const now = processCpuMs(p.api.pid);
          const from = idleFrom[i];
          return now === null || from === null || from === undefined ? null : ((now - from) / (performance.now() - idleStart)) * 100;
        });
        const before: ProcessSnapshot[] = await d.snapshot();
        const upstreamBefore = await d.upstream.stats();
        const cpuBefore = d.processes.map((p) => processCpuMs(p.api.pid));

        progress(`${name}: mix, ${connections} connections (${endpoints.map((e) => e.connections).join(' + ')}), ${options.mixDurationSeconds} s`);
        recorder.start();
        const driver = await driveMix({ ...run, durationSeconds: options.mixDurationSeconds }, recorder);
        recorder.stop();

        const cpuAfter = d.processes.map((p) => processCpuMs(p.api.pid));
        const after = await d.snapshot();
        const upstreamAfter = await d.upstream.stats();
        const stats = (await d.adminGet('/v1/admin/tasks/stats').catch(() => null)) as { byStatus?: { pending?: number; running?: number } } | null;
        await measureBaselines([pgPk, hello]);

        const { operations, total } = recorder.figures(driver.durationSeconds);
        const baselines: BaselineFigures[] = [hello, pgPk].map((t) => {
          const r = rounds[t.name] ?? [];
          const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
          const cpu = r.every((x) => x.cpuMs !== null) ? r.reduce((n, x) => n + (x.cpuMs ?? 0), 0) : null;
          const requests = r.reduce((n, x) => n + x.requests, 0);
          return {
            target: t.name,
            requestsPerSec: mean(r.map((x) => x.rps)),
            p50Ms: mean(r.map((x) => x.p50)),
            p99Ms: mean(r.map((x) => x.p99)),
            rounds: r.map((x) => x.rps),
            cpuUsPerRequest: cpu === null || requests === 0 ? null : (cpu * 1000) / requests,
          };
        });
        const ratios = Object.fromEntries(baselines.map((b) => [b.target, total.requestsPerSec / b.requestsPerSec]));
        const readsPerSec = operations.filter((o) => READ_OPERATIONS.has(o.operation)).reduce((n, o) => n + o.requestsPerSec, 0);
        const pgRate = baselines[1]?.requestsPerSec;
        const events = taskEventDeltas(before, after);
        const processes: ProcessFigures[] = d.processes.map((p, i) => {
          const cb = cpuBefore[i];
          const ca = cpuAfter[i];
          return {
            label: p.label,
            role: p.role,
            rssBeforeMb: mb(before[i]?.rssBytes),
            rssAfterMb: mb(after[i]?.rssBytes),
            lagIdleP99Ms: before[i]?.eventLoopLagP99Ms ?? null,
            lagLoadP99Ms: after[i]?.eventLoopLagP99Ms ?? null,
            cpuMs: cb === null || cb === undefined || ca === null || ca === undefined ? null : ca - cb,
            idleCpuPercent: idleCpu[i] ?? null,
          };
        });
        const apiCpuMs = processes.every((p) => p.cpuMs !== null) ? processes.reduce((n, p) => n + (p.cpuMs ?? 0), 0) : null;
        const cpuUsPerRequest = apiCpuMs === null || total.requests === 0 ? null : (apiCpuMs * 1000) / total.requests;
        const cpuRatios = Object.fromEntries(
          baselines.flatMap((b) => (cpuUsPerRequest === null || b.cpuUsPerRequest === null ? [] : [[b.target, cpuUsPerRequest / b.cpuUsPerRequest]])),
        );
        const figures: LoadMixFigures = {
          scenario: name,
          topology: options.topology,
          sharedWithPrevious: reused,
          connections,
          durationSeconds: driver.durationSeconds,
          repeatShare: options.repeatShare,
          upstreamSettings: MIX_UPSTREAM,
          seeded: { users: SEED.users, conversations: seeded.conversations, messages: seeded.messages },
          total,
          operations,
          driver,
          baselines,
          ratios,
          cpuUsPerRequest,
          cpuRatios,
          readsToPgPk: pgRate ? readsPerSec / pgRate : null,
          caches: cacheDeltas(before, after),
          upstream: {
            calls: upstreamAfter.calls - upstreamBefore.calls,
            streamedCalls: upstreamAfter.streamedCalls - upstreamBefore.streamedCalls,
            toolCallReplies: upstreamAfter.toolCallReplies - upstreamBefore.toolCallReplies,
            maxInFlight: upstreamAfter.maxInFlight,
          },
          tasks: {
            submitted: events.submitted ?? 0,
            completed: events.completed ?? 0,
            failed: events.failed ?? 0,
            completedPerSec: (events.completed ?? 0) / driver.durationSeconds,
            pendingAtEnd: stats?.byStatus === undefined ? null : (stats.byStatus.pending ?? 0) + (stats.byStatus.running ?? 0),
          },
          processes,
        };
        if (total.non2xx + total.unexpected > 0) failures.push(`${name}: ${total.non2xx + total.unexpected} responses with an unexpected status (${JSON.stringify(total.statuses)})`);
        if (driver.errors > 0) failures.push(`${name}: ${driver.errors} connection errors (${driver.timeouts} timeouts)`);
        if (events.failed) failures.push(`${name}: ${events.failed} task attempts failed`);
        return { lines: [...(reused ? ['(on the deployment and data of the previous load level of this run)'] : []), ...describeMix(figures)], data: figures, mix: figures, failures };
      } catch (err) {
        failures.push(`${name}: ${(err as Error).message}`);
        return { lines: [], data: null, failures };
      }
    },
  };
}
