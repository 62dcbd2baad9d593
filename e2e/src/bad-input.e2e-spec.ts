/**
 * Malformed, oversized and hostile input: every one is a clear 4xx of the contract's error shape,
 * never a 5xx. Ends with property tests (fast-check) over the POST/PATCH routes, the chat
 * completions route and the list queries, then checks that the server still answers and that
 * earlier data is intact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startApi, type StartedApi } from '@chat/testing';
import { ApiClient, http, pool, type HttpResponse } from './support/http.js';
import { adminClient, allMessages, createConversation, newUser, say, type TestUser } from './support/api.js';
import { arithmeticQuestion, calculatorToolDefinition, chatText, conversationInput, messageInput, nonexistentId, userName } from './support/factories.js';
import { expectError, expectOk, isErrorShape } from './support/assertions.js';
import type { Conversation, Message } from './support/types.js';

let api: StartedApi;
let admin: ApiClient;
let user: TestUser;
/** Written before any hostile input, compared at the end. */
let witness: Conversation;
let witnessMessages: Message[];
/** Targets of the hostile requests. */
let target: Conversation;
let targets: Conversation[];

beforeAll(async () => {
  api = await startApi();
  admin = adminClient(api);
  user = await newUser(api);
  witness = await createConversation(user.client);
  await say(user.client, witness.id, messageInput());
  await say(user.client, witness.id, { content: arithmeticQuestion().question });
  witness = expectOk(await user.client.get<Conversation>(`/v1/conversations/${witness.id}`));
  witnessMessages = await allMessages(user.client, witness.id);
  target = await createConversation(user.client);
  targets = [target, await createConversation(user.client), await createConversation(user.client)];
});

afterAll(async () => {
  await api?.stop();
});

function raw(client: ApiClient, method: string, path: string, body: string | Uint8Array, contentType = 'application/json') {
  return client.request({ method, path, body, contentType });
}

const jsonRoutes = (): [string, string, ApiClient][] => [
  ['POST', '/v1/conversations', user.client],
  ['PATCH', `/v1/conversations/${target.id}`, user.client],
  ['POST', `/v1/conversations/${target.id}/messages`, user.client],
  ['POST', '/v1/tools/calculator/invoke', user.client],
  ['POST', '/v1/chat/completions', user.client],
  ['POST', '/v1/admin/users', admin],
];

describe('malformed bodies', () => {
  it.each(['{"title":', '{title: "x"}', "{'a':1}", '{"a":1}}', '[1,2', 'nul', '\u0000'])('answers 400 to malformed JSON %j on every route', async (body) => {
    for (const [method, path, client] of jsonRoutes()) expectError(await raw(client, method, path, body), 400);
  });

  it('answers 400 to an empty body labelled JSON', async () => {
    for (const [method, path, client] of jsonRoutes()) expectError(await raw(client, method, path, ''), 400);
  });

  it.each(['null', '[]', '"a string"', '42', 'true'])('answers 400 to a JSON body that is not an object: %s', async (body) => {
    for (const [method, path, client] of jsonRoutes()) expectError(await raw(client, method, path, body), 400);
  });

  it('answers 413 to a body over the limit, and keeps serving', async () => {
    const huge = JSON.stringify(messageInput({ content: 'x'.repeat(2 * 1024 * 1024) }));
    expectError(await raw(user.client, 'POST', `/v1/conversations/${target.id}/messages`, huge), 413);
    expectError(await raw(user.client, 'POST', '/v1/conversations', JSON.stringify({ title: 'y'.repeat(1_500_000) })), 413);
    expectError(
      await raw(user.client, 'POST', '/v1/chat/completions', JSON.stringify({ model: 'local', messages: [{ role: 'user', content: 'z'.repeat(1_200_000) }] })),
      413,
    );
    expectOk(await user.client.get('/v1/conversations'));
  });
});

describe('content types', () => {
  it.each([
    ['text/plain', JSON.stringify(conversationInput())],
    ['application/x-www-form-urlencoded', 'title=hello'],
    ['multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="title"\r\n\r\nhello\r\n--xyz--\r\n'],
    ['application/xml', '<title>hello</title>'],
  ])('answers 415 to %s', async (contentType, body) => {
    expectError(await raw(user.client, 'POST', '/v1/conversations', body, contentType), 415);
    expectError(await raw(user.client, 'POST', `/v1/conversations/${target.id}/messages`, body, contentType), 415);
  });

  it('accepts application/json with a charset', async () => {
    const res = await raw(user.client, 'POST', '/v1/conversations', JSON.stringify(conversationInput()), 'application/json; charset=utf-8');
    expect(res.status, res.text).toBe(201);
  });
});

type RouteKey = 'conversations' | 'conversation' | 'messages' | 'calculator' | 'search' | 'users' | 'chat';

function routePath(key: RouteKey): string {
  switch (key) {
    case 'conversations':
      return '/v1/conversations';
    case 'conversation':
      return `/v1/conversations/${target.id}`;
    case 'messages':
      return `/v1/conversations/${target.id}/messages`;
    case 'calculator':
      return '/v1/tools/calculator/invoke';
    case 'search':
      return '/v1/tools/search_messages/invoke';
    case 'users':
      return '/v1/admin/users';
    case 'chat':
      return '/v1/chat/completions';
  }
}

function callRoute(method: string, key: RouteKey, json: unknown): Promise<HttpResponse<unknown>> {
  const client = key === 'users' ? admin : user.client;
  return client.request({ method, path: routePath(key), json });
}

describe('wrong types and unknown fields', () => {
  it.each<[string, string, RouteKey, unknown, string]>([
    ['conversation title as a number', 'POST', 'conversations', { title: 123 }, 'title'],
    ['conversation systemPrompt as an object', 'POST', 'conversations', { systemPrompt: { a: 1 } }, 'systemPrompt'],
    ['conversation model as an array', 'POST', 'conversations', { model: ['local'] }, 'model'],
    ['patch title as a boolean', 'PATCH', 'conversation', { title: true }, 'title'],
    ['message content as a number', 'POST', 'messages', { content: 5 }, 'content'],
    ['message content missing', 'POST', 'messages', { mode: 'sync' }, 'content'],
    ['message mode unknown', 'POST', 'messages', { ...messageInput(), mode: 'fast' }, 'mode'],
    ['message priority unknown', 'POST', 'messages', { ...messageInput(), priority: 'mega' }, 'priority'],
    ['message cache as a string', 'POST', 'messages', { ...messageInput(), cache: 'yes' }, 'cache'],
    ['tool arguments as a string', 'POST', 'calculator', { arguments: '1+1' }, 'arguments'],
    ['tool arguments as an array', 'POST', 'calculator', { arguments: ['1+1'] }, 'arguments'],
    ['user name as a number', 'POST', 'users', { name: 5 }, 'name'],
    ['chat messages as a string', 'POST', 'chat', { model: 'local', messages: 'hi' }, 'messages'],
  ])('%s: 400 naming the field', async (_label, method, key, body, field) => {
    expectError(await callRoute(method, key, body), 400, field);
  });

  it.each<[string, string, RouteKey, () => unknown, string]>([
    ['POST /v1/conversations', 'POST', 'conversations', () => ({ ...conversationInput(), isAdmin: true }), 'isAdmin'],
    ['PATCH /v1/conversations/:id', 'PATCH', 'conversation', () => ({ title: 'ok', ownerId: nonexistentId() }), 'ownerId'],
    ['PATCH model (not patchable)', 'PATCH', 'conversation', () => ({ model: 'local' }), 'model'],
    ['POST messages', 'POST', 'messages', () => ({ ...messageInput(), role: 'assistant' }), 'role'],
    ['POST tool invoke', 'POST', 'calculator', () => ({ arguments: { expression: '1+1' }, sudo: 1 }), 'sudo'],
    ['POST admin users', 'POST', 'users', () => ({ name: userName(), apiKey: 'chosen' }), 'apiKey'],
  ])('%s rejects an unknown field with 400 naming it', async (_label, method, key, body, field) => {
    expectError(await callRoute(method, key, body()), 400, field);
  });
  it('an unknown calculator argument fails the tool schema: 400 naming it', async () => {
    expectError(await user.client.post('/v1/tools/calculator/invoke', { arguments: { expression: '1+1', extra: 2 } }), 400, 'extra');
  });

  it('a rejected PATCH changes nothing', async () => {
    const before = expectOk(await user.client.get<Conversation>(`/v1/conversations/${target.id}`));
    expectError(await user.client.patch(`/v1/conversations/${target.id}`, { title: 'changed', bogus: 1 }), 400, 'bogus');
    expect(expectOk(await user.client.get<Conversation>(`/v1/conversations/${target.id}`))).toEqual(before);
  });
});

describe('huge and boundary strings', () => {
  it.each<[string, string, RouteKey, unknown, string]>([
    ['title of 201 chars', 'POST', 'conversations', { title: 't'.repeat(201) }, 'title'],
    ['systemPrompt of 8001 chars', 'POST', 'conversations', { systemPrompt: 's'.repeat(8001) }, 'systemPrompt'],
    ['patched title of 201 chars', 'PATCH', 'conversation', { title: 't'.repeat(201) }, 'title'],
    ['patched systemPrompt of 8001 chars', 'PATCH', 'conversation', { systemPrompt: 's'.repeat(8001) }, 'systemPrompt'],
    ['content of 32001 chars', 'POST', 'messages', { content: 'c'.repeat(32_001) }, 'content'],
    ['empty content', 'POST', 'messages', { content: '' }, 'content'],
    ['user name of 101 chars', 'POST', 'users', { name: 'n'.repeat(101) }, 'name'],
  ])('%s → 400 naming the field', async (_label, method, key, body, field) => {
    expectError(await callRoute(method, key, body), 400, field);
  });

  it('accepts the limits themselves: title 200, systemPrompt 8000, content 32000, name 100', async () => {
    const c = expectOk(
      await user.client.post<Conversation>('/v1/conversations', { title: 't'.repeat(200), systemPrompt: 's'.repeat(8000) }),
      201,
    );
    expect(c.title).toHaveLength(200);
    const base = `${chatText()} `;
    const reply = await user.client.post(`/v1/conversations/${c.id}/messages`, { content: base + 'c'.repeat(32_000 - base.length) });
    expect(reply.status, reply.text.slice(0, 300)).toBe(201);
    expect((await admin.post('/v1/admin/users', { name: 'n'.repeat(100) })).status).toBe(201);
  });

  it('survives deeply nested arithmetic: a 4xx or an answer, never a 5xx', async () => {
    const deep = `${'('.repeat(10_000)}1${')'.repeat(10_000)}`;
    const tool = await user.client.post('/v1/tools/calculator/invoke', { arguments: { expression: deep } });
    expect([200, 400], tool.text.slice(0, 300)).toContain(tool.status);
    if (tool.status === 400) expect(isErrorShape(tool.body, 400)).toBe(true);
    const long = await user.client.post('/v1/tools/calculator/invoke', { arguments: { expression: Array.from({ length: 5000 }, () => '9').join('*') } });
    expect(long.status, long.text.slice(0, 300)).toBeLessThan(500);
    const chat = await user.client.post(`/v1/conversations/${target.id}/messages`, { content: `What is ${deep}?` });
    expect(chat.status, chat.text.slice(0, 300)).toBeLessThan(500);
  });

  it('stores and returns unusual Unicode intact', async () => {
    const title = 'Zażółć 😀 \u202e مرحبا 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \t"quotes"\\';
    const c = expectOk(await user.client.post<Conversation>('/v1/conversations', { title }), 201);
    expect(expectOk(await user.client.get<Conversation>(`/v1/conversations/${c.id}`)).title).toBe(title);
  });

  it.each<[string, string, RouteKey, unknown]>([
    ['conversation title', 'POST', 'conversations', { title: 'nul\u0000inside' }],
    ['conversation systemPrompt', 'POST', 'conversations', { systemPrompt: 'nul\u0000inside' }],
    ['patched title', 'PATCH', 'conversation', { title: 'nul\u0000inside' }],
    ['message content', 'POST', 'messages', { content: 'hello\u0000world' }],
    ['search_messages query', 'POST', 'search', { arguments: { query: 'a\u0000b' } }],
    ['user name', 'POST', 'users', { name: 'nul\u0000inside' }],
    ['chat completion content', 'POST', 'chat', { model: 'local', messages: [{ role: 'user', content: 'a\u0000b' }] }],
  ])('a NUL character in the %s is a 4xx or stored, never a 5xx', async (_label, method, key, body) => {
    const res = await callRoute(method, key, body);
    expect(res.status, res.text).toBeLessThan(500);
    if (res.status >= 400) expectError(res, res.status);
  });
});

describe('invalid ids', () => {
  it.each(['not-a-uuid', '123', "1' OR '1'='1", '%00', '..%2F..%2Fetc', 'ffffffff-ffff-ffff-ffff-fffffffffffff', '00000000-0000-0000-0000-000000000000'])(
    'a conversation id %j answers 404 on every route',
    async (id) => {
      const path = `/v1/conversations/${encodeURIComponent(decodeURIComponent(id))}`;
      expectError(await user.client.get(path), 404);
      expectError(await user.client.patch(path, { title: 'x' }), 404);
      expectError(await user.client.delete(path), 404);
      expectError(await user.client.get(`${path}/messages`), 404);
      expectError(await user.client.post(`${path}/messages`, messageInput()), 404);
    },
  );

  it.each(['not-a-uuid', '123', "' OR 1=1 --"])('before=%j is a 400 naming before', async (before) => {
    expectError(await user.client.get(`/v1/conversations/${target.id}/messages`, { before }), 400, 'before');
  });

  it('an odd tool name answers 404', async () => {
    for (const name of ['..', 'calculator%00', 'CALCULATOR', '__proto__', 'constructor']) {
      expectError(await user.client.post(`/v1/tools/${name}/invoke`, { arguments: {} }), 404);
    }
  });
});

describe('invalid query parameters', () => {
  it.each(['0', '101', '-1', 'abc', '1.5', '20abc'])('GET /v1/conversations?limit=%j → 400 naming limit', async (limit) => {
    expectError(await user.client.get('/v1/conversations', { limit }), 400, 'limit');
  });

  it.each(['0', '201', '-5', 'x', '2.5'])('GET messages?limit=%j → 400 naming limit', async (limit) => {
    expectError(await user.client.get(`/v1/conversations/${target.id}/messages`, { limit }), 400, 'limit');
  });

  it.each(['garbage', '!!!', 'eyJmb28iOiJiYXIifQ', 'MjAyNC0wMS0wMQ', 'a'.repeat(5000)])('GET /v1/conversations?cursor=%# (garbage) → 400 naming cursor', async (cursor) => {
    expectError(await user.client.get('/v1/conversations', { cursor }), 400, 'cursor');
  });

  it('accepts the limit bounds', async () => {
    expectOk(await user.client.get('/v1/conversations', { limit: 1 }));
    expectOk(await user.client.get('/v1/conversations', { limit: 100 }));
    expectOk(await user.client.get(`/v1/conversations/${target.id}/messages`, { limit: 1 }));
    expectOk(await user.client.get(`/v1/conversations/${target.id}/messages`, { limit: 200 }));
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests: generated bodies and queries, never a 5xx, always the error shape.
// ---------------------------------------------------------------------------------------------

interface GeneratedRequest {
  method: string;
  path: string;
  /** Raw body text (sent as application/json), or undefined for none. */
  body?: string;
  admin?: boolean;
}

let requestsSent = 0;
/** Requests of the current property that broke the rule (first the original, then shrunk ones). */
let failures: string[] = [];

async function send(req: GeneratedRequest): Promise<HttpResponse<unknown>> {
  requestsSent++;
  const client = req.admin ? admin : user.client;
  return client.request({ method: req.method, path: req.path, body: req.body, contentType: req.body === undefined ? undefined : 'application/json' });
}

/** Sends a batch with modest concurrency; true when every answer is a non-5xx with a well-formed error body. */
async function sendBatch(batch: GeneratedRequest[]): Promise<boolean> {
  const answers = await pool(
    batch.map((req) => () => send(req)),
    6,
  );
  let ok = true;
  answers.forEach((res, i) => {
    const req = batch[i];
    const good = res.status < 500 && (res.status < 400 || isErrorShape(res.body, res.status));
    if (!good) {
      ok = false;
      failures.push(`${req.method} ${req.path} ${req.body?.slice(0, 300) ?? ''} → ${res.status} ${res.text.slice(0, 300)}`);
    }
  });
  return ok;
}

const tricky = fc.constantFrom('', ' ', '\u0000', 'null', 'undefined', '__proto__', 'constructor', "'; DROP TABLE messages; --", '&|!:*()', '\\', '%s%n', '😀'.repeat(5), '\u202e', '1/0', '2+2', '((((1', 'What is 7*6?', 'search for ', 'what time is it');
const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: tricky },
  { weight: 1, arbitrary: fc.string({ minLength: 195, maxLength: 205 }) },
);
const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const anyValue = fc.oneof(
  { weight: 3, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 3 }) },
);
const extraFields = fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), anyValue, { maxKeys: 2 });

/** Near-valid objects: the DTO's own keys with good, bad and missing values, sometimes extra keys. */
function nearValid(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const record = fc.record(
    Object.fromEntries(Object.entries(fields).map(([k, good]) => [k, fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: anyValue })])),
    { requiredKeys: [] },
  );
  return fc.oneof({ weight: 4, arbitrary: record }, { weight: 1, arbitrary: fc.tuple(record, extraFields).map(([r, e]) => ({ ...e, ...(r as object) })) });
}

/** Any body: arbitrary JSON, arbitrary text (mostly not JSON), or a near-valid object. */
function bodyOf(near: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
    { weight: 5, arbitrary: near.map((v) => JSON.stringify(v)) },
  );
}

const conversationBody = nearValid({
  title: fc.string({ maxLength: 210 }),
  systemPrompt: fc.oneof(fc.string({ maxLength: 100 }), fc.constant(null)),
  model: fc.constantFrom('local', 'gpt-4o', ''),
});
const patchBody = nearValid({ title: fc.oneof(fc.string({ maxLength: 210 }), fc.constant(null)), systemPrompt: fc.oneof(fc.string({ maxLength: 100 }), fc.constant(null)) });
const messageBody = nearValid({
  content: fc.oneof(fc.string({ minLength: 0, maxLength: 80 }), tricky),
  mode: fc.constantFrom('sync', 'stream', 'async', 'SYNC'),
  priority: fc.constantFrom('low', 'normal', 'high', 'urgent', 'critical', 'meh'),
  cache: fc.boolean(),
});
const toolArguments = fc.oneof(
  nearValid({ expression: fc.oneof(fc.stringMatching(/^[0-9+\-*/(). ]{1,30}$/), tricky) }),
  nearValid({ timezone: fc.constantFrom('UTC', 'Europe/Paris', 'Mars/Olympus', '') }),
  nearValid({ query: text, limit: fc.integer({ min: -5, max: 500 }) }),
);
const invokeBody = nearValid({ arguments: toolArguments });
const toolName = fc.oneof({ weight: 5, arbitrary: fc.constantFrom('calculator', 'current_time', 'search_messages') }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) });
const userBody = nearValid({ name: fc.string({ minLength: 0, maxLength: 105 }) });
const chatMessage = nearValid({
  role: fc.constantFrom('user', 'system', 'assistant', 'tool', 'developer', 'robot'),
  content: fc.oneof(text, fc.constant(null), fc.array(nearValid({ type: fc.constantFrom('text', 'image_url'), text }), { maxLength: 2 })),
  tool_call_id: fc.string({ maxLength: 10 }),
  tool_calls: fc.array(nearValid({ id: fc.string(), type: fc.constant('function'), function: nearValid({ name: fc.string(), arguments: fc.string() }) }), { maxLength: 2 }),
});
const chatBody = nearValid({
  model: fc.constantFrom('local', 'local', 'gpt-4o', ''),
  messages: fc.array(chatMessage, { maxLength: 4 }),
  stream: fc.boolean(),
  temperature: fc.double({ min: -1, max: 3, noNaN: true }),
  max_tokens: fc.integer({ min: -10, max: 5000 }),
  n: fc.integer({ min: 0, max: 3 }),
  tools: fc.oneof(fc.constant([calculatorToolDefinition()]), fc.array(anyValue, { maxLength: 2 })),
  tool_choice: fc.constantFrom('auto', 'none', 'required'),
  stream_options: fc.constant({ include_usage: true }),
});
const queryValue = fc.oneof(
  fc.integer({ min: -10, max: 300 }).map(String),
  fc.constantFrom('', '1e2', '0x10', '20abc', ' 5', 'NaN', 'Infinity', '-0', '00000000-0000-0000-0000-000000000000'),
  fc.string({ maxLength: 30 }),
  fc.base64String({ maxLength: 40 }),
);

function queryString(params: [string, string][]): string {
  const q = new URLSearchParams();
  for (const [k, v] of params) q.append(k, v);
  return q.toString();
}

/** Runs a property; on failure, the error also shows the offending requests and answers. */
async function check<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncPropertyWithHooks<Ts>, numRuns = RUNS): Promise<void> {
  failures = [];
  try {
    await fc.assert(property, { numRuns, interruptAfterTimeLimit: 100_000, markInterruptAsFailure: false });
  } catch (error) {
    const seen = [...failures.slice(0, 3), ...(failures.length > 3 ? ['…', failures.at(-1)!] : [])];
    throw new Error(`${(error as Error).message}\n\nOffending requests:\n${seen.join('\n')}`, { cause: error });
  }
  expect(failures).toEqual([]);
}

const BATCH = 6;
const RUNS = 80;

describe('property: generated requests never yield a 5xx', () => {
  it('POST /v1/conversations', async () => {
    await check(
      fc.asyncProperty(fc.array(bodyOf(conversationBody), { minLength: BATCH, maxLength: BATCH }), (bodies) =>
        sendBatch(bodies.map((body) => ({ method: 'POST', path: '/v1/conversations', body }))),
      ),
    );
  }, 120_000);

  it('PATCH /v1/conversations/:id', async () => {
    const ids = fc.oneof({ weight: 4, arbitrary: fc.constant(target.id) }, { weight: 1, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 10 }) });
    await check(
      fc.asyncProperty(fc.array(fc.tuple(ids, bodyOf(patchBody)), { minLength: BATCH, maxLength: BATCH }), (reqs) =>
        sendBatch(reqs.map(([id, body]) => ({ method: 'PATCH', path: `/v1/conversations/${encodeURIComponent(id)}`, body }))),
      ),
    );
  }, 120_000);

  it('POST /v1/conversations/:id/messages', async () => {
    const ids = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...targets.map((t) => t.id)) }, { weight: 1, arbitrary: fc.uuid() });
    await check(
      fc.asyncProperty(fc.array(fc.tuple(ids, bodyOf(messageBody)), { minLength: BATCH, maxLength: BATCH }), (reqs) =>
        sendBatch(reqs.map(([id, body]) => ({ method: 'POST', path: `/v1/conversations/${id}/messages`, body }))),
      ),
    );
  }, 120_000);

  it('POST /v1/tools/:name/invoke', async () => {
    await check(
      fc.asyncProperty(fc.array(fc.tuple(toolName, bodyOf(invokeBody)), { minLength: BATCH, maxLength: BATCH }), (reqs) =>
        sendBatch(reqs.map(([name, body]) => ({ method: 'POST', path: `/v1/tools/${encodeURIComponent(name)}/invoke`, body }))),
      ),
    );
  }, 120_000);

  it('POST /v1/admin/users', async () => {
    await check(
      fc.asyncProperty(fc.array(bodyOf(userBody), { minLength: BATCH, maxLength: BATCH }), (bodies) =>
        sendBatch(bodies.map((body) => ({ method: 'POST', path: '/v1/admin/users', body, admin: true }))),
      ),
      60,
    );
  }, 120_000);

  it('POST /v1/chat/completions', async () => {
    await check(
      fc.asyncProperty(fc.array(bodyOf(chatBody), { minLength: BATCH, maxLength: BATCH }), (bodies) =>
        sendBatch(bodies.map((body) => ({ method: 'POST', path: '/v1/chat/completions', body }))),
      ),
    );
  }, 120_000);

  it('GET list queries (conversations and messages)', async () => {
    const params = fc.array(fc.tuple(fc.constantFrom('limit', 'cursor', 'before', 'limit'), queryValue), { maxLength: 3 });
    const req = fc.tuple(fc.boolean(), params).map(([messages, p]): GeneratedRequest => ({
      method: 'GET',
      path: `${messages ? `/v1/conversations/${target.id}/messages` : '/v1/conversations'}?${queryString(p)}`,
    }));
    await check(
      fc.asyncProperty(fc.array(req, { minLength: BATCH, maxLength: BATCH }), (reqs) => sendBatch(reqs)),
    );
  }, 120_000);

  it('sent at least 3,000 generated requests', () => {
    expect(requestsSent).toBeGreaterThanOrEqual(3000);
  });
});

describe('after the hostile input', () => {
  it('the server still answers', async () => {
    expect((await http(api.url, { path: '/health/ready' })).status).toBe(200);
    const fresh = await createConversation(user.client);
    const reply = await say(user.client, fresh.id, messageInput());
    expect(reply.assistantMessage.content.length).toBeGreaterThan(0);
  });

  it('earlier data is intact', async () => {
    expect(expectOk(await user.client.get<Conversation>(`/v1/conversations/${witness.id}`))).toEqual(witness);
    expect(await allMessages(user.client, witness.id)).toEqual(witnessMessages);
  });
});
