/**
 * Async tasks (`mode: "async"`), one process doing both roles (`ROLE=all`):
 * - on BullMQ (a private Redis, which the outage tests may kill), against a fake upstream: the 202 answer,
 *   the task lifecycle, titles, idempotency, priorities, retries, timeouts, admin retry, BOLA;
 * - embedded (no REDIS_URL): the in-process queue;
 * - `ROLE=api` without a worker and TASK_MAX_PENDING=3: the bound on pending tasks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  startApi,
  startFakeUpstream,
  startPrivateRedis,
  type FakeUpstream,
  type PrivateRedis,
  type StartedApi,
} from '@chat/testing';
import type { ApiClient } from './support/http.js';
import {
  adminClient,
  allMessages,
  anonymousClient,
  createConversation,
  newUser,
  say,
  upstreamCalls,
  upstreamEnv,
  waitFor,
  type TestUser,
} from './support/api.js';
import { chatText, conversationInput, messageInput, nonexistentId, sumExpression, uniqueWord } from './support/factories.js';
import { expectError, expectOk, ISO_UTC, normalizedError, UUID } from './support/assertions.js';
import {
  acceptAsync,
  allAdminTasks,
  getAdminTask,
  getConversation,
  getTask,
  invokeAsync,
  submitAsync,
  taskStats,
  waitForCompleted,
  waitForConversation,
  waitForIdleQueue,
  waitForTask,
} from './support/tasks.js';
import type { AdminTask, CalculatorResult, ChatReplyResult, Page, Priority, Task, ToolInvocation } from './support/types.js';

const TASK_ATTEMPTS = 3;
const TASK_TIMEOUT_MS = 3_000;
const QUEUE_LIMIT = 3;

const overloaded = { status: 500, body: { error: { message: 'boom', type: 'server_error' } } };
const rejected = { status: 400, body: { error: { message: 'this request is not acceptable', type: 'invalid_request_error' } } };

let redis: PrivateRedis;
let fullRedis: PrivateRedis;
let fake: FakeUpstream;
/** ROLE=all, BullMQ on a private Redis, the fake upstream. */
let api: StartedApi;
/** ROLE=all without REDIS_URL: the in-process queue; the built-in local model. */
let embedded: StartedApi;
/** ROLE=api (no worker), TASK_MAX_PENDING=3; the local model. */
let apiOnly: StartedApi;
let admin: ApiClient;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  [redis, fullRedis, fake] = await Promise.all([startPrivateRedis(), startPrivateRedis(), startFakeUpstream({ model: 'fake-model' })]);
  [api, embedded, apiOnly] = await Promise.all([
    startApi({
      env: upstreamEnv(fake, {
        ROLE: 'all',
        REDIS_URL: redis.url,
        // One upstream call per task attempt, so that calls count attempts.
        AI_MAX_RETRIES: '0',
        AI_TIMEOUT_MS: '20000',
        TASK_ATTEMPTS: String(TASK_ATTEMPTS),
        TASK_TIMEOUT_MS: String(TASK_TIMEOUT_MS),
        TASK_BACKOFF_MS: '100',
        TASK_RECONCILE_INTERVAL_MS: '500',
      }),
    }),
    startApi({ env: { ROLE: 'all' } }),
    startApi({ env: { ROLE: 'api', REDIS_URL: fullRedis.url, TASK_MAX_PENDING: String(QUEUE_LIMIT) } }),
  ]);
  admin = adminClient(api);
  [alice, bob] = await Promise.all([newUser(api), newUser(api)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([api?.stop(), embedded?.stop(), apiOnly?.stop()]);
  await Promise.all([redis?.stop(), fullRedis?.stop(), fake?.close()]);
});

/** The assistant messages of a conversation. */
async function assistantMessages(client: ApiClient, conversationId: string) {
  return (await allMessages(client, conversationId)).filter((m) => m.role === 'assistant');
}

/** Checks a completed chat.reply task against what the conversation now holds: one user message, one answer. */
async function expectAnsweredOnce(client: ApiClient, conversationId: string, task: Task<ChatReplyResult>, content: string): Promise<void> {
  const stored = await allMessages(client, conversationId);
  expect(stored.map((m) => m.role), JSON.stringify(stored)).toEqual(['user', 'assistant']);
  expect(stored[0]?.content).toBe(content);
  expect(task.result?.assistantMessage).toEqual(stored[1]);
  expect((await getConversation(client, conversationId)).messageCount).toBe(2);
}

describe('async replies on ROLE=all with BullMQ', () => {
  it('answers 202 { userMessage, task } with Location; the task completes with the message the conversation lists; the title follows', async () => {
    const user = await newUser(api);
    const conversation = await createConversation(user.client, {});
    expect(conversation.title).toBeNull();
    const content = chatText();
    const res = await submitAsync(user.client, conversation.id, { content });
    const accepted = expectOk(res, 202);
    expect(res.headers.get('location')).toBe(`/v1/tasks/${accepted.task.id}`);
    expect(accepted.userMessage).toMatchObject({ conversationId: conversation.id, role: 'user', content });
    expect(accepted.userMessage.id).toMatch(UUID);
    expect(accepted.task).toMatchObject({
      type: 'chat.reply',
      status: 'pending',
      priority: 'normal',
      attempts: 0,
      startedAt: null,
      finishedAt: null,
      result: null,
      error: null,
    });
    expect(accepted.task.id).toMatch(UUID);
    expect(accepted.task.createdAt).toMatch(ISO_UTC);
    expect(Object.keys(accepted.task).sort()).toEqual(
      ['attempts', 'createdAt', 'error', 'finishedAt', 'id', 'priority', 'result', 'startedAt', 'status', 'type'].sort(),
    );
    // The user message is durable at once, before any answer.
    expect((await getConversation(user.client, conversation.id)).messageCount).toBeGreaterThanOrEqual(1);

    // Location is a working address.
    const viaLocation = expectOk(await user.client.get<Task>(res.headers.get('location') ?? ''));
    expect(viaLocation.id).toBe(accepted.task.id);

    const done = await waitForCompleted<ChatReplyResult>(user.client, accepted.task.id);
    expect(done.attempts).toBe(1);
    expect(done.error).toBeNull();
    expect(done.startedAt).toMatch(ISO_UTC);
    expect(done.finishedAt).toMatch(ISO_UTC);
    expect(Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
    expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(done.startedAt!));
    expect(done.result).toMatchObject({ cached: false, assistantMessage: { role: 'assistant', content: `echo: ${content}` } });
    await expectAnsweredOnce(user.client, conversation.id, done, content);

    // The low-priority title task names the conversation after its first exchange (from the model).
    const titled = await waitForConversation(user.client, conversation.id, (c) => c.title !== null, 'the title task');
    expect(titled.title).toBe(`echo: ${content}`);
    const titleTasks = (await allAdminTasks(admin)).filter((t) => t.ownerId === user.id && t.type === 'conversation.title');
    expect(titleTasks).toHaveLength(1);
    expect(titleTasks[0]).toMatchObject({ priority: 'low', status: 'completed' });
  });

  it('keeps the title of a conversation created with one: no title task at all', async () => {
    const user = await newUser(api);
    const input = conversationInput();
    const conversation = await createConversation(user.client, input);
    const content = chatText();
    const accepted = await acceptAsync(user.client, conversation.id, { content });
    const done = await waitForCompleted<ChatReplyResult>(user.client, accepted.task.id);
    await expectAnsweredOnce(user.client, conversation.id, done, content);
    // A title task would be submitted right after the answer is stored; give it the time to show up.
    await sleep(750);
    const types = (await allAdminTasks(admin)).filter((t) => t.ownerId === user.id).map((t) => t.type);
    expect(types).toEqual(['chat.reply']);
    expect((await getConversation(user.client, conversation.id)).title).toBe(input.title);
  });

  it('titles after a sync exchange too, and never overwrites a title the user set meanwhile', async () => {
    const user = await newUser(api);
    const conversation = await createConversation(user.client, {});
    await say(user.client, conversation.id, messageInput());
    // Whether the title task runs before or after this PATCH, the user's title is the one that stays.
    const mine = `Mine ${uniqueWord()}`;
    expectOk(await user.client.patch(`/v1/conversations/${conversation.id}`, { title: mine }));
    await waitFor(
      async () => (await allAdminTasks(admin)).some((t) => t.ownerId === user.id && t.type === 'conversation.title' && t.status === 'completed'),
      'the title task to finish',
    );
    expect((await getConversation(user.client, conversation.id)).title).toBe(mine);
  });

  it('runs a tool as a task: 202 Task with Location, result { result, cached }; unknown tool 404 and bad arguments 400 queue nothing', async () => {
    const user = await newUser(api);
    const sum = sumExpression();
    const res = await invokeAsync(user.client, 'calculator', { expression: sum.expression }, { priority: 'high' });
    const task = expectOk(res, 202);
    expect(res.headers.get('location')).toBe(`/v1/tasks/${task.id}`);
    expect(task).toMatchObject({ type: 'tool.invoke', status: 'pending', priority: 'high', attempts: 0, result: null, error: null });
    const done = await waitForCompleted<ToolInvocation<CalculatorResult>>(user.client, task.id);
    expect(done.result).toEqual({ result: { expression: sum.expression, value: sum.value }, cached: expect.any(Boolean) });

    expectError(await invokeAsync(user.client, `no_such_tool_${uniqueWord()}`, {}), 404);
    expectError(await invokeAsync(user.client, 'calculator', { expression: 42 }), 400);
    expectError(await invokeAsync(user.client, 'calculator', {}), 400);
    const mine = (await allAdminTasks(admin)).filter((t) => t.ownerId === user.id);
    expect(mine.map((t) => t.id)).toEqual([task.id]);
  });

  it('reports the BullMQ driver and counts by status in the admin stats', async () => {
    const stats = await taskStats(admin);
    expect(stats.driver).toBe('bullmq');
    expect(stats.byStatus.completed).toBeGreaterThanOrEqual(4);
    expect(stats.queue).not.toBeNull();
    expect(stats.maxPending).toBeGreaterThan(0);
    const sum = Object.values(stats.byPriority).reduce((n, byStatus) => n + Object.values(byStatus).reduce((a, b) => a + b, 0), 0);
    const total = Object.values(stats.byStatus).reduce((a, b) => a + b, 0);
    expect(sum).toBe(total);
  });
});

describe('Idempotency-Key', () => {
  it('a repeated key returns the same user message and task and stores nothing new', async () => {
    const conversation = await createConversation(alice.client);
    const content = chatText();
    const key = `key-${uniqueWord()}`;
    const first = await acceptAsync(alice.client, conversation.id, { content }, key);
    const again = expectOk(await submitAsync(alice.client, conversation.id, { content }, key), 202);
    expect(again.task.id).toBe(first.task.id);
    expect(again.userMessage.id).toBe(first.userMessage.id);
    const done = await waitForCompleted<ChatReplyResult>(alice.client, first.task.id);
    // After the answer, a third try still returns the same task (now completed, with its result).
    const third = await submitAsync(alice.client, conversation.id, { content }, key);
    expect(expectOk(third, 202).task).toMatchObject({ id: first.task.id, status: 'completed' });
    expect(third.body.userMessage.id).toBe(first.userMessage.id);
    await expectAnsweredOnce(alice.client, conversation.id, done, content);
  });

  it('concurrent requests with one key make one task and one user message', async () => {
    const conversation = await createConversation(alice.client);
    const content = chatText();
    const key = `race-${uniqueWord()}`;
    const answers = await Promise.all(Array.from({ length: 6 }, () => submitAsync(alice.client, conversation.id, { content }, key)));
    for (const res of answers) expect(res.status, res.text).toBe(202);
    expect(new Set(answers.map((r) => r.body.task.id)).size).toBe(1);
    expect(new Set(answers.map((r) => r.body.userMessage.id)).size).toBe(1);
    const done = await waitForCompleted<ChatReplyResult>(alice.client, answers[0].body.task.id);
    await expectAnsweredOnce(alice.client, conversation.id, done, content);
  });

  it("another user's identical key is theirs: a different task", async () => {
    const key = `shared-${uniqueWord()}`;
    const [ca, cb] = await Promise.all([createConversation(alice.client), createConversation(bob.client)]);
    const a = await acceptAsync(alice.client, ca.id, { content: chatText() }, key);
    const b = await acceptAsync(bob.client, cb.id, { content: chatText() }, key);
    expect(b.task.id).not.toBe(a.task.id);
    expect(b.userMessage.id).not.toBe(a.userMessage.id);
    await Promise.all([waitForCompleted(alice.client, a.task.id), waitForCompleted(bob.client, b.task.id)]);
  });

  it('tool invocations honour the key too; a key first used for another kind of task is a 409 and stores nothing', async () => {
    const key = `tool-${uniqueWord()}`;
    const sum = sumExpression();
    const first = expectOk(await invokeAsync(alice.client, 'calculator', { expression: sum.expression }, { idempotencyKey: key }), 202);
    const again = expectOk(await invokeAsync(alice.client, 'calculator', { expression: sum.expression }, { idempotencyKey: key }), 202);
    expect(again.id).toBe(first.id);
    await waitForCompleted(alice.client, first.id);

    const conversation = await createConversation(alice.client);
    expectError(await submitAsync(alice.client, conversation.id, { content: chatText() }, key), 409);
    expect((await getConversation(alice.client, conversation.id)).messageCount).toBe(0);
    expect(await allMessages(alice.client, conversation.id)).toEqual([]);

    // And the other way round: a key first used for a message is refused on a tool.
    const messageKey = `message-${uniqueWord()}`;
    const message = await acceptAsync(alice.client, conversation.id, { content: chatText() }, messageKey);
    expectError(await invokeAsync(alice.client, 'calculator', { expression: '1+1' }, { idempotencyKey: messageKey }), 409);
    const mine = (await allAdminTasks(admin)).filter((t) => t.ownerId === alice.id && t.type === 'tool.invoke');
    expect(mine.map((t) => t.id)).toEqual([first.id]);
    await waitForCompleted(alice.client, message.task.id);
  });

  it.each([
    ['300 characters', 'k'.repeat(300)],
    ['a space', 'two words'],
    ['a non-ASCII character', 'clé-é'],
  ])('an invalid key (%s) is a 400 naming the header, and nothing is stored', async (_label, key) => {
    const conversation = await createConversation(alice.client);
    const res = await submitAsync(alice.client, conversation.id, { content: chatText() }, key);
    expectError(res, 400, /Idempotency-Key/);
    expect((await getConversation(alice.client, conversation.id)).messageCount).toBe(0);
  });
});

describe('priorities', () => {
  it('the priority asked for reaches the task (default normal)', async () => {
    const conversation = await createConversation(alice.client);
    const none = await acceptAsync(alice.client, conversation.id, { content: chatText() });
    expect(none.task.priority).toBe('normal');
    const priorities: Priority[] = ['low', 'normal', 'high', 'urgent', 'critical'];
    const accepted = [];
    for (const priority of priorities) {
      const reply = await acceptAsync(alice.client, conversation.id, { content: chatText(), priority });
      expect(reply.task.priority).toBe(priority);
      accepted.push(reply);
    }
    for (const [i, reply] of accepted.entries()) {
      const done = await waitForCompleted(alice.client, reply.task.id);
      expect(done.priority).toBe(priorities[i]);
      expect((await getAdminTask(admin, reply.task.id)).priority).toBe(priorities[i]);
    }
    const tool = expectOk(await invokeAsync(alice.client, 'calculator', { expression: '1+1' }, { priority: 'critical' }), 202);
    expect(tool.priority).toBe('critical');
    await waitForCompleted(alice.client, tool.id);
    await waitForCompleted(alice.client, none.task.id);
  });

  it('an unknown priority is a 400 naming the field, and nothing is stored or queued', async () => {
    const user = await newUser(api);
    const conversation = await createConversation(user.client);
    expectError(await submitAsync(user.client, conversation.id, { content: chatText(), priority: 'extreme' }), 400, /priority/);
    expectError(await submitAsync(user.client, conversation.id, { content: chatText(), priority: 3 }), 400, /priority/);
    expectError(await invokeAsync(user.client, 'calculator', { expression: '1+1' }, { priority: 'EXTREME' }), 400, /priority/);
    expect((await getConversation(user.client, conversation.id)).messageCount).toBe(0);
    expect((await allAdminTasks(admin)).filter((t) => t.ownerId === user.id)).toEqual([]);
  });
});

describe('upstream failures, retries and the admin retry', () => {
  beforeEach(async () => {
    // Scripted replies are consumed by whichever model call comes next: let nothing else run.
    await waitForIdleQueue(admin);
    fake.reset();
    fake.setOptions({ latencyMs: 0 });
  });

  it('an attempt that fails on an upstream 500 is retried: completed with attempts 2 and ONE answer', async () => {
    const conversation = await createConversation(alice.client);
    const content = chatText();
    fake.script(overloaded);
    const accepted = await acceptAsync(alice.client, conversation.id, { content });
    const done = await waitForCompleted<ChatReplyResult>(alice.client, accepted.task.id);
    expect(done.attempts).toBe(2);
    expect(done.error).toBeNull();
    expect(upstreamCalls(fake)).toBe(2);
    await expectAnsweredOnce(alice.client, conversation.id, done, content);
  });

  it(`an attempt past TASK_TIMEOUT_MS (${TASK_TIMEOUT_MS} ms) is abandoned and retried; its answer is never stored`, async () => {
    const conversation = await createConversation(alice.client);
    const content = chatText();
    fake.setOptions({ latencyMs: TASK_TIMEOUT_MS + 2_000 });
    // cache: false, so that the second attempt asks the upstream itself rather than join the first call.
    const accepted = await acceptAsync(alice.client, conversation.id, { content, cache: false });
    await waitFor(() => upstreamCalls(fake) >= 1, 'the first attempt to reach the upstream');
    fake.setOptions({ latencyMs: 0 });
    const done = await waitForCompleted<ChatReplyResult>(alice.client, accepted.task.id);
    expect(done.attempts).toBe(2);
    expect(upstreamCalls(fake)).toBe(2);
    await expectAnsweredOnce(alice.client, conversation.id, done, content);
    // Even once the slow call would have answered, nothing more appears.
    await sleep(500);
    expect(await assistantMessages(alice.client, conversation.id)).toHaveLength(1);
  });

  it('a request the model rejects (400) fails at once, without retries; the user message stays', async () => {
    const conversation = await createConversation(alice.client);
    const content = chatText();
    fake.script(rejected, rejected, rejected);
    const accepted = await acceptAsync(alice.client, conversation.id, { content });
    const failed = await waitForTask(alice.client, accepted.task.id);
    expect(failed.status).toBe('failed');
    expect(failed.attempts).toBe(1);
    expect(failed.result).toBeNull();
    expect(typeof failed.error).toBe('string');
    expect(failed.error!.length).toBeGreaterThan(0);
    expect(failed.finishedAt).toMatch(ISO_UTC);
    expect(upstreamCalls(fake)).toBe(1);
    expect((await allMessages(alice.client, conversation.id)).map((m) => m.role)).toEqual(['user']);
    const adminView = await getAdminTask(admin, accepted.task.id);
    expect(adminView).toMatchObject({ ownerId: alice.id, maxAttempts: TASK_ATTEMPTS, status: 'failed' });
    expect(adminView.lastError).toMatchObject({ attempt: 1, message: expect.any(String), name: expect.any(String) });
  });

  it(`a task failing on every attempt (${TASK_ATTEMPTS}) is failed and listed; once the upstream is healthy an admin retry completes it; 409/404 otherwise`, async () => {
    const conversation = await createConversation(alice.client);
    const content = chatText();
    fake.script(...Array.from({ length: TASK_ATTEMPTS }, () => overloaded));
    const accepted = await acceptAsync(alice.client, conversation.id, { content });
    const failed = await waitForTask(alice.client, accepted.task.id);
    expect(failed.status, JSON.stringify(failed)).toBe('failed');
    expect(failed.attempts).toBe(TASK_ATTEMPTS);
    expect(failed.error).toEqual(expect.any(String));
    expect(upstreamCalls(fake)).toBe(TASK_ATTEMPTS);
    expect((await allMessages(alice.client, conversation.id)).map((m) => m.role)).toEqual(['user']);

    const listed = expectOk(await admin.get<Page<AdminTask>>('/v1/admin/tasks', { status: 'failed', limit: 100 }));
    expect(listed.items.every((t) => t.status === 'failed')).toBe(true);
    const entry = listed.items.find((t) => t.id === accepted.task.id);
    expect(entry).toMatchObject({
      type: 'chat.reply',
      ownerId: alice.id,
      maxAttempts: TASK_ATTEMPTS,
      attempts: TASK_ATTEMPTS,
      lastError: { attempt: TASK_ATTEMPTS, message: expect.any(String), name: expect.any(String) },
    });
    expect((await taskStats(admin)).failuresByType['chat.reply']).toBeGreaterThanOrEqual(1);

    // The upstream is healthy again (the script is used up).
    const retried = expectOk(await admin.post<AdminTask>(`/v1/admin/tasks/${accepted.task.id}/retry`), 200);
    expect(retried).toMatchObject({ id: accepted.task.id, status: 'pending', attempts: 0 });
    const done = await waitForCompleted<ChatReplyResult>(alice.client, accepted.task.id);
    expect(done.attempts).toBe(1);
    expect(done.error).toBeNull();
    await expectAnsweredOnce(alice.client, conversation.id, done, content);
    expect((await getAdminTask(admin, accepted.task.id)).lastError).toBeNull();
    expect((await admin.get<Page<AdminTask>>('/v1/admin/tasks', { status: 'failed', limit: 100 })).body.items.map((t) => t.id)).not.toContain(
      accepted.task.id,
    );

    expectError(await admin.post(`/v1/admin/tasks/${accepted.task.id}/retry`), 409);
    expectError(await admin.post(`/v1/admin/tasks/${nonexistentId()}/retry`), 404);
    expectError(await admin.post('/v1/admin/tasks/not-a-task-id/retry'), 404);
    expectError(await admin.get(`/v1/admin/tasks/${nonexistentId()}`), 404);
  });

  it('the admin list pages newest first through nextCursor without gaps or repeats, and rejects a bad query', async () => {
    const everything = await allAdminTasks(admin);
    expect(everything.length).toBeGreaterThan(5);
    const paged: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 200; i++) {
      const page = expectOk(await admin.get<Page<AdminTask>>('/v1/admin/tasks', { limit: 2, cursor }));
      expect(page.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.items.map((t) => t.id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(paged).toEqual(everything.map((t) => t.id));
    const created = everything.map((t) => Date.parse(t.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expectError(await admin.get('/v1/admin/tasks', { status: 'exploded' }), 400, /status/);
    expectError(await admin.get('/v1/admin/tasks', { limit: 0 }), 400, /limit/);
    expectError(await admin.get('/v1/admin/tasks', { cursor: 'bm9wZQ' }), 400, /cursor/);
  });
});

describe('authorization', () => {
  it("another user's task id answers 404, exactly like an unknown one", async () => {
    const conversation = await createConversation(alice.client);
    const accepted = await acceptAsync(alice.client, conversation.id, { content: chatText() });
    const missing = nonexistentId();
    const foreign = await bob.client.get(`/v1/tasks/${accepted.task.id}`);
    const unknown = await bob.client.get(`/v1/tasks/${missing}`);
    expectError(foreign, 404);
    expectError(unknown, 404);
    expect(normalizedError(foreign.body, accepted.task.id)).toEqual(normalizedError(unknown.body, missing));
    expectError(await bob.client.get('/v1/tasks/not-a-uuid'), 404);
    expectError(await anonymousClient(api).get(`/v1/tasks/${accepted.task.id}`), 401);
    // The owner still sees it.
    expect((await getTask(alice.client, accepted.task.id)).id).toBe(accepted.task.id);
    // Nor can bob post into alice's conversation asynchronously.
    expectError(await submitAsync(bob.client, conversation.id, { content: chatText() }), 404);
    await waitForCompleted(alice.client, accepted.task.id);
  });

  it('a user key on the admin task routes answers 403; no key 401', async () => {
    const conversation = await createConversation(alice.client);
    const accepted = await acceptAsync(alice.client, conversation.id, { content: chatText() });
    const id = accepted.task.id;
    for (const client of [alice.client, bob.client]) {
      expectError(await client.get('/v1/admin/tasks'), 403);
      expectError(await client.get('/v1/admin/tasks', { status: 'failed' }), 403);
      expectError(await client.get('/v1/admin/tasks/stats'), 403);
      expectError(await client.get(`/v1/admin/tasks/${id}`), 403);
      expectError(await client.post(`/v1/admin/tasks/${id}/retry`), 403);
    }
    expectError(await anonymousClient(api).get('/v1/admin/tasks'), 401);
    expectError(await anonymousClient(api).post(`/v1/admin/tasks/${id}/retry`), 401);
    await waitForCompleted(alice.client, id);
  });
});

describe('embedded mode: no REDIS_URL, the in-process queue', () => {
  it('answers async messages and tool tasks, titles the conversation, and reports the in-process driver', async () => {
    const user = await newUser(embedded);
    const conversation = await createConversation(user.client, {});
    const content = chatText();
    const key = `embedded-${uniqueWord()}`;
    const accepted = await acceptAsync(user.client, conversation.id, { content, priority: 'urgent' }, key);
    expect(accepted.task).toMatchObject({ status: 'pending', priority: 'urgent', attempts: 0 });
    const replay = expectOk(await submitAsync(user.client, conversation.id, { content, priority: 'urgent' }, key), 202);
    expect(replay.task.id).toBe(accepted.task.id);
    const done = await waitForCompleted<ChatReplyResult>(user.client, accepted.task.id);
    expect(done.result?.assistantMessage.content.trim().length).toBeGreaterThan(0);
    await expectAnsweredOnce(user.client, conversation.id, done, content);
    await waitForConversation(user.client, conversation.id, (c) => c.title !== null && c.title.length > 0, 'the title task');

    const sum = sumExpression();
    const tool = expectOk(await invokeAsync(user.client, 'calculator', { expression: sum.expression }), 202);
    const toolDone = await waitForCompleted<ToolInvocation<CalculatorResult>>(user.client, tool.id);
    expect(toolDone.result?.result).toEqual({ expression: sum.expression, value: sum.value });

    const stats = await taskStats(adminClient(embedded));
    expect(stats.driver).toBe('in-process');
    expect(stats.byStatus.completed).toBeGreaterThanOrEqual(3);
  });
});

describe(`queue full: ROLE=api with no worker and TASK_MAX_PENDING=${QUEUE_LIMIT}`, () => {
  it('refuses the submission past the bound with 503 + Retry-After and stores nothing of it', async () => {
    const user = await newUser(apiOnly);
    const conversation = await createConversation(user.client);
    const key = `full-${uniqueWord()}`;
    const accepted = [];
    for (let i = 0; i < QUEUE_LIMIT; i++) {
      accepted.push(await acceptAsync(user.client, conversation.id, { content: chatText() }, i === 0 ? key : undefined));
    }
    const refusedContent = chatText();
    const refused = await submitAsync(user.client, conversation.id, { content: refusedContent });
    expectError(refused, 503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const stored = await allMessages(user.client, conversation.id);
    expect(stored.map((m) => m.id)).toEqual(accepted.map((a) => a.userMessage.id));
    expect(stored.some((m) => m.content === refusedContent)).toBe(false);
    expect((await getConversation(user.client, conversation.id)).messageCount).toBe(QUEUE_LIMIT);

    // Tool tasks share the bound.
    const tool = await invokeAsync(user.client, 'calculator', { expression: '2+2' });
    expectError(tool, 503);
    expect(tool.headers.get('retry-after')).toMatch(/^\d+$/);

    // A replay of an accepted request stores nothing, so it is still answered.
    const replay = expectOk(await submitAsync(user.client, conversation.id, { content: 'ignored' }, key), 202);
    expect(replay.task.id).toBe(accepted[0].task.id);

    // A sync reply does not need the queue: the title task it asks for is best effort.
    const other = await createConversation(user.client, {});
    const sync = await say(user.client, other.id, messageInput());
    expect(sync.assistantMessage.role).toBe('assistant');

    const stats = await taskStats(adminClient(apiOnly));
    expect(stats).toMatchObject({ maxPending: QUEUE_LIMIT, byStatus: { pending: QUEUE_LIMIT, running: 0, completed: 0 } });
    // ROLE=api does not process: the accepted tasks are still waiting.
    await sleep(500);
    for (const a of accepted) expect(await getTask(user.client, a.task.id)).toMatchObject({ status: 'pending', attempts: 0 });
  });
});
