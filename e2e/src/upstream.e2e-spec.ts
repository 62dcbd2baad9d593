/**
 * The openai-compatible model provider against a fake upstream: retries, exhaustion, timeout,
 * streaming, and the tool loop driven by upstream tool calls.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startApi, startFakeUpstream, type FakeUpstream, type StartedApi } from '@chat/testing';
import {
  allMessages,
  createConversation,
  headerOf,
  newUser,
  postMessage,
  say,
  upstreamCalls,
  upstreamChatRequests,
  upstreamEnv,
  type TestUser,
} from './support/api.js';
import { chatText, messageInput, sumExpression } from './support/factories.js';
import { expectError, expectOk } from './support/assertions.js';
import { sseEvents } from './support/sse.js';
import type { Conversation, ErrorBody, Message, StreamEvent } from './support/types.js';

const MAX_RETRIES = 2;
const TOOL_MAX_ROUNDS = 3;
const TIMEOUT_MS = 2_500;

let fake: FakeUpstream;
let api: StartedApi;
let env: Record<string, string>;
let user: TestUser;

beforeAll(async () => {
  fake = await startFakeUpstream({ model: 'fake-model', latencyMs: 0 });
  env = upstreamEnv(fake, {
    AI_MAX_RETRIES: String(MAX_RETRIES),
    AI_TIMEOUT_MS: String(TIMEOUT_MS),
    TOOL_MAX_ROUNDS: String(TOOL_MAX_ROUNDS),
  });
  api = await startApi({ env });
  user = await newUser(api);
});

afterAll(async () => {
  await api?.stop();
  await fake?.close();
});

beforeEach(() => {
  // reset() keeps the options: undo a test's latency change too.
  fake.reset();
  fake.setOptions({ latencyMs: 0 });
});

const overloaded = { status: 503, body: { error: { message: 'overloaded', type: 'server_error' } } };
const tooMany = { status: 429, body: { error: { message: 'slow down', type: 'rate_limit' } }, headers: { 'retry-after': '0' } };
const broken = { status: 500, body: { error: { message: 'boom', type: 'server_error' } } };
const badRequest = { status: 400, body: { error: { message: 'bad request', type: 'invalid_request_error' } } };

function toolCallReply(expression: string) {
  return { toolCalls: [{ name: 'calculator', arguments: JSON.stringify({ expression }) }] };
}

/** After a failed answer: the user message (and only it) is stored, under the id the error names. */
async function expectOnlyUserMessageKept(conversation: Conversation, content: string, error: ErrorBody): Promise<void> {
  expect(typeof error.userMessageId).toBe('string');
  const stored = await allMessages(user.client, conversation.id);
  expect(stored).toHaveLength(1);
  expect(stored[0]).toMatchObject({ id: error.userMessageId, role: 'user', content });
}

describe('retries', () => {
  it.each([
    ['a 503', overloaded],
    ['a 429', tooMany],
    ['a dropped connection', { drop: true as const }],
  ])('retries after %s and then answers', async (_label, failure) => {
    const conversation = await createConversation(user.client);
    const input = messageInput();
    fake.script(failure);
    const reply = await say(user.client, conversation.id, input);
    expect(reply.assistantMessage.content).toBe(`echo: ${input.content}`);
    expect(upstreamCalls(fake)).toBe(2);
    expect((await allMessages(user.client, conversation.id)).map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('sends the configured key and model upstream on every attempt', async () => {
    const conversation = await createConversation(user.client);
    fake.script(overloaded);
    await say(user.client, conversation.id, messageInput());
    const requests = upstreamChatRequests(fake);
    expect(requests).toHaveLength(2);
    for (const req of requests) {
      expect(headerOf(req, 'authorization')).toBe(`Bearer ${env['AI_API_KEY']}`);
      expect(req.body).toMatchObject({ model: 'fake-model' });
    }
  });

  it('gives up after AI_MAX_RETRIES retries of a 503: 502/503 (Retry-After on 503), user message kept', async () => {
    const conversation = await createConversation(user.client);
    const input = messageInput();
    fake.script(overloaded, overloaded, overloaded, overloaded, overloaded, overloaded);
    const res = await postMessage(user.client, conversation.id, input);
    expect([502, 503], res.text).toContain(res.status);
    const error = expectError(res, res.status);
    if (res.status === 503) expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(upstreamCalls(fake)).toBe(MAX_RETRIES + 1);
    await expectOnlyUserMessageKept(conversation, input.content, error);
    const after = expectOk(await user.client.get<Conversation>(`/v1/conversations/${conversation.id}`));
    expect(after.messageCount).toBe(1);
  });

  it('gives up on a persistent upstream 500 with 502/503, user message kept', async () => {
    const conversation = await createConversation(user.client);
    const input = messageInput();
    fake.script(broken, broken, broken, broken, broken, broken);
    const res = await postMessage(user.client, conversation.id, input);
    expect([502, 503], res.text).toContain(res.status);
    const error = expectError(res, res.status);
    if (res.status === 503) expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    await expectOnlyUserMessageKept(conversation, input.content, error);
  });

  it('does not retry an upstream 400: 502 at once, user message kept', async () => {
    const conversation = await createConversation(user.client);
    const input = messageInput();
    fake.script(badRequest, badRequest, badRequest);
    const res = await postMessage(user.client, conversation.id, input);
    const error = expectError(res, 502);
    expect(upstreamCalls(fake)).toBe(1);
    await expectOnlyUserMessageKept(conversation, input.content, error);
  });

  it('answers 504 when the upstream is slower than AI_TIMEOUT_MS, user message kept', async () => {
    const conversation = await createConversation(user.client);
    const input = messageInput();
    fake.setOptions({ latencyMs: TIMEOUT_MS * 4 });
    const res = await postMessage(user.client, conversation.id, input);
    const error = expectError(res, 504);
    await expectOnlyUserMessageKept(conversation, input.content, error);
  });

  it('answers normally again once the upstream recovers', async () => {
    const conversation = await createConversation(user.client);
    const input = messageInput();
    const reply = await say(user.client, conversation.id, input);
    expect(reply.assistantMessage.content).toBe(`echo: ${input.content}`);
  });
});

describe('streaming through the upstream', () => {
  it('streams the upstream deltas and stores the answer', async () => {
    const conversation = await createConversation(user.client);
    const content = chatText();
    const res = await postMessage(user.client, conversation.id, { content, mode: 'stream' });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = sseEvents<StreamEvent>(res.text).filter((e): e is StreamEvent => e !== '[DONE]');
    const deltas = events.filter((e): e is { delta: string } => 'delta' in e).map((e) => e.delta);
    expect(deltas.join('')).toBe(`echo: ${content}`);
    expect(deltas.length).toBeGreaterThan(1);
    const done = events.at(-1) as Extract<StreamEvent, { done: true }>;
    expect(done).toMatchObject({ done: true, message: { role: 'assistant', content: `echo: ${content}` } });
    // The API streams from the upstream rather than buffering a whole answer.
    expect(upstreamChatRequests(fake)[0].body).toMatchObject({ stream: true });
    const stored = await allMessages(user.client, conversation.id);
    expect(stored.map((m) => [m.role, m.content])).toEqual([
      ['user', content],
      ['assistant', `echo: ${content}`],
    ]);
  });

  it('reports an upstream failure in stream mode (an error status, or an error event) and keeps the user message', async () => {
    const conversation = await createConversation(user.client);
    const content = chatText();
    fake.script(badRequest, badRequest, badRequest);
    const res = await postMessage(user.client, conversation.id, { content, mode: 'stream' });
    if (res.status === 200) {
      const events = sseEvents<StreamEvent>(res.text);
      const last = events.at(-1);
      expect(last, res.text).toMatchObject({ error: { statusCode: 502, message: expect.any(String) } });
    } else {
      expectError(res, 502);
    }
    const stored = await allMessages(user.client, conversation.id);
    expect(stored.map((m) => [m.role, m.content])).toEqual([['user', content]]);
  });
});

describe('the tool loop driven by the upstream', () => {
  it('runs the calculator the upstream asks for and stores the tool messages', async () => {
    const conversation = await createConversation(user.client);
    const sum = sumExpression();
    const content = `CALL calculator ${JSON.stringify({ expression: sum.expression })}`;
    fake.script(toolCallReply(sum.expression));
    const reply = await say(user.client, conversation.id, { content });

    const stored = await allMessages(user.client, conversation.id);
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    const [, call, tool, answer] = stored as [Message, Message, Message, Message];
    expect(call.toolCalls).toHaveLength(1);
    const toolCall = call.toolCalls![0];
    expect(toolCall).toMatchObject({ type: 'function', function: { name: 'calculator' } });
    expect(JSON.parse(toolCall.function.arguments)).toEqual({ expression: sum.expression });
    expect(tool.toolCallId).toBe(toolCall.id);
    expect(JSON.parse(tool.content)).toEqual({ expression: sum.expression, value: sum.value });
    expect(answer.content).toBe(`tool said: ${tool.content}`);
    expect(reply.assistantMessage).toMatchObject({ id: answer.id, content: answer.content });

    // What the upstream saw: the tools offered, then the tool result on the second call.
    expect(upstreamCalls(fake)).toBe(2);
    const [first, second] = upstreamChatRequests(fake);
    if (!first || !second) throw new Error('expected two upstream requests');
    const offered = (first.body as { tools?: { function: { name: string } }[] }).tools?.map((t) => t.function.name) ?? [];
    expect(offered).toEqual(expect.arrayContaining(['calculator', 'current_time', 'search_messages']));
    const followUp = (second.body as { messages: { role: string; tool_call_id?: string; content?: string; tool_calls?: { id: string }[] }[] }).messages;
    const toolMessage = followUp.find((m) => m.role === 'tool');
    expect(toolMessage?.tool_call_id).toBe(toolCall.id);
    const assistantWithCalls = followUp.find((m) => m.role === 'assistant' && m.tool_calls?.length);
    expect(assistantWithCalls?.tool_calls?.[0]?.id).toBe(toolMessage?.tool_call_id);
    expect(JSON.parse(toolMessage!.content!)).toEqual({ expression: sum.expression, value: sum.value });
  });

  it('streams toolCall and toolResult events for upstream tool calls', async () => {
    const conversation = await createConversation(user.client);
    const sum = sumExpression();
    fake.script(toolCallReply(sum.expression));
    const res = await postMessage(user.client, conversation.id, { content: `CALL calculator ${sum.expression}`, mode: 'stream' });
    expect(res.status, res.text).toBe(200);
    const events = sseEvents<StreamEvent>(res.text).filter((e): e is StreamEvent => e !== '[DONE]');
    const call = events.find((e): e is Extract<StreamEvent, { toolCall: unknown }> => 'toolCall' in e);
    const result = events.find((e): e is Extract<StreamEvent, { toolResult: unknown }> => 'toolResult' in e);
    expect(call?.toolCall.name).toBe('calculator');
    expect(result?.toolResult).toMatchObject({ toolCallId: call?.toolCall.id, name: 'calculator' });
    expect(JSON.parse(result!.toolResult.content)).toEqual({ expression: sum.expression, value: sum.value });
    const done = events.at(-1) as Extract<StreamEvent, { done: true }>;
    expect(done.done).toBe(true);
    expect(done.message.content).toBe(`tool said: ${result!.toolResult.content}`);
    expect((await allMessages(user.client, conversation.id)).map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  });

  it(`stops after TOOL_MAX_ROUNDS (${TOOL_MAX_ROUNDS}) when the upstream always asks for a tool, and still answers`, async () => {
    const conversation = await createConversation(user.client);
    const sum = sumExpression();
    fake.script(...Array.from({ length: 12 }, () => toolCallReply(sum.expression)));
    const res = await postMessage(user.client, conversation.id, { content: `CALL calculator forever ${sum.expression}` });
    const reply = expectOk(res, 201);
    expect(reply.assistantMessage.role).toBe('assistant');
    expect(reply.assistantMessage.content.trim().length).toBeGreaterThan(0);
    expect(upstreamCalls(fake)).toBeLessThanOrEqual(TOOL_MAX_ROUNDS + 1);

    const stored = await allMessages(user.client, conversation.id);
    const toolMessages = stored.filter((m) => m.role === 'tool');
    expect(toolMessages.length).toBeGreaterThan(0);
    expect(toolMessages.length).toBeLessThanOrEqual(TOOL_MAX_ROUNDS);
    expect(stored.at(-1)).toMatchObject({ id: reply.assistantMessage.id, role: 'assistant' });
    // Every stored tool call has its answer: no dangling call that would poison the next turn.
    const callIds = stored.flatMap((m) => m.toolCalls?.map((c) => c.id) ?? []);
    expect(toolMessages.map((m) => m.toolCallId).sort()).toEqual([...callIds].sort());

    // The conversation goes on normally afterwards.
    fake.reset();
    const next = messageInput();
    const again = await say(user.client, conversation.id, next);
    expect(again.assistantMessage.content).toBe(`echo: ${next.content}`);
    // The history sent upstream is valid OpenAI: every assistant tool call is answered by a tool message.
    const history = (upstreamChatRequests(fake)[0].body as { messages: { role: string; tool_call_id?: string; tool_calls?: { id: string }[] }[] }).messages;
    const askedIds = history.flatMap((m) => m.tool_calls?.map((c) => c.id) ?? []);
    const answeredIds = history.filter((m) => m.role === 'tool').map((m) => m.tool_call_id);
    expect(answeredIds.sort()).toEqual([...askedIds].sort());
  });
});
