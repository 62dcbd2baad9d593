import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeUpstream, type FakeUpstream } from '@chat/testing';
import { startBenchApi, type BenchApi } from '../api/api.fixture.js';
import type { HttpRequestSpec, LoadScenario, Prepared } from '../bench.types.js';
import { send } from '../http.send.js';

/** The fake model's delay before it answers, as a remote model's time to answer. */
const UPSTREAM_LATENCY_MS = 300;

function completion(url: string, headers: Record<string, string>, bypassCache: boolean): HttpRequestSpec {
  return {
    method: 'POST',
    url: `${url}/v1/chat/completions`,
    headers: { ...headers, 'content-type': 'application/json', ...(bypassCache ? { 'cache-control': 'no-cache' } : {}) },
    body: JSON.stringify({
      model: 'fake-model',
      messages: [
        { role: 'system', content: 'You are the benchmark assistant. Answer in one sentence.' },
        { role: 'user', content: 'What does the ai-cache scenario of the benchmark measure?' },
      ],
      temperature: 0,
    }),
  };
}

/** Resolves once `fake` has received no chat completion for `quietMs` (at most `maxMs`). */
async function quiet(fake: FakeUpstream, quietMs = 1_000, maxMs = 15_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = fake.calls;
  let since = Date.now();
  while (Date.now() - since < quietMs && Date.now() < deadline) {
    await sleep(100);
    if (fake.calls !== last) {
      last = fake.calls;
      since = Date.now();
    }
  }
}

/**
 * An AI answer served from the API's AI-response cache against the same request made to a model
 * that takes 300 ms (`Cache-Control: no-cache` bypasses the cache: every call reaches the model).
 * Both run with the same connections, so the ratio is what the cache is worth at that concurrency:
 * the uncached target cannot exceed connections ÷ 0.3 s whatever the API's speed.
 */
export const aiCacheScenario: LoadScenario = {
  name: 'ai-cache',
  description: `AI answer from cache (X-Cache HIT) vs the same request to a ${UPSTREAM_LATENCY_MS} ms upstream (Cache-Control: no-cache); fake OpenAI-compatible upstream, fresh PostgreSQL, no Redis (L1)`,
  baselines: ['hello'],
  async prepare(options): Promise<Prepared> {
    const fake = await startFakeUpstream({ latencyMs: UPSTREAM_LATENCY_MS });
    let api: BenchApi;
    try {
      api = await startBenchApi({ env: { AI_BASE_URL: fake.baseUrl, AI_MODEL: 'fake-model' } });
    } catch (err) {
      await fake.close();
      throw err;
    }
    const stop = async (): Promise<void> => {
      try {
        await api.stop();
      } finally {
        await fake.close();
      }
    };
    const agent = new http.Agent({ keepAlive: true });
    try {
      const cached = completion(api.api.url, api.userHeaders, false);
      const uncached = completion(api.api.url, api.userHeaders, true);
      // Fill the cache (a miss, one model call), then check that the same request is a hit and
      // that no-cache goes to the model.
      const expectCache = async (request: HttpRequestSpec, expected: 'HIT' | 'MISS', what: string): Promise<void> => {
        const before = fake.calls;
        const sent = await send(request, agent);
        if (sent.status !== 200) throw new Error(`${what}: POST /v1/chat/completions answered ${sent.status}${sent.error ? ` (${sent.error})` : ''}: ${sent.body.slice(0, 500)}`);
        const calls = fake.calls - before;
        if (sent.headers['x-cache'] !== expected || calls !== (expected === 'HIT' ? 0 : 1)) {
          throw new Error(`${what}: expected X-Cache ${expected}, got ${String(sent.headers['x-cache'])} with ${calls} upstream call(s)`);
        }
      };
      await expectCache(cached, 'MISS', 'first request (fills the cache)');
      await expectCache(cached, 'HIT', 'second request');
      await expectCache(uncached, 'MISS', 'Cache-Control: no-cache');

      const c = options.connections;
      return {
        targets: [
          { name: `POST /v1/chat/completions, no-cache → ${UPSTREAM_LATENCY_MS} ms upstream (${c} conn.)`, request: uncached, reference: true, timeoutSeconds: 10 },
          { name: `POST /v1/chat/completions, cached answer, X-Cache HIT (${c} conn.)`, request: cached, timeoutSeconds: 10 },
        ],
        // After the load: the cached request still never reaches the model, and no-cache still does.
        async verify(): Promise<string[]> {
          // autocannon stops with requests in flight; the API may still be forwarding some no-cache
          // ones to the model. Count from when the model has seen no new call for a second.
          await quiet(fake);
          const before = fake.calls;
          const hits = await Promise.all(Array.from({ length: 20 }, () => send(cached, agent)));
          const notHit = hits.filter((s) => s.status !== 200 || s.headers['x-cache'] !== 'HIT');
          if (notHit.length > 0) throw new Error(`after the run, ${notHit.length} of 20 cached requests did not answer 200 with X-Cache: HIT`);
          if (fake.calls !== before) throw new Error(`after the run, 20 cached requests (all X-Cache: HIT) came with ${fake.calls - before} upstream call(s)`);
          await expectCache(uncached, 'MISS', 'after the run, Cache-Control: no-cache');
          return [
            `checked after the run: 20 cached requests → X-Cache HIT, 0 upstream calls; no-cache → X-Cache MISS, 1 upstream call (fake upstream: ${fake.calls} chat completions in this scenario)`,
          ];
        },
        teardown: async () => {
          agent.destroy();
          await stop();
        },
      };
    } catch (err) {
      agent.destroy();
      await stop().catch(() => undefined);
      throw err;
    }
  },
};
