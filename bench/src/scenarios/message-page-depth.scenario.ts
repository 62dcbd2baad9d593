import http from 'node:http';
import pg from 'pg';
import { startBenchApi, type BenchApi } from '../api/api.fixture.js';
import { createConversation } from '../api/api.seed.js';
import type { FigureContext, FigureOutcome, FigureScenario, HttpRequestSpec } from '../bench.types.js';
import { send } from '../http.send.js';
import { median, percentile } from '../stats.util.js';

const SHALLOW = 100;
const DEEP = 100_000;
const LIMIT = 50;
/** Requests per target per round, and requests in flight (a latency comparison, not a throughput one). */
const PER_ROUND = 150;
const IN_FLIGHT = 4;
const ROUNDS = 3;
/** The issue's goal: a page at 100,000 messages within 1.5× its latency at 100 (p50). Printed, never enforced. */
export const PAGE_DEPTH_GOAL = 1.5;

export interface PageDepthFigures {
  target: string;
  depth: number | null;
  page: 'first' | 'deep' | 'baseline';
  requests: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** p50 of each round. */
  roundsP50Ms: number[];
}

export interface PageDepthData {
  limit: number;
  shallow: number;
  deep: number;
  inFlight: number;
  rounds: number;
  targets: PageDepthFigures[];
  /** p50 at 100,000 ÷ p50 at 100 (median of per-round ratios), per page kind. */
  ratios: { first: number; deep: number };
  /** Deep page at 100,000 (p50) ÷ one pg primary-key SELECT over HTTP (p50). */
  deepToPgPk: number | null;
  goal: number;
}

/** Inserts `count` alternating user/assistant messages into a conversation, in one statement, like the API stores them. */
async function seedMessages(client: pg.Client, conversationId: string, userId: string, count: number): Promise<void> {
  await client.query(
    `INSERT INTO messages (id, conversation_id, user_id, role, content, model, cached, created_at)
     SELECT gen_random_uuid(), $1, $2,
            CASE WHEN n % 2 = 1 THEN 'user' ELSE 'assistant' END,
            CASE WHEN n % 2 = 1 THEN 'Message ' || n || ': a question of a realistic length, with a few words about the topic at hand.'
                 ELSE 'Message ' || n || ': an answer of a realistic length, a sentence or two, as a model would write it here.' END,
            CASE WHEN n % 2 = 1 THEN NULL ELSE 'fake-model' END,
            false, now() - make_interval(secs => $3::int - n)
     FROM generate_series(1, $3::int) AS n ORDER BY n`,
    [conversationId, userId, count],
  );
  await client.query('UPDATE conversations SET message_count = $2 WHERE id = $1', [conversationId, count]);
}

/** The id of the message at `position` (1 = oldest). */
async function messageAt(client: pg.Client, conversationId: string, position: number): Promise<string> {
  const { rows } = await client.query<{ id: string }>('SELECT id FROM messages WHERE conversation_id = $1 ORDER BY seq OFFSET $2 LIMIT 1', [conversationId, position - 1]);
  const id = rows[0]?.id;
  if (id === undefined) throw new Error(`no message at position ${position}`);
  return id;
}

/**
 * `count` requests of every target, `inFlight` at a time, the targets taken in turn by every
 * worker (each starting at a different one): interleaved request by request, so that a change in
 * the machine's load during the round weighs on every target alike. Latencies per target.
 */
async function interleaved(
  targets: ReadonlyArray<{ target: string; request: HttpRequestSpec }>,
  agent: http.Agent,
  count: number,
  inFlight: number,
  failures: string[],
): Promise<number[][]> {
  const out = targets.map(() => [] as number[]);
  const bad = targets.map(() => 0);
  let next = 0;
  const total = count * targets.length;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) {
        const i = next++ % targets.length;
        const t = targets[i];
        if (t === undefined) continue;
        const sent = await send(t.request, agent);
        if (sent.status === 200) out[i]?.push(sent.ms);
        else bad[i] = (bad[i] ?? 0) + 1;
      }
    }),
  );
  bad.forEach((n, i) => {
    if (n > 0) failures.push(`${targets[i]?.target ?? '?'}: ${n} requests did not answer 200`);
  });
  return out;
}

/**
 * Issue 7: is a page of messages as fast in a conversation of 100,000 messages as in one of 100?
 * One API process (fresh PostgreSQL, no Redis), two conversations of one user seeded straight into
 * the messages table. Measured: the first page (`?limit=50`, the newest messages: the API serves it
 * from its conversation cache) and a deep page (`?limit=50&before=<id>`: an index range scan on
 * (conversation_id, seq) from the anchor; at 100,000 the anchor is the 50,001st message), with
 * latencies timed per request (µs precision), 4 in flight, the targets interleaved request by request.
 */
export const messagePageDepthScenario: FigureScenario = {
  kind: 'figure',
  name: 'message-page-depth',
  description: `GET /v1/conversations/:id/messages?limit=${LIMIT}, first page and a deep page (before=<id>), in a conversation of ${DEEP.toLocaleString('en-US')} messages vs one of ${SHALLOW}; ${IN_FLIGHT} in flight, targets interleaved request by request, ${ROUNDS} rounds of ${PER_ROUND} each; fresh PostgreSQL, no Redis; goal p50 ≤ ${PAGE_DEPTH_GOAL}×`,
  async run({ progress, onCleanup, baseline }: FigureContext): Promise<FigureOutcome> {
    const failures: string[] = [];
    let bench: BenchApi | null = null;
    const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    const teardown = onCleanup(async () => {
      agent.destroy();
      await bench?.stop();
    });
    try {
      const pgPk = (await baseline('pg-pk')).targets[0];
      progress('message-page-depth: starting the API (fresh database)');
      bench = await startBenchApi();
      const b = bench;
      const shallowId = await createConversation(b, `${SHALLOW} messages`);
      const deepId = await createConversation(b, `${DEEP.toLocaleString('en-US')} messages`);
      const client = new pg.Client({ connectionString: b.api.databaseUrl ?? '' });
      await client.connect();
      let anchors: { shallow: string; deep: string };
      try {
        const userId = (await client.query<{ user_id: string }>('SELECT user_id FROM conversations WHERE id = $1', [deepId])).rows[0]?.user_id ?? '';
        progress(`message-page-depth: seeding ${DEEP.toLocaleString('en-US')} + ${SHALLOW} messages (SQL)`);
        const t0 = performance.now();
        await seedMessages(client, shallowId, userId, SHALLOW);
        await seedMessages(client, deepId, userId, DEEP);
        await client.query('ANALYZE messages');
        progress(`message-page-depth: seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        anchors = { shallow: await messageAt(client, shallowId, LIMIT + 1), deep: await messageAt(client, deepId, DEEP / 2 + 1) };
      } finally {
        await client.end();
      }
      const page = (id: string, before?: string): HttpRequestSpec => ({
        method: 'GET',
        url: `${b.api.url}/v1/conversations/${id}/messages?limit=${LIMIT}${before === undefined ? '' : `&before=${before}`}`,
        headers: b.userHeaders,
      });
      const targets = [
        { target: `first page, ${SHALLOW} messages`, depth: SHALLOW, page: 'first' as const, request: page(shallowId) },
        { target: `first page, ${DEEP.toLocaleString('en-US')} messages`, depth: DEEP, page: 'first' as const, request: page(deepId) },
        { target: `deep page (before = message ${LIMIT + 1}), ${SHALLOW} messages`, depth: SHALLOW, page: 'deep' as const, request: page(shallowId, anchors.shallow) },
        { target: `deep page (before = message ${(DEEP / 2 + 1).toLocaleString('en-US')}), ${DEEP.toLocaleString('en-US')} messages`, depth: DEEP, page: 'deep' as const, request: page(deepId, anchors.deep) },
        ...(pgPk === undefined ? [] : [{ target: pgPk.name, depth: null, page: 'baseline' as const, request: pgPk.request }]),
      ];
      // Every page answers a full page of 50: the measurement is what the label says.
      for (const t of targets.filter((x) => x.page !== 'baseline')) {
        const sent = await send(t.request, agent);
        const items = sent.status === 200 ? ((JSON.parse(sent.body) as { items: unknown[] }).items?.length ?? 0) : -1;
        if (items !== LIMIT) throw new Error(`${t.target}: answered ${sent.status} with ${items} messages, expected ${LIMIT}`);
      }
      progress('message-page-depth: warm-up');
      await interleaved(targets, agent, 60, IN_FLIGHT, []);
      const samples = targets.map(() => [] as number[][]);
      for (let round = 0; round < ROUNDS; round++) {
        progress(`message-page-depth: round ${round + 1}/${ROUNDS}, ${PER_ROUND} requests of each target, interleaved`);
        const measured = await interleaved(targets, agent, PER_ROUND, IN_FLIGHT, failures);
        measured.forEach((m, i) => samples[i]?.push(m));
      }
      const figures: PageDepthFigures[] = targets.map((t, i) => {
        const rounds = samples[i] ?? [];
        const all = rounds.flat();
        return {
          target: t.target,
          depth: t.depth,
          page: t.page,
          requests: all.length,
          p50Ms: percentile(all, 50),
          p95Ms: percentile(all, 95),
          p99Ms: percentile(all, 99),
          roundsP50Ms: rounds.map((r) => percentile(r, 50)),
        };
      });
      const ratioOf = (kind: 'first' | 'deep'): number => {
        const shallow = figures.find((f) => f.page === kind && f.depth === SHALLOW);
        const deep = figures.find((f) => f.page === kind && f.depth === DEEP);
        if (!shallow || !deep) return Number.NaN;
        return median(deep.roundsP50Ms.map((p, r) => p / (shallow.roundsP50Ms[r] ?? Number.NaN)));
      };
      const deepFigure = figures.find((f) => f.page === 'deep' && f.depth === DEEP);
      const pgFigure = figures.find((f) => f.page === 'baseline');
      const data: PageDepthData = {
        limit: LIMIT,
        shallow: SHALLOW,
        deep: DEEP,
        inFlight: IN_FLIGHT,
        rounds: ROUNDS,
        targets: figures,
        ratios: { first: ratioOf('first'), deep: ratioOf('deep') },
        deepToPgPk: deepFigure && pgFigure ? deepFigure.p50Ms / pgFigure.p50Ms : null,
        goal: PAGE_DEPTH_GOAL,
      };
      const ms = (n: number): string => `${n.toFixed(2)} ms`;
      const met = (r: number): string => (r <= PAGE_DEPTH_GOAL ? 'met' : 'NOT met');
      const lines = [
        ...figures.map((f) => `${f.target}: p50 ${ms(f.p50Ms)}, p95 ${ms(f.p95Ms)}, p99 ${ms(f.p99Ms)} (${f.requests} requests; p50 per round ${f.roundsP50Ms.map((x) => x.toFixed(2)).join(' / ')})`),
        `first page (from the conversation cache): p50 at ${DEEP.toLocaleString('en-US')} ÷ at ${SHALLOW} = ${data.ratios.first.toFixed(2)}× (goal ≤ ${PAGE_DEPTH_GOAL}×: ${met(data.ratios.first)})`,
        `deep page (database, before=<id>): p50 at ${DEEP.toLocaleString('en-US')} ÷ at ${SHALLOW} = ${data.ratios.deep.toFixed(2)}× (goal ≤ ${PAGE_DEPTH_GOAL}×: ${met(data.ratios.deep)})${data.deepToPgPk === null ? '' : `; deep page at ${DEEP.toLocaleString('en-US')} = ${data.deepToPgPk.toFixed(2)}× the p50 of one pg primary-key SELECT over HTTP`}`,
        `(medians of per-round ratios; latency timed per request from the bench, ${IN_FLIGHT} in flight over keep-alive connections, the targets interleaved request by request)`,
      ];
      return { lines, data, failures };
    } catch (err) {
      failures.push(`message-page-depth: ${(err as Error).message}`);
      return { lines: [], data: null, failures };
    } finally {
      try {
        await teardown();
      } catch (err) {
        failures.push(`message-page-depth teardown: ${(err as Error).message}`);
      }
    }
  },
};
