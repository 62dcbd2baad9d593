/**
 * The HTTP contract (shared/api-contract.md, docs/behaviour-notes.md) end to end, against one
 * API process on a fresh PostgreSQL database with the built-in `local` model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startApi, type StartedApi } from '@chat/testing';
import { ApiClient, http } from './support/http.js';
import { sseEvents } from './support/sse.js';
import {
  adminClient,
  allMessages,
  anonymousClient,
  createConversation,
  newUser,
  postMessage,
  say,
  type TestUser,
} from './support/api.js';
import {
  arithmeticQuestion,
  chatText,
  conversationInput,
  messageInput,
  nonexistentId,
  requestId,
  uniqueWord,
  userName,
} from './support/factories.js';
import { ISO_UTC, expectError, expectOk, isErrorShape } from './support/assertions.js';
import type {
  CalculatorResult,
  ChatCompletion,
  ChatCompletionChunk,
  Conversation,
  CreatedUser,
  CurrentTimeResult,
  Message,
  ModelList,
  Page,
  SearchResult,
  StreamEvent,
  Tool,
  ToolInvocation,
} from './support/types.js';

let api: StartedApi;
let admin: ApiClient;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  api = await startApi();
  admin = adminClient(api);
  alice = await newUser(api);
  bob = await newUser(api);
});

afterAll(async () => {
  await api?.stop();
});

function isoTime(value: string): number {
  expect(value).toMatch(ISO_UTC);
  return Date.parse(value);
}

function expectConversationShape(c: Conversation): void {
  expect(typeof c.id).toBe('string');
  expect(c.id.length).toBeGreaterThan(0);
  expect(c.title === null || typeof c.title === 'string').toBe(true);
  expect(c.systemPrompt === null || typeof c.systemPrompt === 'string').toBe(true);
  expect(typeof c.model).toBe('string');
  expect(Number.isInteger(c.messageCount)).toBe(true);
  isoTime(c.createdAt);
  isoTime(c.updatedAt);
}

function expectMessageShape(m: Message, conversationId: string): void {
  expect(typeof m.id).toBe('string');
  expect(m.conversationId).toBe(conversationId);
  expect(['user', 'assistant', 'tool']).toContain(m.role);
  expect(typeof m.content).toBe('string');
  expect(typeof m.cached).toBe('boolean');
  isoTime(m.createdAt);
}

async function searchMessages(user: TestUser, query: string, limit?: number): Promise<SearchResult> {
  const args = limit === undefined ? { query } : { query, limit };
  const res = await user.client.post<ToolInvocation<SearchResult>>('/v1/tools/search_messages/invoke', { arguments: args });
  return expectOk(res).result;
}

describe('admin users', () => {
  it('creates a user: 201 with id, name, apiKey and createdAt, and the key authenticates', async () => {
    const name = userName();
    const res = await admin.post<CreatedUser>('/v1/admin/users', { name });
    const user = expectOk(res, 201);
    expect(user).toMatchObject({ id: expect.any(String), name, apiKey: expect.any(String), createdAt: expect.any(String) });
    expect(user.apiKey.length).toBeGreaterThanOrEqual(20);
    isoTime(user.createdAt);

    const list = await new ApiClient(api.url, user.apiKey).get<Page<Conversation>>('/v1/conversations');
    expect(expectOk(list)).toEqual({ items: [], nextCursor: null });
  });

  it('gives every user its own id and key', async () => {
    const [a, b] = await Promise.all([
      admin.post<CreatedUser>('/v1/admin/users', { name: userName() }),
      admin.post<CreatedUser>('/v1/admin/users', { name: userName() }),
    ]);
    expect(expectOk(a, 201).id).not.toBe(expectOk(b, 201).id);
    expect(a.body.apiKey).not.toBe(b.body.apiKey);
  });

  it('shows the key once: the database holds no copy of it, only a hash', async () => {
    expect(api.databaseUrl).toBeTruthy();
    const name = userName();
    const user = expectOk(await admin.post<CreatedUser>('/v1/admin/users', { name }), 201);
    const client = new pg.Client({ connectionString: api.databaseUrl! });
    await client.connect();
    try {
      const tables = await client.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
      );
      let rowsWithName = 0;
      for (const { table_name } of tables.rows) {
        const t = `"${table_name.replace(/"/g, '""')}"`;
        const withKey = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} r WHERE r::text LIKE $1`, [
          `%${user.apiKey}%`,
        ]);
        expect(withKey.rows[0].n, `table ${table_name} holds the plain API key`).toBe(0);
        const withName = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} r WHERE r::text LIKE $1`, [
          `%${name}%`,
        ]);
        rowsWithName += withName.rows[0].n;
      }
      // The search does find the user row itself, so a missing key is not a search failure.
      expect(rowsWithName).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  });

  it.each([
    ['missing', {}],
    ['empty', { name: '' }],
    ['too long (101 chars)', { name: 'n'.repeat(101) }],
    ['not a string', { name: 42 }],
  ])('rejects a name that is %s with 400 naming the field', async (_label, body) => {
    expectError(await admin.post('/v1/admin/users', body), 400, 'name');
  });
});

describe('authentication', () => {
  it('answers 401 on a user route without credentials', async () => {
    expectError(await anonymousClient(api).get('/v1/conversations'), 401);
  });

  it('answers 401 on a user route with an unknown key', async () => {
    expectError(await alice.client.as(`${alice.apiKey}x`).get('/v1/conversations'), 401);
    expectError(await alice.client.as('not-a-key').get('/v1/conversations'), 401);
  });

  it('answers 401 on a malformed Authorization header', async () => {
    const res = await http(api.url, { path: '/v1/conversations', headers: { authorization: `Basic ${alice.apiKey}` } });
    expectError(res, 401);
  });

  it('answers 401 when the admin token is used on a user route', async () => {
    expectError(await admin.get('/v1/conversations'), 401);
  });

  it('answers 401 on an admin route without credentials or with a bad token', async () => {
    expectError(await anonymousClient(api).post('/v1/admin/users', { name: userName() }), 401);
    expectError(await admin.as(`${api.adminToken}x`).post('/v1/admin/users', { name: userName() }), 401);
  });

  it('answers 403 when a user key is used on an admin route', async () => {
    expectError(await alice.client.post('/v1/admin/users', { name: userName() }), 403);
  });
});

describe('conversations', () => {
  it('creates a conversation with the documented defaults', async () => {
    const c = expectOk(await alice.client.post<Conversation>('/v1/conversations', {}), 201);
    expectConversationShape(c);
    expect(c).toMatchObject({ title: null, systemPrompt: null, model: 'local', messageCount: 0 });
  });

  it('creates a conversation with title, systemPrompt and model, and reads it back', async () => {
    const input = conversationInput({ model: 'local' });
    const created = expectOk(await alice.client.post<Conversation>('/v1/conversations', input), 201);
    expect(created).toMatchObject({ ...input, messageCount: 0 });
    const read = expectOk(await alice.client.get<Conversation>(`/v1/conversations/${created.id}`));
    expect(read).toEqual(created);
  });

  it('rejects an unknown model with 400 naming the field', async () => {
    expectError(await alice.client.post('/v1/conversations', conversationInput({ model: `no-such-${uniqueWord()}` })), 400, 'model');
  });

  it('updates title and systemPrompt with PATCH', async () => {
    const created = await createConversation(alice.client);
    const change = conversationInput();
    const patched = expectOk(
      await alice.client.patch<Conversation>(`/v1/conversations/${created.id}`, { title: change.title, systemPrompt: change.systemPrompt }),
    );
    expect(patched).toMatchObject({ id: created.id, title: change.title, systemPrompt: change.systemPrompt, createdAt: created.createdAt });
    expect(Date.parse(patched.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
    expect(expectOk(await alice.client.get<Conversation>(`/v1/conversations/${created.id}`))).toEqual(patched);

    const titleOnly = conversationInput();
    const again = expectOk(await alice.client.patch<Conversation>(`/v1/conversations/${created.id}`, { title: titleOnly.title }));
    expect(again).toMatchObject({ title: titleOnly.title, systemPrompt: change.systemPrompt });
  });

  it('deletes a conversation: 204 with no body, then 404', async () => {
    const created = await createConversation(alice.client);
    const del = await alice.client.delete(`/v1/conversations/${created.id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expectError(await alice.client.get(`/v1/conversations/${created.id}`), 404);
    expectError(await alice.client.delete(`/v1/conversations/${created.id}`), 404);
    expectError(await alice.client.patch(`/v1/conversations/${created.id}`, { title: 'x' }), 404);
  });

  it('answers 404 for an id that does not exist, and for one that is not a UUID', async () => {
    expectError(await alice.client.get(`/v1/conversations/${nonexistentId()}`), 404);
    expectError(await alice.client.get('/v1/conversations/not-a-uuid'), 404);
  });

  it('pages through the list newest updatedAt first with limit and cursor, nextCursor null at the end', async () => {
    const carol = await newUser(api);
    const created: Conversation[] = [];
    for (let i = 0; i < 5; i++) created.push(await createConversation(carol.client));
    const expectedOrder = created.map((c) => c.id).reverse();

    const pages: Page<Conversation>[] = [];
    let cursor: string | undefined;
    do {
      const page = expectOk(await carol.client.get<Page<Conversation>>('/v1/conversations', { limit: 2, cursor }));
      pages.push(page);
      cursor = page.nextCursor ?? undefined;
      expect(pages.length).toBeLessThanOrEqual(5);
    } while (cursor);

    expect(pages.map((p) => p.items.length)).toEqual([2, 2, 1]);
    expect(pages.slice(0, -1).every((p) => typeof p.nextCursor === 'string' && p.nextCursor.length > 0)).toBe(true);
    expect(pages.at(-1)!.nextCursor).toBeNull();
    const items = pages.flatMap((p) => p.items);
    items.forEach(expectConversationShape);
    expect(items.map((c) => c.id)).toEqual(expectedOrder);
    for (let i = 1; i < items.length; i++) {
      expect(Date.parse(items[i - 1].updatedAt)).toBeGreaterThanOrEqual(Date.parse(items[i].updatedAt));
    }

    // The default page (20) holds all five; an update moves a conversation to the front.
    const whole = expectOk(await carol.client.get<Page<Conversation>>('/v1/conversations'));
    expect(whole.items.map((c) => c.id)).toEqual(expectedOrder);
    expect(whole.nextCursor).toBeNull();
    const oldest = created[0];
    await carol.client.patch(`/v1/conversations/${oldest.id}`, { title: conversationInput().title });
    const after = expectOk(await carol.client.get<Page<Conversation>>('/v1/conversations', { limit: 100 }));
    expect(after.items.map((c) => c.id)).toEqual([oldest.id, ...expectedOrder.slice(0, -1)]);
  });

  it('moves a conversation to the front when it gets a message, and counts its messages', async () => {
    const dave = await newUser(api);
    const first = await createConversation(dave.client);
    const second = await createConversation(dave.client);
    await say(dave.client, first.id, messageInput());
    const list = expectOk(await dave.client.get<Page<Conversation>>('/v1/conversations'));
    expect(list.items.map((c) => c.id)).toEqual([first.id, second.id]);
    expect(list.items[0].messageCount).toBe(2);
    expect(list.items[1].messageCount).toBe(0);
  });
});

describe('messages', () => {
  it('sync: stores the user message and answers 201 with both messages and X-Cache', async () => {
    const conversation = await createConversation(alice.client);
    const input = messageInput({ mode: 'sync' });
    const res = await postMessage(alice.client, conversation.id, input);
    const reply = expectOk(res, 201);
    expect(res.headers.get('x-cache')).toBe('MISS');
    expectMessageShape(reply.userMessage, conversation.id);
    expectMessageShape(reply.assistantMessage, conversation.id);
    expect(reply.userMessage).toMatchObject({ role: 'user', content: input.content });
    expect(reply.assistantMessage.role).toBe('assistant');
    expect(reply.assistantMessage.content.trim().length).toBeGreaterThan(0);
    expect(reply.assistantMessage.id).not.toBe(reply.userMessage.id);

    const after = expectOk(await alice.client.get<Conversation>(`/v1/conversations/${conversation.id}`));
    expect(after.messageCount).toBe(2);
    expect(Date.parse(after.updatedAt)).toBeGreaterThanOrEqual(Date.parse(conversation.updatedAt));
    const stored = await allMessages(alice.client, conversation.id);
    expect(stored.map((m) => m.id)).toEqual([reply.userMessage.id, reply.assistantMessage.id]);
    expect(stored[1].content).toBe(reply.assistantMessage.content);
  });

  it('the local model answers the same messages with the same text', async () => {
    const systemPrompt = conversationInput().systemPrompt;
    const content = chatText();
    const [one, two] = await Promise.all([
      createConversation(alice.client, conversationInput({ systemPrompt })),
      createConversation(alice.client, conversationInput({ systemPrompt })),
    ]);
    const a = await say(alice.client, one.id, { content });
    const b = await say(alice.client, two.id, { content });
    expect(b.assistantMessage.content).toBe(a.assistantMessage.content);
  });

  it('runs the calculator tool for an arithmetic question and stores 4 messages', async () => {
    const conversation = await createConversation(alice.client);
    const q = arithmeticQuestion();
    const reply = await say(alice.client, conversation.id, { content: q.question });
    expect(reply.assistantMessage.content).toContain(String(q.value));

    const stored = await allMessages(alice.client, conversation.id);
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    stored.forEach((m) => expectMessageShape(m, conversation.id));
    const [user, call, tool, answer] = stored as [Message, Message, Message, Message];
    expect(user.content).toBe(q.question);
    expect(call.content).toBe('');
    expect(call.toolCalls).toHaveLength(1);
    const toolCall = call.toolCalls![0];
    expect(toolCall).toMatchObject({ id: expect.any(String), type: 'function', function: { name: 'calculator' } });
    expect(JSON.parse(toolCall.function.arguments)).toEqual({ expression: q.expression });
    expect(tool.toolCallId).toBe(toolCall.id);
    expect(JSON.parse(tool.content)).toEqual({ expression: q.expression, value: q.value });
    expect(answer.content).toContain(String(q.value));
    expect(answer.id).toBe(reply.assistantMessage.id);
    expect(user.id).toBe(reply.userMessage.id);

    const after = expectOk(await alice.client.get<Conversation>(`/v1/conversations/${conversation.id}`));
    expect(after.messageCount).toBe(4);
  });

  it('pages messages oldest first within a page, going back with before=<messageId>', async () => {
    const conversation = await createConversation(alice.client);
    const contents = [chatText(), chatText(), chatText()];
    for (const content of contents) await say(alice.client, conversation.id, { content });

    const all = await allMessages(alice.client, conversation.id);
    expect(all).toHaveLength(6);
    expect(all.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    expect(all.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(contents);
    for (let i = 1; i < all.length; i++) expect(Date.parse(all[i].createdAt)).toBeGreaterThanOrEqual(Date.parse(all[i - 1].createdAt));

    // The latest page first, then older pages through `before`.
    const pages: Message[][] = [];
    let before: string | undefined;
    do {
      const page = expectOk(
        await alice.client.get<Page<Message>>(`/v1/conversations/${conversation.id}/messages`, { limit: 4, before }),
      );
      pages.push(page.items);
      before = page.nextCursor ?? undefined;
      expect(pages.length).toBeLessThanOrEqual(6);
    } while (before);
    expect(pages.map((p) => p.length)).toEqual([4, 2]);
    expect(pages[0].map((m) => m.id)).toEqual(all.slice(2).map((m) => m.id));
    expect(pages[1].map((m) => m.id)).toEqual(all.slice(0, 2).map((m) => m.id));

    // `before` an explicit message: the messages just older than it, oldest first.
    const olderThanFifth = expectOk(
      await alice.client.get<Page<Message>>(`/v1/conversations/${conversation.id}/messages`, { limit: 2, before: all[4].id }),
    );
    expect(olderThanFifth.items.map((m) => m.id)).toEqual([all[2].id, all[3].id]);
    expect(olderThanFifth.nextCursor).not.toBeNull();
    const olderThanFirst = expectOk(
      await alice.client.get<Page<Message>>(`/v1/conversations/${conversation.id}/messages`, { before: all[0].id }),
    );
    expect(olderThanFirst).toEqual({ items: [], nextCursor: null });
  });

  it('stream mode: SSE word deltas, then a done event carrying the stored message', async () => {
    const conversation = await createConversation(alice.client);
    const input = messageInput({ mode: 'stream' });
    const res = await postMessage(alice.client, conversation.id, input);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = sseEvents<StreamEvent>(res.text);
    const deltas = events.filter((e): e is { delta: string } => typeof e === 'object' && 'delta' in e);
    expect(deltas.length).toBeGreaterThan(1);
    const last = events.at(-1);
    expect(last).toMatchObject({ done: true, message: { role: 'assistant', conversationId: conversation.id } });
    const done = last as { done: true; message: Message };
    expect(deltas.map((d) => d.delta).join('')).toBe(done.message.content);
    expect(done.message.content.trim().length).toBeGreaterThan(0);
    expect(events.some((e) => typeof e === 'object' && 'error' in e)).toBe(false);

    const stored = await allMessages(alice.client, conversation.id);
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(stored[0].content).toBe(input.content);
    expect(stored[1]).toMatchObject({ id: done.message.id, content: done.message.content });
  });

  it('stream mode with a tool: toolCall and toolResult events, then the answer', async () => {
    const conversation = await createConversation(alice.client);
    const q = arithmeticQuestion();
    const res = await postMessage(alice.client, conversation.id, { content: q.question, mode: 'stream' });
    expect(res.status, res.text).toBe(200);
    const events = sseEvents<StreamEvent>(res.text).filter((e): e is StreamEvent => e !== '[DONE]');
    const call = events.find((e): e is Extract<StreamEvent, { toolCall: unknown }> => 'toolCall' in e);
    const result = events.find((e): e is Extract<StreamEvent, { toolResult: unknown }> => 'toolResult' in e);
    expect(call?.toolCall).toMatchObject({ id: expect.any(String), name: 'calculator' });
    expect(JSON.parse(call!.toolCall.arguments)).toEqual({ expression: q.expression });
    expect(result?.toolResult).toMatchObject({ toolCallId: call!.toolCall.id, name: 'calculator' });
    expect(JSON.parse(result!.toolResult.content)).toEqual({ expression: q.expression, value: q.value });
    const done = events.at(-1) as Extract<StreamEvent, { done: true }>;
    expect(done.done).toBe(true);
    expect(done.message.content).toContain(String(q.value));
    const deltas = events.filter((e): e is { delta: string } => 'delta' in e).map((e) => e.delta);
    expect(deltas.join('')).toBe(done.message.content);
    expect((await allMessages(alice.client, conversation.id)).map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  });

  it('answers 404 for messages of a conversation that does not exist', async () => {
    const id = nonexistentId();
    expectError(await alice.client.get(`/v1/conversations/${id}/messages`), 404);
    expectError(await postMessage(alice.client, id, messageInput()), 404);
  });

  it('rejects empty content with 400 naming the field, and stores nothing', async () => {
    const conversation = await createConversation(alice.client);
    expectError(await postMessage(alice.client, conversation.id, { content: '' }), 400, 'content');
    expect(await allMessages(alice.client, conversation.id)).toEqual([]);
  });
});

describe('deleting a conversation', () => {
  it('takes its messages with it', async () => {
    const word = uniqueWord();
    const doomed = await createConversation(alice.client);
    const kept = await createConversation(alice.client);
    await say(alice.client, doomed.id, { content: `remember ${word} please` });
    await say(alice.client, kept.id, messageInput());
    const keptBefore = await allMessages(alice.client, kept.id);
    expect((await searchMessages(alice, word)).items.some((h) => h.conversationId === doomed.id)).toBe(true);

    expect((await alice.client.delete(`/v1/conversations/${doomed.id}`)).status).toBe(204);
    expectError(await alice.client.get(`/v1/conversations/${doomed.id}/messages`), 404);
    expect((await searchMessages(alice, word)).items).toEqual([]);
    expect(await allMessages(alice.client, kept.id)).toEqual(keptBefore);
  });
});

describe('tools', () => {
  it('lists the built-in tools with their schemas', async () => {
    const { items } = expectOk(await alice.client.get<{ items: Tool[] }>('/v1/tools'));
    const byName = new Map(items.map((t) => [t.name, t]));
    for (const name of ['calculator', 'current_time', 'search_messages']) {
      const tool = byName.get(name);
      expect(tool, name).toBeDefined();
      expect(typeof tool!.description).toBe('string');
      expect(tool!.parameters).toMatchObject({ type: 'object' });
      expect(typeof tool!.cacheable).toBe('boolean');
      expect(tool!.ttlSeconds === null || typeof tool!.ttlSeconds === 'number').toBe(true);
    }
    expect(byName.get('current_time')!.cacheable).toBe(false);
    expect(byName.get('calculator')!.parameters).toMatchObject({ properties: { expression: expect.any(Object) } });
    expect(byName.get('search_messages')!.parameters).toMatchObject({ properties: { query: expect.any(Object) } });
  });

  it('invokes calculator', async () => {
    const q = arithmeticQuestion();
    const res = await alice.client.post<ToolInvocation<CalculatorResult>>('/v1/tools/calculator/invoke', { arguments: { expression: q.expression } });
    const body = expectOk(res);
    expect(body.result).toEqual({ expression: q.expression, value: q.value });
    expect(typeof body.cached).toBe('boolean');
  });

  it.each([
    ['precedence', '2+3*4', 14],
    ['decimals', '1.5*4', 6],
    ['unary minus', '-3+10', 7],
    ['nested parentheses', '((2+3)*(4-1))/5', 3],
  ])('calculator handles %s', async (_label, expression, value) => {
    const body = expectOk(await alice.client.post<ToolInvocation<CalculatorResult>>('/v1/tools/calculator/invoke', { arguments: { expression } }));
    expect(body.result.value).toBeCloseTo(value, 10);
  });

  it.each([
    ['no expression', {}, 'expression'],
    ['a number for expression', { expression: 42 }, 'expression'],
  ])('calculator rejects %s with 400 naming the field', async (_label, args, field) => {
    expectError(await alice.client.post('/v1/tools/calculator/invoke', { arguments: args }), 400, field);
  });

  it.each([
    ['an unparsable expression', '2+'],
    ['division by zero', '1/0'],
    ['code', 'process.exit(1)'],
    ['a function call', 'Math.max(1,2)'],
  ])('calculator answers 400 for %s (never eval)', async (_label, expression) => {
    expectError(await alice.client.post('/v1/tools/calculator/invoke', { arguments: { expression } }), 400);
  });

  it('answers 400 when arguments is missing or not an object', async () => {
    expectError(await alice.client.post('/v1/tools/calculator/invoke', {}), 400, 'arguments');
    expectError(await alice.client.post('/v1/tools/calculator/invoke', { arguments: '2+2' }), 400, 'arguments');
  });

  it('invokes current_time, with and without a timezone', async () => {
    const plain = expectOk(await alice.client.post<ToolInvocation<CurrentTimeResult>>('/v1/tools/current_time/invoke', { arguments: {} }));
    expect(plain.result).toMatchObject({ timezone: expect.any(String), iso: expect.any(String), unixMs: expect.any(Number) });
    expect(Number.isNaN(Date.parse(plain.result.iso))).toBe(false);
    // A sanity check of the value, not of any duration: the tool reports today's clock.
    expect(Math.abs(plain.result.unixMs - Date.now())).toBeLessThan(3_600_000);
    expect(plain.cached).toBe(false);

    const tokyo = expectOk(
      await alice.client.post<ToolInvocation<CurrentTimeResult>>('/v1/tools/current_time/invoke', { arguments: { timezone: 'Asia/Tokyo' } }),
    );
    expect(tokyo.result.timezone).toBe('Asia/Tokyo');
    expect(tokyo.cached).toBe(false);
  });

  it('current_time answers 400 for an unknown timezone', async () => {
    expectError(await alice.client.post('/v1/tools/current_time/invoke', { arguments: { timezone: `Nowhere/${uniqueWord()}` } }), 400);
  });

  it("search_messages finds only the caller's own messages", async () => {
    const aliceWord = uniqueWord();
    const bobWord = uniqueWord();
    const aliceConv = await createConversation(alice.client);
    const bobConv = await createConversation(bob.client);
    const aliceSaid = await say(alice.client, aliceConv.id, { content: `my secret is ${aliceWord} today` });
    await say(bob.client, bobConv.id, { content: `my secret is ${bobWord} today` });

    const found = await searchMessages(alice, aliceWord);
    expect(found.items.length).toBeGreaterThan(0);
    for (const hit of found.items) {
      expect(hit).toMatchObject({ conversationId: aliceConv.id, messageId: expect.any(String), snippet: expect.any(String) });
      isoTime(hit.createdAt);
    }
    const userHit = found.items.find((h) => h.messageId === aliceSaid.userMessage.id);
    expect(userHit).toMatchObject({ role: 'user' });
    expect(userHit!.snippet.toLowerCase()).toContain(aliceWord);

    expect((await searchMessages(bob, aliceWord)).items).toEqual([]);
    expect((await searchMessages(alice, bobWord)).items).toEqual([]);
    expect((await searchMessages(bob, bobWord)).items.every((h) => h.conversationId === bobConv.id)).toBe(true);
    expect((await searchMessages(bob, bobWord)).items.length).toBeGreaterThan(0);
  });

  it('search_messages honours limit', async () => {
    const word = uniqueWord();
    const conversation = await createConversation(alice.client);
    for (let i = 0; i < 3; i++) await say(alice.client, conversation.id, { content: `note ${i} about ${word}` });
    expect((await searchMessages(alice, word)).items.length).toBeGreaterThanOrEqual(3);
    expect((await searchMessages(alice, word, 2)).items).toHaveLength(2);
  });

  it('search_messages answers 400 without a query', async () => {
    expectError(await alice.client.post('/v1/tools/search_messages/invoke', { arguments: {} }), 400, 'query');
  });

  it('answers 404 for an unknown tool', async () => {
    expectError(await alice.client.post(`/v1/tools/${uniqueWord()}/invoke`, { arguments: {} }), 404);
  });

  it('requires a user key', async () => {
    expectError(await anonymousClient(api).get('/v1/tools'), 401);
    expectError(await anonymousClient(api).post('/v1/tools/calculator/invoke', { arguments: { expression: '1+1' } }), 401);
  });
});

describe('OpenAI-compatible endpoints', () => {
  it('GET /v1/models lists the local model', async () => {
    const list = expectOk(await alice.client.get<ModelList>('/v1/models'));
    expect(list.object).toBe('list');
    expect(list.data.length).toBeGreaterThan(0);
    for (const model of list.data) expect(model).toMatchObject({ id: expect.any(String), object: 'model' });
    expect(list.data.map((m) => m.id)).toContain('local');
  });

  it('POST /v1/chat/completions answers a chat completion with X-Cache', async () => {
    const messages = [{ role: 'user', content: chatText() }];
    const res = await alice.client.post<ChatCompletion>('/v1/chat/completions', { model: 'local', messages });
    const completion = expectOk(res);
    expect(['HIT', 'MISS']).toContain(res.headers.get('x-cache'));
    expect(completion).toMatchObject({ id: expect.any(String), object: 'chat.completion', created: expect.any(Number), model: 'local-offline-demo' });
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]).toMatchObject({ index: 0, finish_reason: 'stop', message: { role: 'assistant' } });
    expect(completion.choices[0].message.content!.trim().length).toBeGreaterThan(0);
  });

  it('POST /v1/chat/completions with stream: true sends chunks and [DONE], matching the non-stream text', async () => {
    const messages = [
      { role: 'system', content: conversationInput().systemPrompt },
      { role: 'user', content: chatText() },
    ];
    const whole = expectOk(await alice.client.post<ChatCompletion>('/v1/chat/completions', { model: 'local', messages }));
    const res = await alice.client.post('/v1/chat/completions', { model: 'local', messages, stream: true });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = sseEvents<ChatCompletionChunk>(res.text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as ChatCompletionChunk[];
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk).toMatchObject({ object: 'chat.completion.chunk', id: chunks[0].id });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(whole.choices[0].message.content);
    expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(['stop']);
  });

  it('the local model computes arithmetic itself when no tool is offered', async () => {
    const q = arithmeticQuestion();
    const completion = expectOk(
      await alice.client.post<ChatCompletion>('/v1/chat/completions', { model: 'local', messages: [{ role: 'user', content: q.question }] }),
    );
    expect(completion.choices[0].message.content).toContain(String(q.value));
  });

  it('requires a user key and a valid body', async () => {
    expectError(await anonymousClient(api).get('/v1/models'), 401);
    expectError(await anonymousClient(api).post('/v1/chat/completions', { model: 'local', messages: [{ role: 'user', content: 'hi' }] }), 401);
    expectError(await alice.client.post('/v1/chat/completions', { model: 'local' }), 400, 'messages');
  });
});

describe('operations', () => {
  it('GET /health/live and /health/ready answer 200 without auth; ready lists the database', async () => {
    const live = await http(api.url, { path: '/health/live' });
    expect(live.status).toBe(200);
    const ready = await http<Record<string, unknown>>(api.url, { path: '/health/ready' });
    expect(ready.status).toBe(200);
    expect(JSON.stringify(ready.body)).toContain('database');
  });

  it('GET /docs-json is an OpenAPI document with the contract paths', async () => {
    const res = await http<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(api.url, { path: '/docs-json' });
    const doc = expectOk(res);
    expect(doc.openapi).toMatch(/^3\./);
    const expected: [string, string[]][] = [
      ['/v1/admin/users', ['post']],
      ['/v1/conversations', ['get', 'post']],
      ['/v1/conversations/{id}', ['get', 'patch', 'delete']],
      ['/v1/conversations/{id}/messages', ['get', 'post']],
      ['/v1/tools', ['get']],
      ['/v1/tools/{name}/invoke', ['post']],
      ['/v1/models', ['get']],
      ['/v1/chat/completions', ['post']],
    ];
    for (const [path, methods] of expected) {
      expect(doc.paths[path], path).toBeDefined();
      for (const method of methods) expect(doc.paths[path][method], `${method} ${path}`).toBeDefined();
    }
  });

  it('echoes an incoming X-Request-Id, on success and on error', async () => {
    const id = requestId();
    const ok = await alice.client.request({ path: '/v1/conversations', headers: { 'x-request-id': id } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-request-id')).toBe(id);
    const otherId = requestId();
    const notFound = await alice.client.request({ path: `/v1/conversations/${nonexistentId()}`, headers: { 'x-request-id': otherId } });
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('x-request-id')).toBe(otherId);
  });

  it('generates a distinct X-Request-Id when none is sent', async () => {
    const [a, b] = await Promise.all([alice.client.get('/v1/conversations'), anonymousClient(api).get('/v1/conversations')]);
    const ida = a.headers.get('x-request-id');
    const idb = b.headers.get('x-request-id');
    expect(ida).toBeTruthy();
    expect(idb).toBeTruthy();
    expect(ida).not.toBe(idb);
  });

  it('answers an unknown route with a 404 of the contract shape', async () => {
    expectError(await alice.client.get(`/v1/${uniqueWord()}`), 404);
    expectError(await alice.client.request({ method: 'PUT', path: '/v1/conversations' }), 404);
  });

  it('every error answer seen above had the contract shape (spot check of a mixed batch)', async () => {
    const answers = await Promise.all([
      anonymousClient(api).get('/v1/conversations'),
      alice.client.post('/v1/admin/users', { name: userName() }),
      alice.client.get(`/v1/conversations/${nonexistentId()}`),
      alice.client.post('/v1/conversations', { title: 7 }),
      alice.client.request({ method: 'POST', path: '/v1/conversations', body: '{"title":', contentType: 'application/json' }),
      alice.client.request({ method: 'POST', path: '/v1/conversations', body: 'title=x', contentType: 'text/plain' }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([401, 403, 404, 400, 400, 415]);
    for (const answer of answers) expect(isErrorShape(answer.body, answer.status), answer.text).toBe(true);
  });
});
