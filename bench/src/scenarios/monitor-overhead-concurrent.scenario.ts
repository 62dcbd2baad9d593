import { readlinkSync, realpathSync } from 'node:fs';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { TEST_PG_URL } from '@chat/testing';
import { migratedDatabase, startBenchApi, startBenchApiOn, type BenchApi } from '../api/api.fixture.js';
import { measureOnce, measureRequests } from '../autocannon.measure.js';
import type { FigureContext, FigureOutcome, FigureScenario, Measurement, Target } from '../bench.types.js';
import { allowedCpus, pinProcess, tasksetAvailable, threadAffinities } from '../cpu.affinity.js';
import { expectOk } from '../http.probe.js';
import { processCpuMs } from '../process.cpu.js';
import { mean } from '../stats.util.js';
import {
  MONITOR_OVERHEAD_GOAL,
  cpuUsPerRequest,
  describeOverhead,
  requestsPerSecond,
  roundFigures,
  percent,
  signedPercent,
  summariseRounds,
  type SharedCoreProcess,
  type SharedCoreRound,
} from './monitor-overhead-concurrent.figures.js';
import { MAX_TRANSACTIONS_PER_REQUEST, authorizedGet, integerSetting, requestCount, seedConversation, thousands, transactions } from './monitor-overhead.scenario.js';

/** Rounds (`MONITOR_OVERHEAD_ROUNDS`), each with fresh processes: one process's memory layout moves it by 2–3%, so several rounds. */
const DEFAULT_ROUNDS = 8;
const MAX_ROUNDS = 30;
/** Measured seconds of each round, unless `--duration` says otherwise. */
const DEFAULT_SECONDS = 12;
/** Requests of the warm-up, per process, all at once (JIT, pools; not reported). */
const WARM_UP_REQUESTS = 10_000;
/** Connections of each process's own load generator. */
const CONNECTIONS = 16;
/**
 * The start order of a round, rotated by one place every round: over four rounds each side holds
 * every place twice, so that starting early or late (what else ran on the core meanwhile, how
 * warm the kernel's caches were) weighs on both alike.
 */
const START_ORDER: ReadonlyArray<'on' | 'off'> = ['off', 'on', 'on', 'off'];
const ROUTE = '/v1/conversations/:id';

/** Why the scenario cannot run here, or null. */
async function whyNotMeasurable(): Promise<string | null> {
  if (!tasksetAvailable()) return 'taskset (util-linux) is not available, so the API processes cannot share one core';
  const cpus = allowedCpus(process.pid) ?? [];
  if (cpus.length < 2) return `${cpus.length} CPU available to the bench: one core is needed for the API processes and another for the load generators`;
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    const url = new URL(TEST_PG_URL);
    return `PostgreSQL is unreachable at ${url.hostname}:${url.port || '5432'} (${(err as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
  return null;
}

/** Every thread of `pid` runs on `cpus` only: else /proc would not measure what the label says. */
function checkThreadsOn(pid: number, cpus: readonly number[]): void {
  const lists = threadAffinities(pid);
  const expected = cpus.join(',');
  if (lists.length !== 1 || lists[0] !== expected) throw new Error(`process ${pid}'s threads may run on CPUs ${lists.join(' / ') || '?'}, not only on ${expected}`);
}

/** The pid is node's own (taskset execs it), and every thread of it runs on `cpu` only. */
function checkPinned(pid: number, cpu: number): void {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  if (exe !== realpathSync(process.execPath)) throw new Error(`process ${pid} runs ${exe}, not node (${process.execPath})`);
  checkThreadsOn(pid, [cpu]);
}

function problemsOf(m: Measurement, what: string): string[] {
  if (m.non2xx === 0 && m.errors === 0 && m.totalRequests > 0) return [];
  return [`${what}: ${m.totalRequests} requests, ${m.non2xx} non-2xx, ${m.errors} errors (${m.timeouts} timeouts)`];
}

interface Running {
  side: 'on' | 'off';
  started: number;
  bench: BenchApi;
  target: Target;
  /** Stops the process now and takes it off the runner's cleanup stack. */
  stop: () => Promise<void>;
}

interface Setting {
  rounds: number;
  seconds: number;
  apiCpu: number;
  /** Has the user and the measured conversation; stopped, but its database URL and user's key serve every process. */
  owner: BenchApi;
  conversationId: string;
  db: DataSource;
}

/**
 * One round: four fresh processes on the shared core, warmed up and measured at the same time,
 * each by its own autocannon; throws when the round is not a valid measurement. `stopErrors`
 * gets the processes that did not exit cleanly (a failure, not a reason to drop the round).
 */
async function measureRound(round: number, s: Setting, { progress, onCleanup }: FigureContext, stopErrors: string[]): Promise<SharedCoreRound> {
  const order = START_ORDER.map((_, i) => START_ORDER[(i + round - 1) % START_ORDER.length] ?? 'off');
  const running: Running[] = [];
  try {
    for (const [i, side] of order.entries()) {
      progress(`round ${round}/${s.rounds}: starting API ${i + 1}/${order.length} (monitor ${side}) on CPU ${s.apiCpu}`);
      const bench = await startBenchApiOn(s.owner, { env: { MONITOR: side }, cpus: String(s.apiCpu) });
      const stop = onCleanup(() => bench.stop());
      const target: Target = { name: `monitor ${side}, pid ${bench.api.pid}`, request: { method: 'GET', url: `${bench.api.url}/v1/conversations/${s.conversationId}`, headers: bench.userHeaders } };
      running.push({ side, started: i + 1, bench, target, stop });
      checkPinned(bench.api.pid, s.apiCpu);
    }
    // Each process writes a twin of the measured conversation, so that all have run the same code
    // (as the sequential scenario's do); then one read fills its L1 with the measured one.
    for (const r of running) await seedConversation(r.bench);
    for (const r of running) await expectOk(r.target.request);

    progress(`round ${round}/${s.rounds}: warm-up, ${thousands(WARM_UP_REQUESTS)} requests to each process at once`);
    const warm = await Promise.all(running.map((r) => measureRequests(r.target, CONNECTIONS, WARM_UP_REQUESTS)));
    const warmProblems = warm.flatMap((m, i) => problemsOf(m, `warm-up of ${running[i]?.target.name ?? '?'}`));
    if (warmProblems.length > 0) throw new Error(warmProblems.join('; '));

    progress(`round ${round}/${s.rounds}: measuring the ${running.length} processes at once, ${CONNECTIONS} connections each, ${s.seconds} s`);
    const transactionsBefore = await transactions(s.db);
    const cpuBefore = running.map((r) => processCpuMs(r.bench.api.pid));
    const measured = await Promise.all(running.map((r) => measureOnce(r.target, CONNECTIONS, s.seconds)));
    const cpuAfter = running.map((r) => processCpuMs(r.bench.api.pid));
    const queried = (await transactions(s.db)) - transactionsBefore;

    const problems = measured.flatMap((m, i) => problemsOf(m, running[i]?.target.name ?? '?'));
    const requests = measured.reduce((n, m) => n + m.totalRequests, 0);
    if (queried > requests * MAX_TRANSACTIONS_PER_REQUEST) problems.push(`${queried} PostgreSQL transactions during the window for ${requests} requests: not all cache hits`);
    // The monitored processes really monitored those requests; the others have no monitor at all.
    for (const [i, r] of running.entries()) {
      const metrics = await authorizedGet(`${r.bench.api.url}/metrics`, r.bench.api.adminToken);
      const served = (warm[i]?.totalRequests ?? 0) + (measured[i]?.totalRequests ?? 0);
      if (r.side === 'off' && metrics.status !== 404) problems.push(`${r.target.name}: GET /metrics answered ${metrics.status}, expected 404`);
      if (r.side === 'on' && (metrics.status !== 200 || requestCount(metrics.text, ROUTE) < served)) {
        problems.push(`${r.target.name}: GET /metrics answered ${metrics.status} counting ${requestCount(metrics.text, ROUTE)} requests of GET ${ROUTE}, fewer than the ${served} sent`);
      }
    }
    const processes = running.map((r, i): SharedCoreProcess => {
      const before = cpuBefore[i];
      const after = cpuAfter[i];
      if (before === null || before === undefined || after === null || after === undefined) problems.push(`${r.target.name}: no CPU time in /proc`);
      return { side: r.side, started: r.started, pid: r.bench.api.pid, requests: measured[i]?.totalRequests ?? 0, seconds: measured[i]?.durationSeconds ?? Number.NaN, cpuMs: (after ?? Number.NaN) - (before ?? Number.NaN) };
    });
    if (problems.length > 0) throw new Error(problems.join('; '));
    return { round, processes };
  } finally {
    for (const r of [...running].reverse()) {
      try {
        await r.stop();
      } catch (err) {
        stopErrors.push(`monitor-overhead-concurrent round ${round}: ${r.target.name}: ${(err as Error).message}`);
      }
    }
  }
}

const us = (x: number): string => x.toFixed(1);

/** A round in two lines: its comparisons, then each process in start order. */
function roundLines(r: SharedCoreRound, rounds: number): [string, string] {
  const f = roundFigures(r);
  const inOrder = [...r.processes].sort((a, b) => a.started - b.started);
  return [
    `round ${r.round}/${rounds} (started ${inOrder.map((p) => p.side).join(', ')}): on ÷ off CPU per request ${signedPercent(f.cpuRatio - 1)}, req/s ${f.rpsRatio.toFixed(2)}×; A/A (first started ÷ second) off ${signedPercent(f.aaOff - 1)}, on ${signedPercent(f.aaOn - 1)}`,
    `  ${inOrder.map((p) => `${p.side} ${us(cpuUsPerRequest(p))} µs/request, ${thousands(p.requests)} requests (${thousands(requestsPerSecond(p))}/s)`).join('; ')}`,
  ];
}

/** The report: the design, one line per round, the summary against the goal, how it is judged. */
function reportLines(s: Omit<Setting, 'owner' | 'conversationId' | 'db'>, benchCpus: readonly number[], rounds: readonly SharedCoreRound[]): string[] {
  const lines = [
    `design: per round ${START_ORDER.length} fresh API processes on one database (${START_ORDER.filter((x) => x === 'on').length} as deployed, monitor on; ${START_ORDER.filter((x) => x === 'off').length} MONITOR=off; start order rotated every round), all on CPU ${s.apiCpu}; each loaded by its own autocannon (${CONNECTIONS} connections) in the bench, on CPU ${benchCpus.join(',')}; GET ${ROUTE}, cached (L1 hit); ${thousands(WARM_UP_REQUESTS)} warm-up requests each, then ${s.seconds} s measured, all processes at the same time; CPU = user + system from /proc/<pid>/stat over the window`,
    ...rounds.flatMap((r) => roundLines(r, s.rounds)),
  ];
  if (rounds.length === 0) return [...lines, `monitor on vs off: not measured (no valid round of ${s.rounds})`];
  const summary = summariseRounds(rounds);
  const all = rounds.flatMap((r) => r.processes);
  const side = (which: 'on' | 'off'): string => us(mean(all.filter((p) => p.side === which).map(cpuUsPerRequest)));
  lines.push(
    `monitor on vs off, ${START_ORDER.length} processes sharing one core, ${summary.rounds} round${summary.rounds === 1 ? '' : 's'}${summary.rounds < s.rounds ? ` (of ${s.rounds})` : ''}: ${describeOverhead(summary)} → goal ≤ ${(MONITOR_OVERHEAD_GOAL * 100).toFixed(0)}%: ${summary.verdict}`,
    `  per round ${summary.perRound.map(signedPercent).join(', ')} (sd ${percent(summary.sd)}); mean CPU per request on ${side('on')} µs, off ${side('off')} µs`,
    `  verdict: met when mean + 2 SE ≤ ${(MONITOR_OVERHEAD_GOAL * 100).toFixed(0)}%, NOT met when mean − 2 SE > ${(MONITOR_OVERHEAD_GOAL * 100).toFixed(0)}%, otherwise at the edge (printed, never enforced); an A/A ratio is one process against one, so a round's two-against-two ratio should scatter by about its sd ÷ √2 when only noise tells the sides apart`,
  );
  return lines;
}

/**
 * Issue 5's goal measured so that the machine's drift cannot tell the sides apart: the monitored
 * and unmonitored API processes run at the same time on one shared core, each loaded by its own
 * load generator on the other core(s), and are compared by CPU time per request (/proc), which a
 * process's share of the core does not change. A slower or faster minute of this VM then weighs on
 * every process alike. Fresh processes every round, since one process's memory layout moves its
 * figure by a few percent.
 */
export const monitorOverheadConcurrentScenario: FigureScenario = {
  kind: 'figure',
  name: 'monitor-overhead-concurrent',
  description: `cached conversation read (L1 hit), monitor on vs MONITOR=off measured at the same time: per round ${START_ORDER.length} fresh API processes (2 a side, start order rotated) on one core, each loaded by its own autocannon on the other core(s); CPU per request from /proc; rounds MONITOR_OVERHEAD_ROUNDS (default ${DEFAULT_ROUNDS}), ${DEFAULT_SECONDS} s each unless --duration; goal ≤ 5% (printed, not enforced) beside the A/A floor`,
  async run(context: FigureContext): Promise<FigureOutcome> {
    const { options, progress, onCleanup } = context;
    const rounds = integerSetting('MONITOR_OVERHEAD_ROUNDS', 1, MAX_ROUNDS, DEFAULT_ROUNDS);
    const seconds = options.durationSet === true ? options.durationSeconds : DEFAULT_SECONDS;
    const skipped = await whyNotMeasurable();
    if (skipped !== null) return { lines: [`not measured: ${skipped}`], data: { skipped }, failures: [] };

    const cpus = allowedCpus(process.pid) ?? [];
    const apiCpu = cpus[cpus.length - 1] ?? 0;
    const benchCpus = cpus.slice(0, -1);
    const failures: string[] = [];
    const measured: SharedCoreRound[] = [];
    const failedRounds: Array<{ round: number; reason: string }> = [];
    const lines: string[] = [];
    // Undone newest first, whether the run ends normally (below) or on Ctrl-C (the runner's stack).
    const teardowns: Array<() => Promise<void>> = [];
    const started = (teardown: () => Promise<void>): void => {
      teardowns.unshift(onCleanup(teardown));
    };
    try {
      // The load generators run in this process: off the API processes' core, all threads of it.
      const restore = pinProcess(process.pid, benchCpus);
      started(async () => restore());
      checkThreadsOn(process.pid, benchCpus);

      const database = await migratedDatabase();
      started(() => database.drop());
      // The user and the measured conversation, written by a process that is not measured.
      progress('monitor-overhead-concurrent: seeding the user and the measured conversation');
      const owner = await startBenchApi({ database: { url: database.url }, env: { MONITOR: 'off' } });
      let conversationId: string;
      try {
        conversationId = await seedConversation(owner);
      } finally {
        await owner.stop();
      }
      const db = await new DataSource({ type: 'postgres', url: database.url, poolSize: 1, logging: false }).initialize();
      started(async () => {
        await db.destroy();
      });

      const setting: Setting = { rounds, seconds, apiCpu, owner, conversationId, db };
      for (let round = 1; round <= rounds; round++) {
        try {
          const r = await measureRound(round, setting, context, failures);
          measured.push(r);
          progress(roundLines(r, rounds)[0]);
        } catch (err) {
          failedRounds.push({ round, reason: (err as Error).message });
          failures.push(`monitor-overhead-concurrent round ${round}: ${(err as Error).message}`);
        }
      }
      lines.push(
        ...reportLines({ rounds, seconds, apiCpu }, benchCpus, measured),
        `checked: every API process was node itself (/proc/<pid>/exe) with all its threads on CPU ${apiCpu}, the bench's on CPU ${benchCpus.join(',')}; every response 200; each monitored process's /metrics counted every request sent to it, each MONITOR=off one answered 404; fewer PostgreSQL transactions than ${(MAX_TRANSACTIONS_PER_REQUEST * 100).toFixed(0)}% of the requests in every window (all cache hits)${failedRounds.length > 0 ? ` — except in the failed round(s) ${failedRounds.map((f) => f.round).join(', ')}` : ''}`,
      );
    } catch (err) {
      failures.push(`monitor-overhead-concurrent: ${(err as Error).message}`);
    } finally {
      for (const teardown of teardowns) {
        try {
          await teardown();
        } catch (err) {
          failures.push(`monitor-overhead-concurrent teardown: ${(err as Error).message}`);
        }
      }
    }
    return {
      lines,
      data: { rounds: measured, failedRounds, settings: { rounds, seconds, warmUpRequests: WARM_UP_REQUESTS, connections: CONNECTIONS, apiCpu, benchCpus, route: ROUTE } },
      failures,
    };
  },
};
