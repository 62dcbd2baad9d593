/**
 * The official `openai` npm client, unchanged, pointed at `<api>/v1` with a user key:
 * against the built-in `local` model, and through the openai-compatible provider to a fake upstream.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionMessageToolCall } from 'openai/resources/chat/completions';
import { startApi, startFakeUpstream, type FakeUpstream, type StartedApi } from '@chat/testing';
import { headerOf, newUser, upstreamCalls, upstreamChatRequests, upstreamEnv, type TestUser } from './support/api.js';
import { arithmeticQuestion, calculatorToolDefinition, chatText, sumExpression } from './support/factories.js';

function clientFor(api: StartedApi, user: TestUser): OpenAI {
  return new OpenAI({ apiKey: user.apiKey, baseURL: `${api.url}/v1`, maxRetries: 0, timeout: 30_000 });
}

interface CollectedStream {
  content: string;
  contentChunks: number;
  finishReasons: string[];
  toolCalls: { id: string; name: string; arguments: string }[];
}

/** Reads a `stream: true` completion the way an application would: accumulate deltas by index. */
async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<CollectedStream> {
  const out: CollectedStream = { content: '', contentChunks: 0, finishReasons: [], toolCalls: [] };
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.delta.content) {
      out.content += choice.delta.content;
      out.contentChunks++;
    }
    for (const call of choice.delta.tool_calls ?? []) {
      const slot = (out.toolCalls[call.index] ??= { id: '', name: '', arguments: '' });
      if (call.id) slot.id = call.id;
      if (call.function?.name) slot.name += call.function.name;
      if (call.function?.arguments) slot.arguments += call.function.arguments;
    }
    if (choice.finish_reason) out.finishReasons.push(choice.finish_reason);
  }
  return out;
}

function functionCall(call: ChatCompletionMessageToolCall | undefined): { id: string; name: string; arguments: string } {
  expect(call?.type).toBe('function');
  if (call?.type !== 'function') throw new Error('not a function tool call');
  return { id: call.id, name: call.function.name, arguments: call.function.arguments };
}

describe('openai client against the local model', () => {
  let api: StartedApi;
  let user: TestUser;
  let openai: OpenAI;

  beforeAll(async () => {
    api = await startApi();
    user = await newUser(api);
    openai = clientFor(api, user);
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('models.list() includes the local model', async () => {
    const ids: string[] = [];
    for await (const model of openai.models.list()) {
      expect(model.object).toBe('model');
      ids.push(model.id);
    }
    expect(ids).toContain('local');
  });

  it('chat.completions.create answers, and stream: true yields the same text in several deltas', async () => {
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: chatText() }];
    const completion = await openai.chat.completions.create({ model: 'local', messages });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('local-offline-demo');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    const text = completion.choices[0]?.message.content ?? '';
    expect(text.trim().length).toBeGreaterThan(0);
    expect(completion.choices[0]?.message.role).toBe('assistant');

    const streamed = await collect(await openai.chat.completions.create({ model: 'local', messages, stream: true }));
    expect(streamed.content).toBe(text);
    expect(streamed.finishReasons).toEqual(['stop']);
    if (text.trim().includes(' ')) expect(streamed.contentChunks).toBeGreaterThan(1);
  });

  it('returns a calculator tool call to the client, non-stream, and answers once given the result', async () => {
    const q = arithmeticQuestion();
    const tools = [calculatorToolDefinition()];
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: q.question }];
    const first = await openai.chat.completions.create({ model: 'local', messages, tools });
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    const call = functionCall(first.choices[0]?.message.tool_calls?.[0]);
    expect(call.name).toBe('calculator');
    expect(call.id.length).toBeGreaterThan(0);
    expect(JSON.parse(call.arguments)).toEqual({ expression: q.expression });

    const second = await openai.chat.completions.create({
      model: 'local',
      tools,
      messages: [
        ...messages,
        { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }] },
        { role: 'tool', tool_call_id: call.id, content: JSON.stringify({ expression: q.expression, value: q.value }) },
      ],
    });
    expect(second.choices[0]?.finish_reason).toBe('stop');
    expect(second.choices[0]?.message.content).toContain(String(q.value));
  });

  it('returns a calculator tool call to the client with stream: true', async () => {
    const q = arithmeticQuestion();
    const streamed = await collect(
      await openai.chat.completions.create({
        model: 'local',
        messages: [{ role: 'user', content: q.question }],
        tools: [calculatorToolDefinition()],
        stream: true,
      }),
    );
    expect(streamed.finishReasons).toEqual(['tool_calls']);
    expect(streamed.toolCalls).toHaveLength(1);
    expect(streamed.toolCalls[0].name).toBe('calculator');
    expect(streamed.toolCalls[0].id.length).toBeGreaterThan(0);
    expect(JSON.parse(streamed.toolCalls[0].arguments)).toEqual({ expression: q.expression });
  });

  it('surfaces a bad key as the client’s AuthenticationError (401)', async () => {
    const bad = new OpenAI({ apiKey: `${user.apiKey}-wrong`, baseURL: `${api.url}/v1`, maxRetries: 0 });
    await expect(bad.models.list()).rejects.toMatchObject({ status: 401 });
    await expect(bad.chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });
});

describe('openai client through the openai-compatible provider (fake upstream)', () => {
  let fake: FakeUpstream;
  let api: StartedApi;
  let env: Record<string, string>;
  let user: TestUser;
  let openai: OpenAI;

  beforeAll(async () => {
    fake = await startFakeUpstream({ model: 'fake-model' });
    env = upstreamEnv(fake, { AI_MAX_RETRIES: '0' });
    api = await startApi({ env });
    user = await newUser(api);
    openai = clientFor(api, user);
  });

  afterAll(async () => {
    await api?.stop();
    await fake?.close();
  });

  beforeEach(() => {
    fake.reset();
  });

  it('models.list() includes the configured model', async () => {
    const ids: string[] = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids).toContain('fake-model');
  });

  it("forwards a completion upstream with the API's own key, not the user's", async () => {
    const content = chatText();
    const completion = await openai.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content }] });
    expect(completion.choices[0]?.message.content).toBe(`echo: ${content}`);
    expect(completion.choices[0]?.finish_reason).toBe('stop');

    expect(upstreamCalls(fake)).toBe(1);
    const [req] = upstreamChatRequests(fake);
    expect(headerOf(req, 'authorization')).toBe(`Bearer ${env['AI_API_KEY']}`);
    expect(JSON.stringify(req.headers)).not.toContain(user.apiKey);
    expect(req.body).toMatchObject({ model: 'fake-model', messages: [{ role: 'user', content }] });
  });

  it('streams a completion through the upstream', async () => {
    const content = chatText();
    const streamed = await collect(
      await openai.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content }], stream: true }),
    );
    expect(streamed.content).toBe(`echo: ${content}`);
    expect(streamed.finishReasons).toEqual(['stop']);
    expect(upstreamCalls(fake)).toBe(1);
    expect(headerOf(upstreamChatRequests(fake)[0], 'authorization')).toBe(`Bearer ${env['AI_API_KEY']}`);
  });

  it('returns an upstream tool call to the client without running it (non-stream)', async () => {
    const sum = sumExpression();
    const args = JSON.stringify({ expression: sum.expression });
    fake.script({ toolCalls: [{ name: 'calculator', arguments: args }] });
    const completion = await openai.chat.completions.create({
      model: 'fake-model',
      messages: [{ role: 'user', content: `CALL calculator ${args}` }],
      tools: [calculatorToolDefinition()],
    });
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    const call = functionCall(completion.choices[0]?.message.tool_calls?.[0]);
    expect(call.name).toBe('calculator');
    expect(JSON.parse(call.arguments)).toEqual({ expression: sum.expression });
    expect(upstreamCalls(fake)).toBe(1);
    expect(upstreamChatRequests(fake)[0].body).toMatchObject({ tools: [{ type: 'function', function: { name: 'calculator' } }] });
  });

  it('returns an upstream tool call to the client without running it (stream)', async () => {
    const sum = sumExpression();
    const args = JSON.stringify({ expression: sum.expression });
    fake.script({ toolCalls: [{ name: 'calculator', arguments: args }] });
    const streamed = await collect(
      await openai.chat.completions.create({
        model: 'fake-model',
        messages: [{ role: 'user', content: `CALL calculator ${args}` }],
        tools: [calculatorToolDefinition()],
        stream: true,
      }),
    );
    expect(streamed.finishReasons).toEqual(['tool_calls']);
    expect(streamed.toolCalls).toHaveLength(1);
    expect(streamed.toolCalls[0].name).toBe('calculator');
    expect(JSON.parse(streamed.toolCalls[0].arguments)).toEqual({ expression: sum.expression });
    expect(upstreamCalls(fake)).toBe(1);
  });

  it('passes the tool result back upstream on the next call', async () => {
    const sum = sumExpression();
    const toolContent = JSON.stringify({ expression: sum.expression, value: sum.value });
    const completion = await openai.chat.completions.create({
      model: 'fake-model',
      tools: [calculatorToolDefinition()],
      messages: [
        { role: 'user', content: `what is ${sum.expression}` },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'calculator', arguments: JSON.stringify({ expression: sum.expression }) } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: toolContent },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe(`tool said: ${toolContent}`);
    const body = upstreamChatRequests(fake)[0].body as { messages: { role: string; tool_call_id?: string }[] };
    expect(body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(body.messages[2].tool_call_id).toBe('call_1');
  });
});
