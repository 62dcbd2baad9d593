/**
 * The multi-tier cache (in-process L1 + Redis L2, invalidation bus, cross-process single-flight),
 * seen from outside: AI answers (X-Cache), tool results (`cached`), coherence between two API
 * processes sharing Redis, one upstream call for a cold stampede across processes, and fail-open
 * while Redis is down (then recovery once it is back).
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  startApi,
  startFakeUpstream,
  type FakeUpstream,
  type StartedApi,
  type TestDatabase,
} from '@chat/testing';
import {
  createConversation,
  headerOf,
  newUser,
  postMessage,
  upstreamCalls,
  upstreamChatRequests,
  upstreamEnv,
  waitFor,
  type TestUser,
} from './support/api.js';
import { expectError, expectOk } from './support/assertions.js';
import { chatText, conversationInput, uniqueWord } from './support/factories.js';
import { ApiClient, type HttpRequest, type HttpResponse } from './support/http.js';
import { startPrivateRedis, redisAnswers, type PrivateRedis } from '@chat/testing';
import { sseEvents } from './support/sse.js';
import type {
  CalculatorResult,
  ChatCompletion,
  ChatCompletionChunk,
  Conversation,
  CurrentTimeResult,
  Message,
  Page,
  PostMessageReply,
  ToolInvocation,
} from './support/types.js';

/** Every request of this file gives up after this long: a hang is a failure, not a stuck run. */
const REQUEST_TIMEOUT_MS = 10_000;

const broken = { status: 500, body: { error: { message: 'boom', type: 'server_error' } } };

// --- helpers ---------------------------------------------------------------------------------------

function completionRequest(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'fake-model', messages: [{ role: 'user', content }], ...extra };
}

function completion(
  client: ApiClient,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<HttpResponse<ChatCompletion>> {
  return client.request<ChatCompletion>({
    method: 'POST',
    path: '/v1/chat/completions',
    json: body,
    headers,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

function xCache(res: HttpResponse<unknown>): string | null {
  return res.headers.get('x-cache');
}

/** How many responses carried each X-Cache value. */
function count(responses: HttpResponse<unknown>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const res of responses) out[String(xCache(res))] = (out[String(xCache(res))] ?? 0) + 1;
  return out;
}

/** The answer text of a non-stream completion (asserts 200). */
function answerOf(res: HttpResponse<ChatCompletion>): string | null {
  const body = expectOk(res);
  expect(body.object, res.text).toBe('chat.completion');
  return body.choices[0]?.message.content ?? null;
}

/** The text of a streamed completion: its content deltas joined (asserts 200, SSE, and the [DONE] end). */
function streamedAnswerOf(res: HttpResponse<unknown>): string {
  expect(res.status, res.text.slice(0, 500)).toBe(200);
  expect(res.headers.get('content-type') ?? '').toMatch(/text\/event-stream/);
  const events = sseEvents<ChatCompletionChunk>(res.text);
  expect(events.at(-1), res.text.slice(-300)).toBe('[DONE]');
  const chunks = events.filter((e): e is ChatCompletionChunk => e !== '[DONE]');
  for (const chunk of chunks) expect(chunk.object, JSON.stringify(chunk)).toBe('chat.completion.chunk');
  expect(chunks.some((c) => c.choices[0]?.finish_reason === 'stop'), res.text.slice(-500)).toBe(true);
  return chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
}

/** A calculator expression no other run has asked for (tool results are cached across users). */
function freshExpression(): { expression: string; value: number } {
  const a = randomInt(100_000, 1_000_000);
  const b = randomInt(100_000, 1_000_000);
  const c = randomInt(2, 1_000);
  return { expression: `${a}+${b}*${c}`, value: a + b * c };
}

/** A client of `api` for an existing user (the user lives in the shared database). */
function clientOn(api: StartedApi, user: TestUser): ApiClient {
  return new ApiClient(api.url, user.apiKey);
}

async function getConversation(client: ApiClient, id: string): Promise<HttpResponse<Conversation>> {
  return client.request<Conversation>({ path: `/v1/conversations/${id}`, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

async function getMessages(client: ApiClient, id: string): Promise<HttpResponse<Page<Message>>> {
  return client.request<Page<Message>>({
    path: `/v1/conversations/${id}/messages`,
    query: { limit: 200 },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

// --- 1. one process ------------------------------------------------------------------------------

describe('AI-response and tool-result cache in one process', () => {
  let fake: FakeUpstream;
  let api: StartedApi;
  let user: TestUser;

  beforeAll(async () => {
    fake = await startFakeUpstream({ model: 'fake-model', latencyMs: 0 });
    api = await startApi({ env: upstreamEnv(fake, { AI_MAX_RETRIES: '2' }), redis: true });
    user = await newUser(api);
  });

  afterAll(async () => {
    await api?.stop();
    await fake?.close();
  });

  beforeEach(() => fake.reset());

  it('the same chat completion twice: MISS then HIT with identical content, one upstream call', async () => {
    const body = completionRequest(chatText());
    const answer = `the cached answer ${uniqueWord()} is this`;
    fake.script({ content: answer });

    const first = await completion(user.client, body);
    expect(answerOf(first)).toBe(answer);
    expect(xCache(first)).toBe('MISS');
    expect(upstreamCalls(fake)).toBe(1);

    const second = await completion(user.client, body);
    // Had it reached the upstream, the default reply (an echo) would differ from the scripted answer.
    expect(answerOf(second)).toBe(answer);
    expect(xCache(second)).toBe('HIT');
    expect(upstreamCalls(fake)).toBe(1);
  });

  it('Cache-Control: no-cache / no-store bypass the cache: MISS and the upstream is called again', async () => {
    const body = completionRequest(chatText());
    const answer = `first answer ${uniqueWord()}`;
    fake.script({ content: answer });
    expect(answerOf(await completion(user.client, body))).toBe(answer);
    const control = await completion(user.client, body);
    expect(xCache(control), 'without the header the answer is cached').toBe('HIT');
    expect(upstreamCalls(fake)).toBe(1);

    const noStore = await completion(user.client, body, { 'cache-control': 'no-store' });
    expect(answerOf(noStore)).toBe(`echo: ${(body['messages'] as { content: string }[])[0]?.content}`);
    expect(xCache(noStore)).toBe('MISS');
    expect(upstreamCalls(fake)).toBe(2);

    // no-store wrote nothing: the cached answer is still the first one.
    const after = await completion(user.client, body);
    expect(xCache(after)).toBe('HIT');
    expect(answerOf(after)).toBe(answer);
    expect(upstreamCalls(fake)).toBe(2);

    const noCache = await completion(user.client, body, { 'cache-control': 'no-cache' });
    expect(noCache.status, noCache.text).toBe(200);
    expect(xCache(noCache)).toBe('MISS');
    expect(upstreamCalls(fake)).toBe(3);
  });

  it('stream:true after a non-stream answer is a HIT whose SSE replays the same content', async () => {
    const body = completionRequest(chatText());
    const answer = `a several word answer ${uniqueWord()} to replay as a stream`;
    fake.script({ content: answer });
    const first = await completion(user.client, body);
    expect(answerOf(first)).toBe(answer);
    expect(xCache(first)).toBe('MISS');

    const streamed = await completion(user.client, { ...body, stream: true });
    expect(xCache(streamed)).toBe('HIT');
    expect(streamedAnswerOf(streamed)).toBe(answer);
    expect(upstreamCalls(fake)).toBe(1);
  });

  it('a fresh streamed prompt is a MISS, the same streamed prompt again a HIT with the same content', async () => {
    const body = completionRequest(chatText(), { stream: true });
    const answer = `streamed answer number ${uniqueWord()} in words`;
    fake.script({ content: answer });

    const first = await completion(user.client, body);
    expect(xCache(first)).toBe('MISS');
    expect(streamedAnswerOf(first)).toBe(answer);
    expect(upstreamCalls(fake)).toBe(1);

    const second = await completion(user.client, body);
    expect(xCache(second)).toBe('HIT');
    expect(streamedAnswerOf(second)).toBe(answer);
    expect(upstreamCalls(fake)).toBe(1);

    // The streamed answer serves a non-stream request too.
    const plain = await completion(user.client, { ...body, stream: false });
    expect(xCache(plain)).toBe('HIT');
    expect(answerOf(plain)).toBe(answer);
    expect(upstreamCalls(fake)).toBe(1);
  });

  it('another user with the same request is a MISS (answers are cached per user)', async () => {
    const other = await newUser(api);
    const body = completionRequest(chatText());
    const answer = `private answer ${uniqueWord()}`;
    fake.script({ content: answer });
    expect(answerOf(await completion(user.client, body))).toBe(answer);
    expect(xCache(await completion(user.client, body))).toBe('HIT');
    expect(upstreamCalls(fake)).toBe(1);

    const theirs = await completion(other.client, body);
    expect(xCache(theirs)).toBe('MISS');
    expect(answerOf(theirs)).not.toBe(answer);
    expect(upstreamCalls(fake)).toBe(2);

    const theirsAgain = await completion(other.client, body);
    expect(xCache(theirsAgain)).toBe('HIT');
    expect(answerOf(theirsAgain)).toBe(answerOf(theirs));
    expect(upstreamCalls(fake)).toBe(2);
  });

  it('an upstream error is not cached: the next identical request reaches the upstream and succeeds', async () => {
    const content = chatText();
    const body = completionRequest(content);
    fake.script(broken, broken, broken);

    const failed = await completion(user.client, body);
    expectError(failed, 502);
    expect(upstreamCalls(fake)).toBe(3);

    const retried = await completion(user.client, body);
    expect(answerOf(retried)).toBe(`echo: ${content}`);
    expect(xCache(retried)).toBe('MISS');
    expect(upstreamCalls(fake)).toBe(4);

    const again = await completion(user.client, body);
    expect(xCache(again)).toBe('HIT');
    expect(upstreamCalls(fake)).toBe(4);
  });

  it('an upstream error on a stream is not cached either', async () => {
    const content = chatText();
    const body = completionRequest(content, { stream: true });
    fake.script(broken, broken, broken);
    // The failure comes before the first event, so it is a plain JSON error.
    expectError(await completion(user.client, body), 502);
    expect(upstreamCalls(fake)).toBe(3);

    const retried = await completion(user.client, body);
    expect(xCache(retried)).toBe('MISS');
    expect(streamedAnswerOf(retried)).toBe(`echo: ${content}`);
    expect(upstreamCalls(fake)).toBe(4);
  });

  it('POST messages with cache:false never HITs: it neither reads nor writes the AI-response cache', async () => {
    // Conversations with the same system prompt and the same first message send the same model request.
    const input = conversationInput();
    const send = async (content: string, cache?: boolean): Promise<{ xCache: string | null; reply: PostMessageReply }> => {
      const conversation = await createConversation(user.client, input);
      const res = await postMessage(user.client, conversation.id, cache === undefined ? { content } : { content, cache });
      expect(res.status, res.text).toBe(201);
      return { xCache: xCache(res), reply: res.body };
    };

    const cachedContent = chatText();
    const primed = await send(cachedContent);
    expect(primed.xCache).toBe('MISS');
    expect(primed.reply.assistantMessage.cached).toBe(false);
    const control = await send(cachedContent);
    expect(control.xCache, 'the same request without cache:false is served from the cache').toBe('HIT');
    expect(control.reply.assistantMessage.cached).toBe(true);
    expect(upstreamCalls(fake)).toBe(1);

    for (let i = 0; i < 3; i++) {
      const bypass = await send(cachedContent, false);
      expect(bypass.xCache).toBe('MISS');
      expect(bypass.reply.assistantMessage.cached).toBe(false);
      expect(bypass.reply.assistantMessage.content).toBe(`echo: ${cachedContent}`);
      expect(upstreamCalls(fake)).toBe(2 + i);
    }

    // cache:false wrote nothing: a fresh request asked twice with cache:false, then normally, is still a MISS.
    const freshContent = chatText();
    for (let i = 0; i < 2; i++) expect((await send(freshContent, false)).xCache).toBe('MISS');
    const normal = await send(freshContent);
    expect(normal.xCache).toBe('MISS');
    expect(normal.reply.assistantMessage.cached).toBe(false);
    expect(upstreamCalls(fake)).toBe(7);
  });

  it('calculator results are cached (false, then true); current_time never is', async () => {
    const { expression, value } = freshExpression();
    const invoke = (name: string, args: object) =>
      user.client.request<ToolInvocation>({
        method: 'POST',
        path: `/v1/tools/${name}/invoke`,
        json: { arguments: args },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });

    const first = expectOk(await invoke('calculator', { expression })) as ToolInvocation<CalculatorResult>;
    expect(first.cached).toBe(false);
    expect(first.result.value).toBe(value);
    const second = expectOk(await invoke('calculator', { expression })) as ToolInvocation<CalculatorResult>;
    expect(second.cached).toBe(true);
    expect(second.result).toEqual(first.result);

    for (let i = 0; i < 2; i++) {
      const now = expectOk(await invoke('current_time', { timezone: 'UTC' })) as ToolInvocation<CurrentTimeResult>;
      expect(now.cached).toBe(false);
      expect(typeof now.result.unixMs).toBe('number');
    }
  });
});

// --- 2 and 3. two processes sharing one database and Redis --------------------------------------

const UPSTREAM_KEY_A = `sk-upstream-process-a-${uniqueWord()}`;
const UPSTREAM_KEY_B = `sk-upstream-process-b-${uniqueWord()}`;

/** Which process made each upstream call, in order ("A" / "B"). */
function upstreamCallers(fake: FakeUpstream): string[] {
  return upstreamChatRequests(fake).map((r) => {
    const auth = headerOf(r, 'authorization');
    return auth === `Bearer ${UPSTREAM_KEY_A}` ? 'A' : auth === `Bearer ${UPSTREAM_KEY_B}` ? 'B' : String(auth);
  });
}

describe('two API processes sharing one database and Redis', () => {
  let fake: FakeUpstream;
  let db: TestDatabase;
  let apiA: StartedApi;
  let apiB: StartedApi;

  beforeAll(async () => {
    fake = await startFakeUpstream({ model: 'fake-model', latencyMs: 0 });
    db = await createTestDatabase('chat_cache_e2e');
    const options = (upstreamKey: string) => ({
      // A key of its own per process, so that the upstream's requests tell which process called.
      env: upstreamEnv(fake, { AI_API_KEY: upstreamKey }),
      redis: true,
      database: { url: db.url },
    });
    // One after the other: both run the migrations at start.
    apiA = await startApi(options(UPSTREAM_KEY_A));
    apiB = await startApi(options(UPSTREAM_KEY_B));
  });

  afterAll(async () => {
    await Promise.all([apiA?.stop(), apiB?.stop()]);
    await db?.drop();
    await fake?.close();
  });

  it('write on A, read on B is fresh (and the other way round), over several rounds', async () => {
    const user = await newUser(apiA);
    const onA = clientOn(apiA, user);
    const onB = clientOn(apiB, user);

    for (let round = 0; round < 6; round++) {
      // Even rounds write on A and read on B; odd rounds the other way.
      const [writer, reader] = round % 2 === 0 ? [onA, onB] : [onB, onA];
      const what = `round ${round} (writer ${writer.baseUrl}, reader ${reader.baseUrl})`;
      const conversation = await createConversation(writer);

      // The reader reads twice (the second from its cache) before every write.
      for (let i = 0; i < 2; i++) expect(expectOk(await getConversation(reader, conversation.id)).title, what).toBe(conversation.title);
      for (let i = 0; i < 2; i++) expect(expectOk(await getMessages(reader, conversation.id)).items, what).toEqual([]);

      for (let edit = 0; edit < 3; edit++) {
        const title = `title ${round}.${edit} ${uniqueWord()}`;
        const patched = expectOk(await writer.patch<Conversation>(`/v1/conversations/${conversation.id}`, { title }));
        expect(patched.title).toBe(title);
        const seen = expectOk(await getConversation(reader, conversation.id));
        expect(seen.title, `${what}: the reader's GET after PATCH ${edit}`).toBe(title);
        expect(seen.updatedAt, what).toBe(patched.updatedAt);
      }

      let stored: Message[] = [];
      for (let post = 0; post < 2; post++) {
        const res = await postMessage(writer, conversation.id, { content: chatText() });
        expect(res.status, res.text).toBe(201);
        const reply = res.body;
        stored = [...stored, reply.userMessage, reply.assistantMessage];
        const page = expectOk(await getMessages(reader, conversation.id));
        expect(
          page.items.map((m) => m.id),
          `${what}: the reader's GET messages after post ${post}`,
        ).toEqual(stored.map((m) => m.id));
        const seen = expectOk(await getConversation(reader, conversation.id));
        expect(seen.messageCount, `${what}: messageCount after post ${post}`).toBe(stored.length);
        expect(seen.title, what).toBe(expectOk(await getConversation(writer, conversation.id)).title);
      }

      expect((await writer.delete(`/v1/conversations/${conversation.id}`)).status, what).toBe(204);
      expectError(await getConversation(reader, conversation.id), 404);
      expectError(await getMessages(reader, conversation.id), 404);
    }
  });

  it('500 concurrent identical cold prompts, 250 on each process, reach the upstream exactly once', async () => {
    const user = await newUser(apiA);
    const onA = clientOn(apiA, user);
    const onB = clientOn(apiB, user);
    // Warm both processes (API-key lookup, upstream connection) with another prompt.
    for (const client of [onA, onB]) expectOk(await completion(client, completionRequest(chatText())));

    fake.reset();
    // Long enough for all 500 requests to be in flight while the one upstream call is. With 300 ms
    // this machine (2 CPUs) could not: the first upstream call arrived 0.4-2.7 s after the burst
    // started and about half the requests were parsed only after the answer was back.
    fake.setOptions({ latencyMs: 1_500 });
    const answer = `the one and only answer ${uniqueWord()}`;
    fake.script({ content: answer });
    const body = completionRequest(chatText());
    try {
      const responses = await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          (i % 2 === 0 ? onA : onB).request<ChatCompletion>({
            method: 'POST',
            path: '/v1/chat/completions',
            json: body,
            signal: AbortSignal.timeout(30_000),
          }),
        ),
      );
      const bad = responses.filter((r) => r.status !== 200);
      expect(bad.map((r) => `${r.status} ${r.text.slice(0, 200)}`)).toEqual([]);
      const xCaches = { A: count(responses.filter((_, i) => i % 2 === 0)), B: count(responses.filter((_, i) => i % 2 === 1)) };
      expect(upstreamCalls(fake), `upstream calls made by ${upstreamCallers(fake).join(', ')}; X-Cache ${JSON.stringify(xCaches)}`).toBe(1);
      const answers = new Set(responses.map((r) => r.body.choices[0]?.message.content));
      expect([...answers]).toEqual([answer]);
    } finally {
      fake.setOptions({ latencyMs: 0 });
    }
  });
});

// --- 4. Redis stopped mid-test ---------------------------------------------------------------------

interface Outcome {
  label: string;
  expected: number[];
  status: number | null;
  error?: string;
  text?: string;
}

describe('Redis stopped mid-test, then started again', () => {
  let redis: PrivateRedis;
  let fake: FakeUpstream;
  let db: TestDatabase;
  let apiA: StartedApi;
  let apiB: StartedApi;
  let onA: ApiClient;
  let onB: ApiClient;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    fake = await startFakeUpstream({ model: 'fake-model', latencyMs: 0 });
    db = await createTestDatabase('chat_cache_e2e');
    // Rate limiting stays off (the launcher's default): its store is in the Redis we are about to stop.
    const options = { env: upstreamEnv(fake, { REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '0' }), database: { url: db.url } };
    apiA = await startApi(options);
    apiB = await startApi(options);
    const user = await newUser(apiA);
    onA = clientOn(apiA, user);
    onB = clientOn(apiB, user);
  });

  afterAll(async () => {
    await Promise.all([apiA?.stop(), apiB?.stop()]);
    await redis?.stop();
    await db?.drop();
    await fake?.close();
  });

  /** One write on A then a read on B (B read it first, so it is in B's L1): true when B sees the write. */
  const writeOnAReadOnB = async (conversationId: string): Promise<boolean> => {
    expectOk(await getConversation(onB, conversationId));
    const title = `after ${uniqueWord()}`;
    expectOk(await onA.patch<Conversation>(`/v1/conversations/${conversationId}`, { title }));
    return expectOk(await getConversation(onB, conversationId)).title === title;
  };

  /** A fresh prompt answered on A (MISS), then asked on B: true when B's answer is a HIT with the same content. */
  const cachedOnAHitOnB = async (): Promise<boolean> => {
    const body = completionRequest(chatText());
    const onFirst = await completion(onA, body);
    const content = answerOf(onFirst);
    expect(xCache(onFirst)).toBe('MISS');
    const calls = upstreamCalls(fake);
    const onSecond = await completion(onB, body);
    expect(answerOf(onSecond)).toBe(content);
    if (xCache(onSecond) !== 'HIT') return false;
    expect(upstreamCalls(fake), 'a HIT on B does not reach the upstream').toBe(calls);
    return true;
  };

  it('before the outage: a write on A is fresh on B, a completion cached on A is a HIT on B', async () => {
    // So that the same checks after the restart mean something.
    const conversation = await createConversation(onA);
    for (let i = 0; i < 3; i++) expect(await writeOnAReadOnB(conversation.id), `write ${i} on A, read on B`).toBe(true);
    expect(await cachedOnAHitOnB(), 'L2 shared before the outage').toBe(true);
  });

  it('while Redis is down: a mixed load on both processes gets every answer, none of them a 5xx', { timeout: 60_000 }, async () => {
    await redis.kill();
    expect(await redisAnswers(redis.port)).toBe(false);

    const outcomes: Outcome[] = [];
    const call = async <T>(label: string, expected: number[], client: ApiClient, req: HttpRequest): Promise<HttpResponse<T> | null> => {
      try {
        const res = await client.request<T>({ ...req, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        outcomes.push({ label, expected, status: res.status, text: res.text.slice(0, 300) });
        return res;
      } catch (error) {
        outcomes.push({ label, expected, status: null, error: String(error) });
        return null;
      }
    };
    const sharedPrompt = chatText();
    const mixedLoad = async (worker: number, until: number): Promise<void> => {
      for (let i = 0; Date.now() < until; i++) {
        const [x, y] = (worker + i) % 2 === 0 ? [onA, onB] : [onB, onA];
        const created = await call<Conversation>('create', [201], x, { method: 'POST', path: '/v1/conversations', json: conversationInput() });
        if (created?.status !== 201) continue;
        const path = `/v1/conversations/${created.body.id}`;
        await call('get', [200], y, { path });
        await call('patch', [200], x, { method: 'PATCH', path, json: { title: `outage ${uniqueWord()}` } });
        await call('get after patch', [200], y, { path });
        await call('post message', [201], y, { method: 'POST', path: `${path}/messages`, json: { content: chatText() } });
        await call('list messages', [200], x, { path: `${path}/messages` });
        await call('list conversations', [200], y, { path: '/v1/conversations' });
        await call('completion (shared prompt)', [200], x, { method: 'POST', path: '/v1/chat/completions', json: completionRequest(sharedPrompt) });
        await call('completion (fresh, stream)', [200], y, {
          method: 'POST',
          path: '/v1/chat/completions',
          json: completionRequest(chatText(), { stream: true }),
        });
        await call('calculator', [200], x, { method: 'POST', path: '/v1/tools/calculator/invoke', json: { arguments: { expression: '6*7' } } });
        await call('delete', [204], x, { method: 'DELETE', path });
        // Within the short L1 lifetime allowed while the bus is down, another process may still see it.
        await call('get after delete', [404, 200], y, { path });
      }
    };
    const until = Date.now() + 4_000;
    await Promise.all(Array.from({ length: 6 }, (_, w) => mixedLoad(w, until)));

    const unanswered = outcomes.filter((o) => o.status === null);
    const serverErrors = outcomes.filter((o) => o.status !== null && o.status >= 500);
    const unexpected = outcomes.filter((o) => o.status !== null && !o.expected.includes(o.status));
    expect(unanswered.slice(0, 10), `${unanswered.length} of ${outcomes.length} requests got no answer`).toEqual([]);
    expect(serverErrors.slice(0, 10), `${serverErrors.length} of ${outcomes.length} requests answered 5xx`).toEqual([]);
    expect(unexpected.slice(0, 10), `${unexpected.length} of ${outcomes.length} unexpected statuses`).toEqual([]);
    expect(outcomes.length, 'the load ran').toBeGreaterThan(50);
    expect(await redisAnswers(redis.port), 'Redis stayed down during the load').toBe(false);
  });

  it('after Redis is back on the same port: writes on A are fresh on B (bus) and answers cached on A HIT on B (L2)', { timeout: 60_000 }, async () => {
    if (!redis.running) await redis.start();
    // Wait for the state (both cache paths working again), then check it strictly over several rounds.
    const probe = await createConversation(onA);
    await waitFor(async () => (await writeOnAReadOnB(probe.id)) && (await cachedOnAHitOnB()), 'the bus and L2 to resume', 30_000);
    for (let round = 0; round < 5; round++) {
      const conversation = await createConversation(onA);
      for (let i = 0; i < 2; i++) expect(await writeOnAReadOnB(conversation.id), `round ${round}: B reads A's write ${i} after the restart`).toBe(true);
      expect(expectOk(await getMessages(onB, conversation.id)).items).toEqual([]);
      const res = await postMessage(onA, conversation.id, { content: chatText() });
      expect(res.status, res.text).toBe(201);
      const page = expectOk(await getMessages(onB, conversation.id));
      expect(page.items.map((m) => m.id), `round ${round}: B's messages after A's post`).toEqual([res.body.userMessage.id, res.body.assistantMessage.id]);
      expect(expectOk(await getConversation(onB, conversation.id)).messageCount).toBe(2);
      expect(await cachedOnAHitOnB(), `round ${round}: a completion cached on A is a HIT on B`).toBe(true);
    }
  });
});
