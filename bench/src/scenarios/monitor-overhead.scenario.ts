import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataSource } from 'typeorm';
import { migratedDatabase, startBenchApi, startBenchApiOn, type BenchApi } from '../api/api.fixture.js';
import { addMessages, createConversation } from '../api/api.seed.js';
import type { HttpRequestSpec, LoadScenario, Prepared, Target, TargetResult } from '../bench.types.js';
import { expectOk } from '../http.probe.js';
import { abbaHalves, median, ratioOfMeansPerRound, requestsPerRoundSummed } from '../stats.util.js';
import { PROMPTS } from './conversation-read.scenario.js';
import { MONITOR_OVERHEAD_GOAL, percent } from './monitor-overhead-concurrent.figures.js';
/**
 * A cached read runs no query. Over the whole load, the database may see the processes' background
 * work (task reconciliation, the backlog count) and the seeding's late statistics, not one
 * transaction per request: more than this fraction of the measured requests means they were not
 * all cache hits, and the comparison is not the one the label makes.
 */
export const MAX_TRANSACTIONS_PER_REQUEST = 0.01;

/**
 * What the subject processes are, from `MONITOR_OVERHEAD_MODE` (the runner's command line belongs to
 * every scenario, so this one reads its own variable):
 * - `on-off` (default): monitored, against the unmonitored references;
 * - `off-off`: an A/A run, every process unmonitored, to see the noise of the comparison itself.
 */
type Mode = 'on-off' | 'off-off';

/**
 * Process pairs (one monitored, one not), from `MONITOR_OVERHEAD_PAIRS` (default 4). Two processes
 * started alike still differ by a few percent on this machine (memory layout, JIT decisions, when
 * each was disturbed), which one pair cannot tell from the monitor's cost: the goal compares the
 * mean of each side over every pair, and the unmonitored side's two halves give the run's floor.
 */
const DEFAULT_PAIRS = 4;

/**
 * An integer setting of a scenario from the environment (the runner's command line belongs to
 * every scenario): `fallback` when unset or empty, else an integer from `min` to `max`, or an
 * error that names the variable.
 */
export function integerSetting(name: string, min: number, max: number, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}
const MODES: readonly Mode[] = ['on-off', 'off-off'];

function modeOf(value: string | undefined): Mode {
  if (value === undefined || value === '') return 'on-off';
  if ((MODES as readonly string[]).includes(value)) return value as Mode;
  throw new Error(`MONITOR_OVERHEAD_MODE must be one of ${MODES.join(', ')}, got "${value}"`);
}

/**
 * `MONITOR_OVERHEAD_CPU_PROF=<dir>`: both API processes are profiled (V8's sampling profiler, 100 µs)
 * and write `<dir>/monitor-<on|off>-<pid>.cpuprofile` when they stop (open it in Chrome DevTools or
 * speedscope). Node 20 refuses `--cpu-prof` in NODE_OPTIONS, so a preloaded module starts the
 * profiler through `node:inspector` and writes the profile at exit.
 */
function profileEnv(dir: string | undefined, monitor: 'on' | 'off'): Record<string, string> {
  if (dir === undefined || dir === '') return {};
  mkdirSync(dir, { recursive: true });
  const preload = join(dir, 'cpu-profile.preload.mjs');
  writeFileSync(
    preload,
    [
      "import { Session } from 'node:inspector';",
      "import { writeFileSync } from 'node:fs';",
      'const session = new Session();',
      'session.connect();',
      "session.post('Profiler.enable');",
      "session.post('Profiler.setSamplingInterval', { interval: 100 });",
      "session.post('Profiler.start');",
      "process.on('exit', () => {",
      "  session.post('Profiler.stop', (err, result) => {",
      `    if (!err) writeFileSync(${JSON.stringify(dir)} + '/monitor-' + process.env.BENCH_PROFILE_ROLE + '-' + process.pid + '.cpuprofile', JSON.stringify(result.profile));`,
      '  });',
      '});',
    ].join('\n'),
  );
  const inherited = process.env['NODE_OPTIONS'] ?? '';
  return { NODE_OPTIONS: `${inherited} --import=${pathToFileURL(preload).href}`.trim(), BENCH_PROFILE_ROLE: monitor };
}

/**
 * The conversation the monitor-overhead scenarios read (5 exchanges), created through `bench`'s
 * process: also how every other process of a comparison seeds a twin, so that all have run the
 * same write path before the load. Resolves to its id.
 */
export async function seedConversation(bench: BenchApi): Promise<string> {
  const id = await createConversation(bench, 'bench conversation (monitor overhead)');
  await addMessages(bench, id, PROMPTS);
  return id;
}

interface RoutePair {
  /** The route template, as the monitor labels it (`http_route`). */
  route: string;
  /** One target per process pair, in the same order on both sides. */
  off: Target[];
  on: Target[];
}

/** `http_server_request_duration_seconds_count` of GET `route` with a 2xx status, summed over the series. */
export function requestCount(metricsText: string, route: string): number {
  let count = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('http_server_request_duration_seconds_count{')) continue;
    const close = line.lastIndexOf('}');
    const labels = line.slice(line.indexOf('{') + 1, close);
    if (!labels.includes(`http_route="${route}"`) || !labels.includes('http_request_method="GET"')) continue;
    if (!/http_response_status_code="2\d\d"/.test(labels)) continue;
    count += Number(line.slice(close + 1).trim());
  }
  return count;
}

/** PostgreSQL transactions (committed or rolled back) on the database `dataSource` is connected to, so far. */
export async function transactions(dataSource: DataSource): Promise<number> {
  const rows: Array<{ n: string }> = await dataSource.query(
    'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0]?.n ?? Number.NaN);
}

/** GET with a bearer token (e.g. `/metrics` with the admin token): status and body. */
export async function authorizedGet(url: string, token: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

export const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Server CPU µs per request over all rounds of `results` together (null without /proc figures). */
function cpuPerRequestUs(results: readonly TargetResult[]): number | null {
  let cpuMs = 0;
  let requests = 0;
  for (const result of results) {
    for (const m of result.rounds) {
      if (m.serverCpuMs === undefined) return null;
      cpuMs += m.serverCpuMs;
      requests += m.totalRequests;
    }
  }
  return requests > 0 ? (cpuMs * 1000) / requests : null;
}

const signed = (x: number): string => `${x >= 0 ? '+' : ''}${percent(x)}`;

/** "a X µs vs b Y µs → +z%": the CPU per request of two groups of targets, or '' without /proc figures. */
function cpuComparison(a: readonly TargetResult[], b: readonly TargetResult[], nameA: string, nameB: string): string {
  const cpuA = cpuPerRequestUs(a);
  const cpuB = cpuPerRequestUs(b);
  return cpuA === null || cpuB === null ? '' : `${nameA} ${cpuA.toFixed(1)} µs vs ${nameB} ${cpuB.toFixed(1)} µs → ${signed(cpuA / cpuB - 1)}`;
}

/**
 * The goal lines of one route: per round, the monitored processes' mean req/s ÷ the unmonitored
 * ones' (the goal's ratio is the median over rounds), each pair's own ratio (the table's), the run's
 * floor (the unmonitored side's two halves compared alike), and the CPU cost per request of each side.
 */
function goalLines(pair: RoutePair, results: readonly TargetResult[], subject: string): string[] {
  const find = (targets: readonly Target[]): TargetResult[] => targets.flatMap((t) => results.filter((r) => r.target === t.name));
  const off = find(pair.off);
  const on = find(pair.on);
  if (off.length !== pair.off.length || on.length !== pair.on.length || off.length === 0) return [`GET ${pair.route}: not measured`];
  const perRound = ratioOfMeansPerRound(on, off);
  const ratio = median(perRound);
  const overhead = 1 - ratio;
  const verdict = subject === 'monitor on' ? `; goal ≤ ${percent(MONITOR_OVERHEAD_GOAL)}: ${overhead <= MONITOR_OVERHEAD_GOAL ? 'met' : 'NOT met'}` : '; an A/A run: noise, not judged';
  const noise = ratio > 1 + MONITOR_OVERHEAD_GOAL ? ' — the subjects faster than the references by more than the goal: machine noise' : '';
  const perPair = on.map((r) => (r.ratio === null ? '–' : r.ratio.toFixed(2))).join(', ');
  const mean = (side: readonly TargetResult[]): number => median(requestsPerRoundSummed(side).map((sum) => sum / side.length));
  const lines = [
    `GET ${pair.route}: ${subject}: ${mean(on).toFixed(0)} req/s vs off: ${mean(off).toFixed(0)} req/s (mean per process, ${on.length} a side) → ${ratio.toFixed(2)}× (overhead ${percent(overhead)}${verdict})${noise}`,
    `  per round ${subject} ÷ off: ${perRound.map((r) => r.toFixed(2)).join(', ')}; per pair (median of its rounds): ${perPair}`,
  ];
  const [halfA, halfB] = abbaHalves(off);
  if (halfA.length > 0) {
    const floorPerRound = ratioOfMeansPerRound(halfA, halfB);
    const numbers = (side: readonly TargetResult[]): string => side.map((r) => `#${off.indexOf(r) + 1}`).join(', ');
    const cpu = cpuComparison(halfA, halfB, 'CPU per request: first half', 'second half');
    lines.push(
      `  A/A floor of this run: the unmonitored side's halves, ${numbers(halfA)} ÷ ${numbers(halfB)} → ${median(floorPerRound).toFixed(2)}× (per round ${floorPerRound.map((r) => r.toFixed(2)).join(', ')}${cpu === '' ? '' : `; ${cpu}`}): a difference within this is noise`,
    );
  }
  const cpu = cpuComparison(on, off, subject, 'off');
  if (cpu !== '') lines.push(`  API process CPU per request (user + system, all rounds and processes): ${cpu}`);
  return lines;
}

/**
 * Issue 5: what the performance monitor costs on the API's fastest path. Pairs of API processes
 * (`MONITOR_OVERHEAD_PAIRS`, default 4) on one fresh database serve the same user and conversation:
 * in each pair one as deployed (monitor on: Fastify hooks time every request in the app's request
 * context, query capture, Prometheus histograms and counters, process sampling, alert rules), one
 * with `MONITOR=off` (none of it, no /metrics). All serve the conversation and its first page of
 * messages from their in-process cache (L1), so the per-request cost of the monitor weighs as much
 * as it ever can. A route's processes are measured one after the other in every round, in the
 * order they started (ABBA: off, on, on, off, …), reversed every other round, with the same
 * connections; the goal's ratio is, per round, the monitored processes' mean req/s ÷ the
 * unmonitored ones', its median over rounds.
 */
export const monitorOverheadScenario: LoadScenario = {
  name: 'monitor-overhead',
  description:
    'cached conversation read and first page of messages (L1 hits), monitor on vs MONITOR=off: pairs of API processes (one monitored, one not) started alike on one fresh, already migrated PostgreSQL database, same user and data, no Redis, started and measured in ABBA order; the mean per process of each side; goal ≤ 5% apart (printed, not enforced), beside the floor of the run (the two halves of the unmonitored side compared alike)',
  baselines: [],
  async prepare(): Promise<Prepared> {
    // Migrated beforehand: neither process has run the migrations, which could leave the one that
    // did a little slower for that reason only.
    const mode = modeOf(process.env['MONITOR_OVERHEAD_MODE']);
    const pairCount = integerSetting('MONITOR_OVERHEAD_PAIRS', 1, 8, DEFAULT_PAIRS);
    const profileDir = process.env['MONITOR_OVERHEAD_CPU_PROF'];
    const database = await migratedDatabase();
    const started: BenchApi[] = [];
    let db: DataSource | null = null;
    // The connection, then the processes (the first one last: it owns the user), then their database.
    const stop = async (): Promise<void> => {
      const errors: string[] = [];
      const steps = [() => db?.destroy(), ...[...started].reverse().map((api) => () => api.stop()), () => database.drop()];
      for (const step of steps) {
        try {
          await step();
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      if (errors.length > 0) throw new Error(errors.join('\n'));
    };
    try {
      // `subject` processes are measured against the reference ones (`MONITOR=off`); they are
      // monitored unless this is an A/A run. The sides alternate ABBA (reference, subject, subject,
      // reference, …), in the order the processes start and are measured, so that each side holds
      // early and late places alike. The first process started, a reference, seeds the measured
      // conversation.
      const subjectMonitor = mode === 'off-off' ? 'off' : 'on';
      const subjects: BenchApi[] = [];
      const references: BenchApi[] = [];
      /** Each process's target in a route's list: its side and its number there. */
      const places: Array<{ side: 'on' | 'off'; index: number }> = [];
      const startOne = async (role: 'subject' | 'reference'): Promise<void> => {
        const monitor = role === 'subject' ? subjectMonitor : 'off';
        const env = { MONITOR: monitor, ...profileEnv(profileDir, monitor) };
        const first = started[0];
        const api = first === undefined ? await startBenchApi({ database: { url: database.url }, env }) : await startBenchApiOn(first, { env });
        started.push(api);
        const side = role === 'subject' ? subjects : references;
        places.push({ side: role === 'subject' ? 'on' : 'off', index: side.length });
        side.push(api);
      };
      for (let i = 0; i < pairCount; i++) {
        for (const role of i % 2 === 0 ? (['reference', 'subject'] as const) : (['subject', 'reference'] as const)) await startOne(role);
      }
      const [first, ...others] = started as [BenchApi, ...BenchApi[]];
      // The measured conversation is seeded through the first process and read by all. The others
      // seed a twin (never read) so that all have run the same code before the load: a process
      // that alone had served the writes could be slower for that reason only (its shared code
      // paths would have seen more shapes).
      const id = await seedConversation(first);
      for (const other of others) await seedConversation(other);

      const request = (bench: BenchApi, path: string): HttpRequestSpec => ({ method: 'GET', url: `${bench.api.url}${path}`, headers: bench.userHeaders });
      const conversation = `/v1/conversations/${id}`;
      const messages = `/v1/conversations/${id}/messages?limit=50`;
      // In an A/A run the subjects are unmonitored processes too: named apart from the reference.
      const subjectLabel = mode === 'off-off' ? 'A/A twin (MONITOR=off)' : 'monitor on';
      const routes = [
        { route: '/v1/conversations/:id', label: 'GET /v1/conversations/:id', path: conversation, what: 'cached, L1 hit' },
        { route: '/v1/conversations/:id/messages', label: 'GET …/messages?limit=50', path: messages, what: 'cached first page, L1 hit' },
      ];
      const pairs: RoutePair[] = routes.map(({ route, label, path, what }, r) => {
        const off = references.map<Target>((api, i) => ({
          name: `${label}, MONITOR=off #${i + 1} (${what})`,
          request: request(api, path),
          serverPid: api.api.pid,
          // The scenario's reference: the first route's first unmonitored process.
          ...(r === 0 && i === 0 ? { reference: true } : {}),
        }));
        const on = subjects.map<Target>((api, i) => ({
          name: `${label}, ${subjectLabel} #${i + 1} (${what})`,
          request: request(api, path),
          serverPid: api.api.pid,
          // The table's ratio: each subject to its own pair's reference process.
          ...(r === 0 && i === 0 ? {} : { ratioTo: off[i]?.name ?? '' }),
        }));
        return { route, off, on };
      });
      // Measured in the order the processes started (then reversed), each route's processes back to back.
      const targets = pairs.flatMap((p) => places.map(({ side, index }) => (side === 'on' ? p.on : p.off)[index]));
      // Each process has its own L1: the first read of each route there fills it (with the API-key
      // lookup), so even with --warmup 0 every measured request is a hit.
      for (const target of targets) await expectOk(target.request);

      db = await new DataSource({ type: 'postgres', url: database.url, poolSize: 1, logging: false }).initialize();
      const pg = db;
      const transactionsBefore = await transactions(pg);

      return {
        targets,
        async verify(results): Promise<string[]> {
          const lines = [
            `mode ${mode}, ${pairCount} process pair${pairCount === 1 ? '' : 's'}, started and measured in ABBA order from an unmonitored one (which seeded the measured conversation); the subjects are ${subjectMonitor === 'on' ? 'monitored' : 'unmonitored too (A/A: the figures below are the noise floor, not the monitor)'}`,
            ...pairs.flatMap((pair) => goalLines(pair, results, subjectLabel)),
            `  processes (in start order): ${places.map(({ side, index }) => `${side === 'on' ? (subjectMonitor === 'on' ? 'on' : 'A/A') : 'off'} #${index + 1} ${(side === 'on' ? subjects : references)[index]?.api.pid ?? '?'}`).join(', ')}${profileDir ? ` (CPU profiles under ${profileDir} when they stop)` : ''}`,
          ];
          const measured = (target: Target): number =>
            results.find((r) => r.target === target.name)?.rounds.reduce((n, m) => n + m.totalRequests, 0) ?? 0;
          const problems: string[] = [];

          // Each monitored process really monitored what was measured: its histogram counted at
          // least every measured request of each route (more: the probe and warm-up requests too).
          const checked: string[] = [];
          for (const [i, api] of subjects.entries()) {
            const metrics = await authorizedGet(`${api.api.url}/metrics`, api.api.adminToken);
            if (subjectMonitor === 'off') {
              if (metrics.status !== 404) problems.push(`A/A subject #${i + 1} (MONITOR=off): GET /metrics answered ${metrics.status}, expected 404`);
              continue;
            }
            if (metrics.status !== 200) {
              problems.push(`monitored process #${i + 1}: GET /metrics answered ${metrics.status}: ${metrics.text.slice(0, 200)}`);
              continue;
            }
            for (const pair of pairs) {
              const target = pair.on[i];
              const count = requestCount(metrics.text, pair.route);
              const n = measured(target);
              if (count < n || count === 0) problems.push(`monitored process #${i + 1}: http_server_request_duration_seconds_count{GET ${pair.route}, 2xx} is ${count}, fewer than the ${n} requests measured`);
              checked.push(`#${i + 1} GET ${pair.route}: ${thousands(count)} ≥ ${thousands(n)}`);
            }
          }
          if (checked.length > 0) lines.push(`checked: each monitored process's /metrics counts at least the requests measured on it (${checked.join('; ')}; the rest: probe, warm-up)`);
          // And the unmonitored ones have no monitor at all.
          let answered404 = 0;
          const unmonitored = references.map((api, i) => ({ api, name: `MONITOR=off process #${i + 1}` }));
          for (const { api, name } of unmonitored) {
            const none = await authorizedGet(`${api.api.url}/metrics`, api.api.adminToken);
            if (none.status !== 404) problems.push(`${name}: GET /metrics answered ${none.status}, expected 404`);
            else answered404++;
          }
          if (answered404 === unmonitored.length) lines.push(`checked: every MONITOR=off process: GET /metrics (admin token) → 404`);

          // Every measured request of every process was a cache hit: the database saw almost nothing.
          const queried = (await transactions(pg)) - transactionsBefore;
          const requests = targets.reduce((n, t) => n + measured(t), 0);
          const cached = queried <= requests * MAX_TRANSACTIONS_PER_REQUEST;
          if (!cached) problems.push(`${queried} PostgreSQL transactions during the load for ${requests} measured requests: not all cache hits`);
          lines.push(
            `checked: ${thousands(queried)} PostgreSQL transactions on the scenario's database during the load (all processes' background work included) for ${thousands(requests)} measured requests (limit ${percent(MAX_TRANSACTIONS_PER_REQUEST)})${cached ? ': every read a cache hit' : ''}`,
          );
          if (problems.length > 0) throw new Error(`${problems.join('; ')}\n${lines.join('\n')}`);
          return lines;
        },
        teardown: stop,
      };
    } catch (err) {
      await stop().catch(() => undefined);
      throw err;
    }
  },
};
