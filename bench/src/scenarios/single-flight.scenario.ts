import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { createTestDatabase, createUser, startApi, startFakeUpstream, type FakeUpstream, type StartedApi } from '@chat/testing';
import { BENCH_API_ENTRY } from '../api/api.fixture.js';
import type { FigureContext, FigureOutcome, FigureScenario, HttpRequestSpec } from '../bench.types.js';
import { openConnections, send, type Sent } from '../http.send.js';
import { percentile } from '../stats.util.js';

const UPSTREAM_LATENCY_MS = 300;
/** Requests per burst, split evenly between the two API processes. */
const BURST = 500;
const PROMPTS = [
  'Summarise the plot of Hamlet in one sentence.',
  'What is the capital of Australia?',
  'Write a haiku about caches.',
];

interface Side {
  label: 'A' | 'B';
  api: StartedApi;
  agent: http.Agent;
}

interface BurstFigures {
  prompt: string;
  requests: number;
  upstreamCalls: number;
  /** When each upstream call reached the fake model, in ms after the burst started (sampled every 2 ms by the bench). */
  upstreamCallAtMs: number[];
  hit: number;
  miss: number;
  perProcess: Record<'A' | 'B', { hit: number; miss: number }>;
  non200: number;
  /** Status (or connection error) → count, for everything that was not a 200. */
  problems: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  burstMs: number;
}

function completion(api: StartedApi, apiKey: string, prompt: string): HttpRequestSpec {
  return {
    method: 'POST',
    url: `${api.url}/v1/chat/completions`,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: prompt }] }),
  };
}

/** The API's own exit code on SIGTERM is part of the result: a crash on shutdown is a failure. */
async function stopApi(api: StartedApi, label: string): Promise<void> {
  const code = await api.stop();
  if (code !== 0) throw new Error(`API ${label} exited with code ${code} on SIGTERM\n${api.logs().slice(-4000)}`);
}

/**
 * Sends `BURST` identical requests at once, alternating between the processes, over keep-alive
 * connections opened just before (so that the burst measures the API, not TCP handshakes).
 */
async function burst(sides: Side[], fake: FakeUpstream, apiKey: string, prompt: string, label: string): Promise<BurstFigures> {
  for (const side of sides) await openConnections(`${side.api.url}/health/live`, side.agent, BURST / sides.length);
  fake.reset();
  const t0 = performance.now();
  const callAt: number[] = [];
  const sample = setInterval(() => {
    while (callAt.length < fake.calls) callAt.push(Math.round(performance.now() - t0));
  }, 2);
  let results: Array<{ side: 'A' | 'B'; sent: Sent }>;
  try {
    results = await Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        const side = sides[i % sides.length];
        return { side: side.label, sent: await send(completion(side.api, apiKey, prompt), side.agent) };
      }),
    );
  } finally {
    clearInterval(sample);
  }
  const burstMs = performance.now() - t0;
  while (callAt.length < fake.calls) callAt.push(Math.round(burstMs));

  const perProcess = { A: { hit: 0, miss: 0 }, B: { hit: 0, miss: 0 } };
  const problems: Record<string, number> = {};
  for (const { side, sent } of results) {
    if (sent.status !== 200) {
      const why = sent.status === 0 ? `error: ${sent.error ?? 'unknown'}` : `${sent.status}: ${sent.body.slice(0, 200)}`;
      problems[why] = (problems[why] ?? 0) + 1;
      continue;
    }
    if (sent.headers['x-cache'] === 'HIT') perProcess[side].hit++;
    else perProcess[side].miss++;
  }
  const latencies = results.map((r) => r.sent.ms);
  return {
    prompt: label,
    requests: results.length,
    upstreamCalls: fake.calls,
    upstreamCallAtMs: callAt,
    hit: perProcess.A.hit + perProcess.B.hit,
    miss: perProcess.A.miss + perProcess.B.miss,
    perProcess,
    non200: results.filter((r) => r.sent.status !== 200).length,
    problems,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
    burstMs,
  };
}

function describe(f: BurstFigures, heading: string): string[] {
  const ms = (n: number): string => `${n.toFixed(0)} ms`;
  const lines = [
    `${heading} "${f.prompt}":`,
    `  upstream calls: ${f.upstreamCalls} for ${f.requests} requests (reached the model at ≈ ${f.upstreamCallAtMs.map((t) => `+${t} ms`).join(', ') || '-'})`,
    `  X-Cache HIT ${f.hit} / MISS ${f.miss} (A: ${f.perProcess.A.hit} HIT / ${f.perProcess.A.miss} MISS; B: ${f.perProcess.B.hit} HIT / ${f.perProcess.B.miss} MISS)`,
    `  latency p50 ${ms(f.p50Ms)}, p99 ${ms(f.p99Ms)}, max ${ms(f.maxMs)}; whole burst ${ms(f.burstMs)}; non-200: ${f.non200}`,
  ];
  for (const [why, count] of Object.entries(f.problems)) lines.push(`  ${count} × ${why}`);
  return lines;
}

/**
 * Cross-process single-flight of the AI-response cache: a burst of identical cold requests, half to
 * each of two API processes sharing one database and one Redis, should reach the model once. The
 * count is the figure; it is reported, not asserted (only failed requests fail the scenario).
 */
export const singleFlightScenario: FigureScenario = {
  kind: 'figure',
  name: 'single-flight',
  description: `${BURST} identical cold non-stream POST /v1/chat/completions at once, ${BURST / 2} to each of two API processes (one database, shared Redis), one user, fake upstream at ${UPSTREAM_LATENCY_MS} ms; ${PROMPTS.length} prompts`,
  async run({ progress, onCleanup }: FigureContext): Promise<FigureOutcome> {
    const failures: string[] = [];
    const lines: string[] = [];
    const figures: BurstFigures[] = [];
    // Torn down newest first, whether the run ends normally (below) or on Ctrl-C (the runner's stack).
    const teardowns: Array<() => Promise<void>> = [];
    const started = (teardown: () => Promise<void>): void => {
      teardowns.unshift(onCleanup(teardown));
    };
    try {
      const fake = await startFakeUpstream({ latencyMs: UPSTREAM_LATENCY_MS });
      started(() => fake.close());
      const database = await createTestDatabase('chat_bench');
      started(() => database.drop());
      const env = { AI_BASE_URL: fake.baseUrl, AI_MODEL: 'fake-model', LOG_LEVEL: 'warn' };
      const sides: Side[] = [];
      // One after the other: the first runs the migrations on the empty database.
      for (const label of ['A', 'B'] as const) {
        progress(`single-flight: starting API ${label} (Redis, shared database)`);
        const api = await startApi({ ...(BENCH_API_ENTRY === undefined ? {} : { entry: BENCH_API_ENTRY }), database: { url: database.url }, redis: true, rateLimitPerMinute: 0, env });
        started(() => stopApi(api, label));
        const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: BURST });
        started(() => {
          agent.destroy();
          return Promise.resolve();
        });
        sides.push({ label, api, agent });
      }
      // Both processes read API keys from the shared database, so a key made on A works on B.
      const user = await createUser(sides[0].api, 'bench-single-flight');
      // In every prompt, so that each burst is cold whatever an earlier run left in Redis.
      const run = randomBytes(4).toString('hex');

      // Not reported: one burst of the same shape first, so that the measured ones do not time JIT
      // compilation and pool growth in freshly started processes.
      progress(`single-flight: warm-up burst, ${BURST} requests`);
      const warm = await burst(sides, fake, user.apiKey, `Warm-up request (bench ${run})`, 'warm-up');
      if (warm.non200 > 0) throw new Error(`warm-up burst: ${warm.non200} of ${warm.requests} requests did not answer 200: ${JSON.stringify(warm.problems)}`);

      for (const [index, text] of PROMPTS.entries()) {
        progress(`single-flight: burst ${index + 1}/${PROMPTS.length}, ${BURST} requests`);
        const f = await burst(sides, fake, user.apiKey, `${text} (bench ${run})`, text);
        figures.push(f);
        lines.push(...describe(f, `prompt ${index + 1}/${PROMPTS.length}`));
        if (f.non200 > 0) failures.push(`single-flight prompt ${index + 1}: ${f.non200} of ${f.requests} requests did not answer 200`);
      }
      lines.push(
        `(after one unreported warm-up burst of the same shape, which reached the model ${warm.upstreamCalls} time(s))`,
        "X-Cache: HIT = served from the cache (here: read from Redis after the other process's model call); MISS = this request's process",
        'called the model, or joined that in-process call (such joiners report MISS: they waited for the model, not for the cache).',
      );
    } catch (err) {
      failures.push(`single-flight: ${(err as Error).message}`);
    } finally {
      for (const teardown of teardowns) {
        try {
          await teardown();
        } catch (err) {
          failures.push(`single-flight teardown: ${(err as Error).message}`);
        }
      }
    }
    return { lines, data: { burst: BURST, upstreamLatencyMs: UPSTREAM_LATENCY_MS, prompts: figures }, failures };
  },
};
