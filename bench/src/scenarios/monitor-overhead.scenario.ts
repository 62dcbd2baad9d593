import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataSource } from 'typeorm';
import { migratedDatabase, startBenchApi, startBenchApiOn, type BenchApi } from '../api/api.fixture.js';
import { addMessages, createConversation } from '../api/api.seed.js';
import type { HttpRequestSpec, LoadScenario, Prepared, Target, TargetResult } from '../bench.types.js';
import { expectOk } from '../http.probe.js';
import { PROMPTS } from './conversation-read.scenario.js';

/** Issue 5's goal: the monitored API within 5% of the unmonitored one's throughput. Printed, never enforced. */
const GOAL_MAX_OVERHEAD = 0.05;
/**
 * A cached read runs no query. Over the whole load, the database may see the processes' background
 * work (task reconciliation, the backlog count) and the seeding's late statistics, not one
 * transaction per request: more than this fraction of the measured requests means they were not
 * all cache hits, and the comparison is not the one the label makes.
 */
const MAX_TRANSACTIONS_PER_REQUEST = 0.01;

/**
 * Which process runs the monitor, from `MONITOR_OVERHEAD_MODE` (the runner's command line belongs to
 * every scenario, so this one reads its own variable):
 * - `on-off` (default): the first process started (it seeds the measured conversation) is monitored;
 * - `off-on`: the same with the roles of the processes swapped (the second one started is monitored),
 *   to see whether a difference follows the monitor or the process;
 * - `off-off`: an A/A run, both processes unmonitored, to see the noise floor of the comparison.
 */
type Mode = 'on-off' | 'off-on' | 'off-off';
const MODES: readonly Mode[] = ['on-off', 'off-on', 'off-off'];

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

interface RoutePair {
  /** The route template, as the monitor labels it (`http_route`). */
  route: string;
  off: Target;
  on: Target;
}

/** `http_server_request_duration_seconds_count` of GET `route` with a 2xx status, summed over the series. */
function requestCount(metricsText: string, route: string): number {
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
async function transactions(dataSource: DataSource): Promise<number> {
  const rows: Array<{ n: string }> = await dataSource.query(
    'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0]?.n ?? Number.NaN);
}

async function get(url: string, token: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;
const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Server CPU µs per request over all rounds of `result` (null without /proc figures). */
function cpuPerRequestUs(result: TargetResult): number | null {
  let cpuMs = 0;
  let requests = 0;
  for (const m of result.rounds) {
    if (m.serverCpuMs === undefined) return null;
    cpuMs += m.serverCpuMs;
    requests += m.totalRequests;
  }
  return requests > 0 ? (cpuMs * 1000) / requests : null;
}

/** The goal line of one route, from the table's figures (medians, and the median of per-round ratios), then its CPU cost. */
function goalLines(pair: RoutePair, results: readonly TargetResult[], subject = 'monitor on'): string[] {
  const off = results.find((r) => r.target === pair.off.name);
  const on = results.find((r) => r.target === pair.on.name);
  if (off === undefined || on === undefined || on.ratio === null) return [`GET ${pair.route}: not measured`];
  const overhead = 1 - on.ratio;
  const perRound = on.rounds.map((m, i) => (m.requestsPerSec / (off.rounds[i]?.requestsPerSec ?? Number.NaN)).toFixed(2)).join(', ');
  const met = overhead <= GOAL_MAX_OVERHEAD ? 'met' : 'NOT met';
  const noise = on.ratio > 1 + GOAL_MAX_OVERHEAD ? ' — on faster than off by more than the goal: machine noise' : '';
  const lines = [
    `GET ${pair.route}: ${subject}: ${on.requestsPerSec.toFixed(0)} req/s vs off: ${off.requestsPerSec.toFixed(0)} req/s → ${on.ratio.toFixed(2)}× (overhead ${percent(overhead)}; goal ≤ ${percent(GOAL_MAX_OVERHEAD)}: ${met})${noise}`,
    `  per round on ÷ off: ${perRound}; p50 ${on.p50Ms.toFixed(1)} vs ${off.p50Ms.toFixed(1)} ms, p99 ${on.p99Ms.toFixed(1)} vs ${off.p99Ms.toFixed(1)} ms`,
  ];
  const cpuOn = cpuPerRequestUs(on);
  const cpuOff = cpuPerRequestUs(off);
  if (cpuOn !== null && cpuOff !== null) {
    lines.push(
      `  API process CPU per request (user + system, all rounds): ${subject === 'monitor on' ? 'on' : subject} ${cpuOn.toFixed(0)} µs vs off ${cpuOff.toFixed(0)} µs → ${cpuOn >= cpuOff ? '+' : ''}${percent(cpuOn / cpuOff - 1)}`,
    );
  }
  return lines;
}

/**
 * Issue 5: what the performance monitor costs on the API's fastest path. Two API processes on one
 * fresh database serve the same user and conversation: one as deployed (monitor on: Fastify hooks
 * time every request inside an AsyncLocalStorage context, query capture, Prometheus histograms and
 * counters, process sampling, alert rules), one with `MONITOR=off` (none of it, no /metrics). Both
 * serve the conversation and its first page of messages from their in-process cache (L1), so the
 * per-request cost of the monitor weighs as much as it ever can. The two processes of a route are
 * measured one after the other in every round (ABC-CBA), with the same connections.
 */
export const monitorOverheadScenario: LoadScenario = {
  name: 'monitor-overhead',
  description:
    'cached conversation read and first page of messages (L1 hits), monitor on vs MONITOR=off: two API processes started alike on one fresh, already migrated PostgreSQL database, same user and data, no Redis; goal ≤ 5% apart (printed, not enforced)',
  baselines: [],
  async prepare(): Promise<Prepared> {
    // Migrated beforehand: neither process has run the migrations, which could leave the one that
    // did a little slower for that reason only.
    const mode = modeOf(process.env['MONITOR_OVERHEAD_MODE']);
    const profileDir = process.env['MONITOR_OVERHEAD_CPU_PROF'];
    const database = await migratedDatabase();
    let on: BenchApi | null = null;
    let off: BenchApi | null = null;
    let db: DataSource | null = null;
    // The connection, then the processes, then their database.
    const stop = async (): Promise<void> => {
      const errors: string[] = [];
      for (const step of [() => db?.destroy(), () => off?.stop(), () => on?.stop(), () => database.drop()]) {
        try {
          await step();
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      if (errors.length > 0) throw new Error(errors.join('\n'));
    };
    try {
      // `subject` is the process measured against the reference (`MONITOR=off`); it is monitored
      // unless this is an A/A run. `first` is the process started first, which seeds the measured
      // conversation: the subject by default, the reference with `off-on`.
      const subjectMonitor = mode === 'off-off' ? 'off' : 'on';
      const subjectFirst = mode !== 'off-on';
      const firstMonitor = subjectFirst ? subjectMonitor : 'off';
      const secondMonitor = subjectFirst ? 'off' : subjectMonitor;
      const first = await startBenchApi({ database: { url: database.url }, env: { MONITOR: firstMonitor, ...profileEnv(profileDir, firstMonitor) } });
      if (subjectFirst) on = first;
      else off = first;
      const second = await startBenchApiOn(first, { env: { MONITOR: secondMonitor, ...profileEnv(profileDir, secondMonitor) } });
      if (subjectFirst) off = second;
      else on = second;
      const monitored = subjectFirst ? first : second;
      const unmonitored = subjectFirst ? second : first;
      // The measured conversation is seeded through the first process and read by both. The other
      // one seeds a twin (never read) so that both have run the same code before the load: a
      // process that alone had served the writes could be slower for that reason only (its shared
      // code paths would have seen more shapes).
      const id = await createConversation(first, 'bench conversation (monitor overhead)');
      await addMessages(first, id, PROMPTS);
      await addMessages(second, await createConversation(second, 'bench conversation (monitor overhead)'), PROMPTS);

      const request = (bench: BenchApi, path: string): HttpRequestSpec => ({ method: 'GET', url: `${bench.api.url}${path}`, headers: bench.userHeaders });
      const [offPid, onPid] = [unmonitored.api.pid, monitored.api.pid];
      const conversation = `/v1/conversations/${id}`;
      const messages = `/v1/conversations/${id}/messages?limit=50`;
      const conversationOff: Target = { name: 'GET /v1/conversations/:id, MONITOR=off (cached, L1 hit)', request: request(unmonitored, conversation), reference: true, serverPid: offPid };
      const messagesOff: Target = { name: 'GET …/messages?limit=50, MONITOR=off (cached first page, L1 hit)', request: request(unmonitored, messages), serverPid: offPid };
      // In an A/A run the subject is a second unmonitored process: named apart from the reference.
      const subject = mode === 'off-off' ? 'MONITOR=off, A/A twin' : 'monitor on';
      const pairs: RoutePair[] = [
        {
          route: '/v1/conversations/:id',
          off: conversationOff,
          on: { name: `GET /v1/conversations/:id, ${subject} (cached, L1 hit)`, request: request(monitored, conversation), serverPid: onPid },
        },
        {
          route: '/v1/conversations/:id/messages',
          off: messagesOff,
          on: { name: `GET …/messages?limit=50, ${subject} (cached first page, L1 hit)`, request: request(monitored, messages), ratioTo: messagesOff.name, serverPid: onPid },
        },
      ];
      // Measured in this order (then reversed): each route's two processes back to back.
      const targets = pairs.flatMap((p) => [p.off, p.on]);
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
            `mode ${mode}: the ${subjectFirst ? 'first' : 'second'} process started (it ${subjectFirst ? 'seeded' : 'did not seed'} the measured conversation) is the subject, ${subjectMonitor === 'on' ? 'monitored' : 'unmonitored too (A/A: the figures below are the noise floor, not the monitor)'}`,
            ...pairs.flatMap((pair) => goalLines(pair, results, mode === 'off-off' ? 'A/A twin (MONITOR=off)' : 'monitor on')),
            `  processes: subject pid ${onPid}, reference pid ${offPid}${profileDir ? ` (CPU profiles under ${profileDir} when they stop)` : ''}`,
          ];
          const measured = (target: Target): number =>
            results.find((r) => r.target === target.name)?.rounds.reduce((n, m) => n + m.totalRequests, 0) ?? 0;
          const problems: string[] = [];

          // The monitored process really monitored what was measured: its histogram counted at least
          // every measured request of each route (more: the probe and warm-up requests too).
          const metrics = await get(`${monitored.api.url}/metrics`, monitored.api.adminToken);
          if (subjectMonitor === 'off') {
            if (metrics.status !== 404) problems.push(`A/A subject (MONITOR=off): GET /metrics answered ${metrics.status}, expected 404`);
          } else if (metrics.status !== 200) problems.push(`monitored process: GET /metrics answered ${metrics.status}: ${metrics.text.slice(0, 200)}`);
          else {
            const counts = pairs.map((pair) => ({ pair, count: requestCount(metrics.text, pair.route), measured: measured(pair.on) }));
            for (const { pair, count, measured: n } of counts) {
              if (count < n || count === 0) problems.push(`monitored process: http_server_request_duration_seconds_count{GET ${pair.route}, 2xx} is ${count}, fewer than the ${n} requests measured`);
            }
            lines.push(
              `checked: monitored process's /metrics counts ${counts.map((c) => `GET ${c.pair.route}: ${thousands(c.count)} ≥ ${thousands(c.measured)} measured`).join('; ')} (the rest: probe, warm-up)`,
            );
          }
          // And the unmonitored one has no monitor at all.
          const none = await get(`${unmonitored.api.url}/metrics`, unmonitored.api.adminToken);
          if (none.status !== 404) problems.push(`MONITOR=off process: GET /metrics answered ${none.status}, expected 404`);
          else lines.push('checked: MONITOR=off process: GET /metrics (admin token) → 404');

          // Every measured request of both processes was a cache hit: the database saw almost nothing.
          const queried = (await transactions(pg)) - transactionsBefore;
          const requests = targets.reduce((n, t) => n + measured(t), 0);
          const cached = queried <= requests * MAX_TRANSACTIONS_PER_REQUEST;
          if (!cached) problems.push(`${queried} PostgreSQL transactions during the load for ${requests} measured requests: not all cache hits`);
          lines.push(
            `checked: ${thousands(queried)} PostgreSQL transactions on the scenario's database during the load (both processes' background work included) for ${thousands(requests)} measured requests (limit ${percent(MAX_TRANSACTIONS_PER_REQUEST)})${cached ? ': every read a cache hit' : ''}`,
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
