/**
 * Async tasks across processes: one `ROLE=api` process and `ROLE=worker` processes sharing one
 * PostgreSQL database and one private Redis (killed and restarted by the outage tests).
 *
 * The tests run in order and hand the workers on: W1 serves the split-roles tests and is killed
 * mid-answer (SIGKILL); W2 and W3, started then, take the task over; the one holding the next task
 * is stopped past its drain deadline (it gives the task back, the other completes it); the last one
 * lives through a Redis outage, and is finally stopped (SIGTERM) with a task in flight, which it finishes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  DEFAULT_API_ENTRY,
  spawnNode,
  startApi,
  startFakeUpstream,
  startPrivateRedis,
  type FakeUpstream,
  type PrivateRedis,
  type StartedApi,
  type TestDatabase,
} from '@chat/testing';
import { http, type ApiClient } from './support/http.js';
import { adminClient, allMessages, createConversation, headerOf, newUser, upstreamChatRequests, waitFor, type TestUser } from './support/api.js';
import { chatText, sumExpression } from './support/factories.js';
import { expectError, expectOk } from './support/assertions.js';
import {
  acceptAsync,
  getConversation,
  getTask,
  invokeAsync,
  submitAsync,
  waitForCompleted,
  waitForConversation,
  waitForIdleQueue,
} from './support/tasks.js';
import type { CalculatorResult, ChatReplyResult, Task, ToolInvocation } from './support/types.js';

/** A worker's drain deadline is 60 % of it (apps/api/src/app.module.ts). */
const SHUTDOWN_TIMEOUT_MS = 4_000;
const DRAIN_MS = SHUTDOWN_TIMEOUT_MS * 0.6;

let redis: PrivateRedis;
let fake: FakeUpstream;
let db: TestDatabase;
let api: StartedApi;
let admin: ApiClient;
let user: TestUser;
const adminToken = randomBytes(24).toString('hex');

interface Worker {
  name: string;
  proc: StartedApi;
  /** The AI_API_KEY it sends upstream: tells which worker made a model call. */
  upstreamKey: string;
}
const workers: Worker[] = [];

function sharedEnv(extra: Record<string, string>): Record<string, string> {
  return {
    REDIS_URL: redis.url,
    AI_BASE_URL: fake.baseUrl,
    AI_MODEL: 'fake-model',
    AI_MAX_RETRIES: '0',
    AI_TIMEOUT_MS: '20000',
    TASK_LEASE_MS: '1000',
    TASK_RECONCILE_INTERVAL_MS: '200',
    TASK_BACKOFF_MS: '100',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    ...extra,
  };
}

async function startWorker(name: string): Promise<Worker> {
  const upstreamKey = `sk-${name}-${randomUUID()}`;
  // One attempt at a time, so that a busy worker leaves the next job waiting in Redis.
  const proc = await startApi({
    database: { url: db.url },
    adminToken,
    env: sharedEnv({ ROLE: 'worker', AI_API_KEY: upstreamKey, TASK_CONCURRENCY: '1' }),
  });
  const worker = { name, proc, upstreamKey };
  workers.push(worker);
  return worker;
}

const stopped = new Set<Worker>();

function alive(): Worker[] {
  return workers.filter((w) => !stopped.has(w));
}

async function stopWorker(worker: Worker, signal: NodeJS.Signals): Promise<number | null> {
  stopped.add(worker);
  return worker.proc.stop(signal);
}

/** The worker whose key the n-th (0-based) model call carried. */
function callerOf(index: number): Worker | undefined {
  const request = upstreamChatRequests(fake)[index];
  const auth = request === undefined ? undefined : headerOf(request, 'authorization');
  return workers.find((w) => auth === `Bearer ${w.upstreamKey}`);
}

/** Waits until the upstream has received `count` model calls. */
async function upstreamSaw(count: number): Promise<void> {
  await waitFor(() => upstreamChatRequests(fake).length >= count, `${count} model call(s) at the upstream`, 30_000);
}

beforeAll(async () => {
  [redis, fake, db] = await Promise.all([startPrivateRedis(), startFakeUpstream({ model: 'fake-model' }), createTestDatabase('chat_tasks_roles')]);
  [api] = await Promise.all([
    startApi({ database: { url: db.url }, adminToken, env: sharedEnv({ ROLE: 'api', AI_API_KEY: `sk-api-${randomUUID()}` }) }),
    startWorker('w1'),
  ]);
  admin = adminClient(api);
  user = await newUser(api);
}, 120_000);

afterAll(async () => {
  redis?.resume();
  await Promise.all([api?.stop(), ...workers.map((w) => w.proc.stop())]);
  await Promise.all([redis?.stop(), fake?.close(), db?.drop()]);
});

beforeEach(() => {
  fake.reset();
  fake.setOptions({ latencyMs: 0 });
});

/**
 * The conversation holds the user message and exactly one answer, the task's, as soon as the task
 * reads completed: the worker drops the API process's cached conversation before it commits (and
 * again after), so an eager reader never gets the copy from before the answer.
 */
async function expectOneAnswer(conversationId: string, task: Task<ChatReplyResult>): Promise<void> {
  const stored = await allMessages(user.client, conversationId);
  expect(stored.map((m) => m.role), JSON.stringify(stored)).toEqual(['user', 'assistant']);
  expect(task.result?.assistantMessage).toEqual(stored[1]);
  expect((await getConversation(user.client, conversationId)).messageCount).toBe(2);
}

describe('configuration', () => {
  it.each(['worker', 'api'])('ROLE=%s without REDIS_URL exits 1 with one line naming the problem', async (role) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ROLE: role, DATABASE_URL: db.url, ADMIN_TOKEN: adminToken, PORT: '0' };
    const proc = spawnNode(DEFAULT_API_ENTRY, env);
    const code = await Promise.race([proc.exited, sleep(15_000).then(() => 'still running' as const)]);
    if (code === 'still running') await proc.stop('SIGKILL');
    expect(code, proc.logs.toString()).toBe(1);
    const lines = proc.logs
      .toString()
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(lines, proc.logs.toString()).toHaveLength(1);
    expect(lines[0]).toMatch(/ROLE/);
    expect(lines[0]).toMatch(/REDIS_URL/);
  });
});

describe('split roles: ROLE=api submits, ROLE=worker answers', () => {
  it('async messages and tool tasks posted to the API are answered by the worker', async () => {
    const [c1, c2] = await Promise.all([createConversation(user.client), createConversation(user.client, {})]);
    const inputs = [
      { conversation: c1, content: chatText() },
      { conversation: c2, content: chatText() },
    ];
    const accepted = await Promise.all(inputs.map((i) => acceptAsync(user.client, i.conversation.id, { content: i.content })));
    const sum = sumExpression();
    const tool = expectOk(await invokeAsync(user.client, 'calculator', { expression: sum.expression }), 202);
    for (const [i, a] of accepted.entries()) {
      const done = await waitForCompleted<ChatReplyResult>(user.client, a.task.id);
      expect(done.result?.assistantMessage.content).toBe(`echo: ${inputs[i].content}`);
      await expectOneAnswer(inputs[i].conversation.id, done);
    }
    const toolDone = await waitForCompleted<ToolInvocation<CalculatorResult>>(user.client, tool.id);
    expect(toolDone.result?.result).toEqual({ expression: sum.expression, value: sum.value });
    // Every model call came from the worker (the API process has its own upstream key and never calls).
    const w1 = workers[0];
    expect(upstreamChatRequests(fake).length).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < upstreamChatRequests(fake).length; i++) expect(callerOf(i)).toBe(w1);
    // The worker also runs the title task of the untitled conversation.
    await waitForConversation(user.client, c2.id, (c) => c.title === `echo: ${inputs[1].content}`, 'the title task');
    expect((await getConversation(user.client, c1.id)).title).toBe(c1.title);
  });

  it('the worker serves /health/* and nothing else', async () => {
    const w1 = workers[0].proc;
    expect((await http(w1.url, { path: '/health/live' })).status).toBe(200);
    expect((await http(w1.url, { path: '/health/ready' })).status).toBe(200);
    expectError(await http(w1.url, { path: '/v1/conversations', token: user.apiKey }), 404);
    expectError(await http(w1.url, { path: '/v1/conversations', method: 'POST', token: user.apiKey, json: {} }), 404);
    expectError(await http(w1.url, { path: '/v1/tools', token: user.apiKey }), 404);
    expectError(await http(w1.url, { path: '/v1/admin/tasks', token: adminToken }), 404);
    expectError(await http(w1.url, { path: '/v1/admin/users', method: 'POST', token: adminToken, json: { name: 'x' } }), 404);
    expectError(await http(w1.url, { path: `/v1/tasks/${randomUUID()}`, token: user.apiKey }), 404);
    // The API process, for comparison, serves them.
    expectOk(await user.client.get('/v1/conversations'));
  });
});

describe('worker failures', () => {
  it('a worker killed (SIGKILL) mid-answer: another worker takes the task over after the lease, and the conversation gets exactly ONE answer', async () => {
    await waitForIdleQueue(admin);
    fake.reset();
    const w1 = workers[0];
    const conversation = await createConversation(user.client);
    fake.setOptions({ latencyMs: 3_000 });
    const accepted = await acceptAsync(user.client, conversation.id, { content: chatText(), cache: false });
    await upstreamSaw(1);
    expect(callerOf(0)).toBe(w1);
    expect((await getTask(user.client, accepted.task.id)).status).toBe('running');
    expect(await stopWorker(w1, 'SIGKILL')).toBeNull();
    fake.setOptions({ latencyMs: 0 });

    // Two new workers: the drain test needs two at once.
    await Promise.all([startWorker('w2'), startWorker('w3')]);
    const done = await waitForCompleted<ChatReplyResult>(user.client, accepted.task.id, 45_000);
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    const callers = upstreamChatRequests(fake).map((_, i) => callerOf(i));
    expect(callers.length).toBeGreaterThanOrEqual(2);
    expect(callers.slice(1).every((w) => w !== undefined && w !== w1)).toBe(true);
    await expectOneAnswer(conversation.id, done);
    // Even a while later (the killed attempt can no longer commit anything), one answer.
    await sleep(500);
    expect((await allMessages(user.client, conversation.id)).filter((m) => m.role === 'assistant')).toHaveLength(1);
  });

  it(`SIGTERM past the drain deadline (${DRAIN_MS} ms): the worker gives the task back uncounted, exits 0, and another worker completes it`, async () => {
    await waitForIdleQueue(admin);
    fake.reset();
    expect(alive().length).toBeGreaterThanOrEqual(2);
    const conversation = await createConversation(user.client);
    fake.setOptions({ latencyMs: DRAIN_MS + 10_000 });
    const accepted = await acceptAsync(user.client, conversation.id, { content: chatText(), cache: false });
    await upstreamSaw(1);
    const holder = callerOf(0);
    expect(holder).toBeDefined();
    // Only the held call is slow; the next one, by another worker, is not.
    fake.setOptions({ latencyMs: 0 });
    const code = await stopWorker(holder!, 'SIGTERM');
    expect(code, holder!.proc.logs()).toBe(0);
    const done = await waitForCompleted<ChatReplyResult>(user.client, accepted.task.id);
    // The released attempt was not counted.
    expect(done.attempts).toBe(1);
    expect(upstreamChatRequests(fake)).toHaveLength(2);
    const second = callerOf(1);
    expect(second).toBeDefined();
    expect(second).not.toBe(holder);
    await expectOneAnswer(conversation.id, done);
  });
});

describe('Redis outage', () => {
  it('with Redis killed: submissions answer 503 + Retry-After at once and store nothing; once it is back, the tasks accepted before complete and new ones are accepted', async () => {
    await waitForIdleQueue(admin);
    fake.reset();
    expect(alive()).toHaveLength(1);
    const conversation = await createConversation(user.client);
    // T1 keeps the only worker (concurrency 1) busy, so T2 waits in Redis when Redis dies.
    fake.setOptions({ latencyMs: 2_000 });
    const t1 = await acceptAsync(user.client, conversation.id, { content: chatText(), cache: false });
    await upstreamSaw(1);
    fake.setOptions({ latencyMs: 0 });
    const t2 = await acceptAsync(user.client, conversation.id, { content: chatText(), cache: false });
    expect((await getTask(user.client, t2.task.id)).status).toBe('pending');

    await redis.kill();
    // The API has seen the connection go (a submission racing the kill would be recorded and queued later).
    await waitFor(async () => (await http(api.url, { path: '/health/ready' })).status === 503, 'the API to report Redis down', 10_000);
    // Refused submissions go to a conversation with nothing in flight, so that its count is exact.
    const quiet = await createConversation(user.client);
    const refusedContent = chatText();
    const started = Date.now();
    const refused = await submitAsync(user.client, quiet.id, { content: refusedContent }, `outage-${randomUUID()}`);
    const elapsed = Date.now() - started;
    expectError(refused, 503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(elapsed, 'the submission must not hang').toBeLessThan(5_000);
    expectError(await submitAsync(user.client, conversation.id, { content: refusedContent }), 503);
    const tool = await invokeAsync(user.client, 'calculator', { expression: '1+2' });
    expectError(tool, 503);
    expect(tool.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await allMessages(user.client, quiet.id)).toEqual([]);
    expect((await getConversation(user.client, quiet.id)).messageCount).toBe(0);
    const users = (await allMessages(user.client, conversation.id)).filter((m) => m.role === 'user');
    expect(users.map((m) => m.id)).toEqual([t1.userMessage.id, t2.userMessage.id]);

    // Redis comes back empty (no persistence): T2's job is gone; PostgreSQL still has the task.
    await redis.start();
    const [d1, d2] = await Promise.all([
      waitForCompleted<ChatReplyResult>(user.client, t1.task.id, 45_000),
      waitForCompleted<ChatReplyResult>(user.client, t2.task.id, 45_000),
    ]);
    expect(d1.result?.assistantMessage.role).toBe('assistant');
    expect(d2.result?.assistantMessage.role).toBe('assistant');

    // New submissions are accepted again once the API has reconnected (503s meanwhile store nothing).
    let t3: Task<ChatReplyResult> | undefined;
    const content = chatText();
    const deadline = Date.now() + 20_000;
    while (t3 === undefined) {
      const res = await submitAsync(user.client, conversation.id, { content }, `after-outage-${conversation.id}`);
      if (res.status === 202) t3 = res.body.task;
      else {
        expectError(res, 503);
        if (Date.now() > deadline) throw new Error(`submissions still refused 20 s after Redis came back: ${res.text}`);
        await sleep(250);
      }
    }
    await waitForCompleted(user.client, t3.id);
    await waitForConversation(user.client, conversation.id, (c) => c.messageCount >= 6, 'the three answers', 5_000);
    const messages = await allMessages(user.client, conversation.id);
    expect(messages.map((m) => m.role)).toEqual(['user', 'user', 'assistant', 'assistant', 'user', 'assistant']);
    expect(messages.filter((m) => m.content === content)).toHaveLength(1);
  });

  it('with Redis hung (SIGSTOP): a submission answers within a bound instead of hanging, and its task (if accepted) completes once Redis answers', async () => {
    await waitForIdleQueue(admin);
    const conversation = await createConversation(user.client);
    redis.pause();
    let res;
    const started = Date.now();
    try {
      res = await submitAsync(user.client, conversation.id, { content: chatText() });
    } finally {
      const elapsed = Date.now() - started;
      if (elapsed >= 5_000) redis.resume();
      expect(elapsed, 'the submission must not hang').toBeLessThan(5_000);
    }
    redis.resume();
    if (res.status === 202) {
      // Recorded before the queue call timed out: the reconciler queues it.
      await waitForCompleted(user.client, res.body.task.id, 45_000);
      expect((await allMessages(user.client, conversation.id)).map((m) => m.role)).toEqual(['user', 'assistant']);
    } else {
      expectError(res, 503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await getConversation(user.client, conversation.id)).messageCount).toBe(0);
    }
  });
});

describe('graceful stop', () => {
  it('SIGTERM to a worker with a task in flight: it finishes the task, then exits 0', async () => {
    await waitForIdleQueue(admin);
    fake.reset();
    // The last worker: nobody else could complete the task after it is gone.
    expect(alive()).toHaveLength(1);
    const conversation = await createConversation(user.client);
    fake.setOptions({ latencyMs: 1_500 });
    const accepted = await acceptAsync(user.client, conversation.id, { content: chatText(), cache: false });
    await upstreamSaw(1);
    const holder = callerOf(0);
    expect(holder).toBe(alive()[0]);
    fake.setOptions({ latencyMs: 0 });
    const stoppedAt = Date.now();
    const code = await stopWorker(holder!, 'SIGTERM');
    expect(code, holder!.proc.logs()).toBe(0);
    // Completed by the stopping worker before it exited: no second attempt, no second call.
    const task = await getTask<ChatReplyResult>(user.client, accepted.task.id);
    expect(task.status, `${JSON.stringify(task)} (exit after ${Date.now() - stoppedAt} ms)`).toBe('completed');
    expect(task.attempts).toBe(1);
    expect(upstreamChatRequests(fake)).toHaveLength(1);
    await expectOneAnswer(conversation.id, task);
  });
});
