import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LOCAL_MODEL_ID, LOCAL_MODEL_NAME, LocalModelProvider } from './local.model-provider.js';
import {
  collectStream,
  type ModelMessage,
  type ModelRequest,
  type ModelResponse,
  type ModelStreamEvent,
  type ModelToolCall,
  type ModelToolSpec,
} from './model-provider.js';

const provider = new LocalModelProvider();

const spec = (name: string): ModelToolSpec => ({ name, description: `${name} tool`, parameters: { type: 'object' } });
const ALL_TOOLS = [spec('calculator'), spec('current_time'), spec('search_messages')];

function request(messages: ModelMessage[], extra: Partial<ModelRequest> = {}): ModelRequest {
  return { model: LOCAL_MODEL_ID, messages, ...extra };
}

const user = (content: string): ModelMessage => ({ role: 'user', content });

function call(id: string, name: string, args: Record<string, unknown>): ModelToolCall {
  return { id, type: 'function', function: { name, arguments: JSON.stringify(args) } };
}

/** A conversation where the assistant called `name` and the tool answered `result`. */
function afterTool(name: string, args: Record<string, unknown>, result: unknown, question = 'question'): ModelMessage[] {
  const c = call('call_1', name, args);
  return [
    user(question),
    { role: 'assistant', content: null, toolCalls: [c] },
    { role: 'tool', toolCallId: c.id, content: typeof result === 'string' ? result : JSON.stringify(result) },
  ];
}

async function events(req: ModelRequest): Promise<ModelStreamEvent[]> {
  const out: ModelStreamEvent[] = [];
  for await (const event of provider.stream(req)) out.push(event);
  return out;
}

function deltas(all: ModelStreamEvent[]): string[] {
  return all.flatMap((e) => (e.type === 'delta' ? [e.content] : []));
}

function final(all: ModelStreamEvent[]): ModelResponse {
  const last = all.at(-1);
  if (last?.type !== 'done') throw new Error('the stream did not end with a done event');
  return last.response;
}

describe('LocalModelProvider', () => {
  it('lists one model that answers as local-offline-demo', () => {
    expect(provider.name).toBe('local');
    expect(provider.models()).toEqual([
      expect.objectContaining({ id: 'local', answersAs: 'local-offline-demo', ownedBy: 'chat-perf' }),
    ]);
    expect(LOCAL_MODEL_NAME).toBe('local-offline-demo');
  });

  describe('plain text', () => {
    it('describes what it received, deterministically', async () => {
      const req = request([user('hello there friend')]);
      const first = await provider.complete(req);
      expect(first).toEqual<ModelResponse>({
        model: 'local-offline-demo',
        content:
          'I am local-offline-demo, an offline rule-based demo model, not a language model. ' +
          'You wrote 3 words: "hello there friend". ' +
          'Ask me arithmetic such as "what is 12*(3+4)?", the time, or "search <words>" to see tools at work.',
        toolCalls: [],
        finishReason: 'stop',
        usage: { promptTokens: 5, completionTokens: expect.any(Number), totalTokens: expect.any(Number) },
      });
      expect(first.usage.completionTokens).toBe(Math.ceil((first.content ?? '').length / 4));
      expect(first.usage.totalTokens).toBe(5 + first.usage.completionTokens);
      expect(await provider.complete(req)).toEqual(first);
    });

    it.each([
      ['one word', 'hi', 'You wrote 1 word: "hi".'],
      ['surrounding whitespace', '  two   words \n', 'You wrote 2 words: "two   words".'],
      ['nothing', '', 'You wrote 0 words: "".'],
    ])('counts words for %s', async (_label, text, expected) => {
      expect((await provider.complete(request([user(text)]))).content).toContain(expected);
    });

    it('quotes at most 200 characters', async () => {
      const text = 'a'.repeat(250);
      const { content } = await provider.complete(request([user(text)]));
      expect(content).toContain(`"${'a'.repeat(200)}…"`);
      expect(content).not.toContain('a'.repeat(201));
    });

    it('answers the last user message when the conversation ends with the assistant', async () => {
      const { content } = await provider.complete(
        request([user('first'), { role: 'assistant', content: 'ok' }, user('second one'), { role: 'system', content: 'x' }]),
      );
      expect(content).toContain('"second one"');
    });
  });

  describe('arithmetic', () => {
    const question = [user('What is 12*(3+4)?')];

    it('calls the calculator when it is offered', async () => {
      const response = await provider.complete(request(question, { tools: ALL_TOOLS }));
      expect(response.content).toBeNull();
      expect(response.finishReason).toBe('tool_calls');
      expect(response.toolCalls).toHaveLength(1);
      const [toolCall] = response.toolCalls;
      expect(toolCall?.id).toMatch(/^call_[0-9a-f]{24}$/);
      expect(toolCall?.type).toBe('function');
      expect(toolCall?.function.name).toBe('calculator');
      expect(JSON.parse(toolCall?.function.arguments ?? '')).toEqual({ expression: '12*(3+4)' });
      expect(response.usage.completionTokens).toBe(Math.ceil('{"expression":"12*(3+4)"}'.length / 4));
    });

    it('gives the tool call a stable id that depends on the conversation', async () => {
      const id = async (messages: ModelMessage[]) =>
        (await provider.complete(request(messages, { tools: ALL_TOOLS }))).toolCalls[0]?.id;
      const first = await id(question);
      expect(await id(question)).toBe(first);
      expect(await id([user('What is 12*(3+4)?')])).toBe(first);
      expect(await id([user('What is 2+2?')])).not.toBe(first);
      expect(await id([user('earlier'), ...question])).not.toBe(first);
    });

    it.each([
      ['no tools are offered', {}],
      ['tools are offered but toolChoice is none', { tools: ALL_TOOLS, toolChoice: 'none' as const }],
      ['only other tools are offered', { tools: [spec('current_time')] }],
    ])('computes the answer itself when %s', async (_label, extra) => {
      const response = await provider.complete(request(question, extra));
      expect(response.toolCalls).toEqual([]);
      expect(response.finishReason).toBe('stop');
      expect(response.content).toBe('12*(3+4) = 84');
    });

    it('prefers the calculator to the clock when a question asks both', async () => {
      const response = await provider.complete(request([user('What time is it, and 2+3?')], { tools: ALL_TOOLS }));
      expect(response.toolCalls[0]?.function.name).toBe('calculator');
    });

    it('states the value from a calculator result', async () => {
      const response = await provider.complete(
        request(afterTool('calculator', { expression: '12*(3+4)' }, { expression: '12*(3+4)', value: 84 }), { tools: ALL_TOOLS }),
      );
      expect(response).toMatchObject({ content: '12*(3+4) = 84', toolCalls: [], finishReason: 'stop' });
    });

    it('reports a tool error', async () => {
      const response = await provider.complete(
        request(afterTool('calculator', { expression: '1/0' }, { error: 'expression: division by zero' })),
      );
      expect(response.content).toBe('The tool calculator failed: expression: division by zero');
    });
  });

  describe('current_time', () => {
    it.each(['What time is it?', 'tell me the current time', 'what TIME IS IT'])('asks the clock for %j', async (text) => {
      const response = await provider.complete(request([user(text)], { tools: ALL_TOOLS }));
      expect(response.toolCalls.map((c) => [c.function.name, JSON.parse(c.function.arguments)])).toEqual([['current_time', {}]]);
    });

    it('does not ask when the tool is not offered', async () => {
      const response = await provider.complete(request([user('What time is it?')], { tools: [spec('calculator')] }));
      expect(response.toolCalls).toEqual([]);
      expect(response.content).toContain('You wrote 4 words');
    });

    it('tells the time from the tool result', async () => {
      const messages = afterTool('current_time', {}, { iso: '2026-11-22T10:00:00.000Z', timezone: 'UTC', local: 'x', unixMs: 1 });
      expect((await provider.complete(request(messages))).content).toBe('It is 2026-11-22T10:00:00.000Z (UTC).');
    });
  });

  describe('search_messages', () => {
    it.each([
      ['search pizza', 'pizza'],
      ['search for "pizza recipes" -pineapple', '"pizza recipes" -pineapple'],
      ['  Search for  old notes  ', 'old notes'],
    ])('searches for the words after "search" in %j', async (text, query) => {
      const response = await provider.complete(request([user(text)], { tools: ALL_TOOLS }));
      expect(response.toolCalls.map((c) => [c.function.name, JSON.parse(c.function.arguments)])).toEqual([
        ['search_messages', { query }],
      ]);
    });

    it('limits the query to 200 characters', async () => {
      const response = await provider.complete(request([user(`search ${'w'.repeat(300)}`)], { tools: ALL_TOOLS }));
      expect(JSON.parse(response.toolCalls[0]?.function.arguments ?? '')).toEqual({ query: 'w'.repeat(200) });
    });

    it.each(['searching for things', 'please search pizza'])('does not search for %j', async (text) => {
      const response = await provider.complete(request([user(text)], { tools: ALL_TOOLS }));
      expect(response.toolCalls).toEqual([]);
    });

    it.each([
      ['no hits', { items: [] }, 'I found no messages matching that.'],
      ['one hit', { items: [{ snippet: '«pizza» night' }] }, 'I found 1 message: "«pizza» night"'],
      ['two hits', { items: [{ snippet: 'a' }, { snippet: 'b' }] }, 'I found 2 messages: "a"; "b"'],
    ])('summarises %s', async (_label, result, expected) => {
      const response = await provider.complete(request(afterTool('search_messages', { query: 'pizza' }, result)));
      expect(response.content).toBe(expected);
    });
  });

  it('echoes the result of a tool it does not know, or of an unknown call id', async () => {
    expect((await provider.complete(request(afterTool('weather', {}, 'sunny')))).content).toBe('The tool returned: sunny');
    const orphan: ModelMessage[] = [user('x'), { role: 'tool', toolCallId: 'call_nowhere', content: '{"a":1}' }];
    expect((await provider.complete(request(orphan))).content).toBe('The tool returned: {"a":1}');
  });

  describe('maxTokens', () => {
    it('truncates to that many words with finishReason length', async () => {
      const response = await provider.complete(request([user('hello')], { maxTokens: 3 }));
      expect(response.content).toBe('I am local-offline-demo, ');
      expect(response.finishReason).toBe('length');
      expect(response.toolCalls).toEqual([]);
    });

    it('stops normally when the answer fits', async () => {
      const response = await provider.complete(request([user('What is 2+3?')], { maxTokens: 3 }));
      expect(response).toMatchObject({ content: '2+3 = 5', finishReason: 'stop' });
    });

    it('does not truncate a tool call', async () => {
      const response = await provider.complete(request([user('What is 2+3?')], { tools: ALL_TOOLS, maxTokens: 1 }));
      expect(response.finishReason).toBe('tool_calls');
    });
  });

  describe('stream', () => {
    it('yields word deltas that add up to the final content, then done', async () => {
      const req = request([user('hello there')]);
      const all = await events(req);
      const pieces = deltas(all);
      expect(pieces.slice(0, 4)).toEqual(['I ', 'am ', 'local-offline-demo, ', 'an ']);
      expect(pieces.every((p) => /^\S+\s*$/.test(p))).toBe(true);
      expect(all.filter((e) => e.type === 'done')).toHaveLength(1);
      expect(pieces.join('')).toBe(final(all).content);
      expect(final(all)).toEqual(await provider.complete(req));
    });

    it('keeps leading whitespace of the content in the first delta', async () => {
      const messages = afterTool('calculator', { expression: ' 1+1' }, { expression: ' 1+1', value: 2 });
      const all = await events(request(messages));
      expect(final(all).content).toBe(' 1+1 = 2');
      expect(deltas(all)).toEqual([' 1+1 ', '= ', '2']);
    });

    it('sends a tool call whole in the done event, with no deltas', async () => {
      const all = await events(request([user('What is 2+3?')], { tools: ALL_TOOLS }));
      expect(deltas(all)).toEqual([]);
      expect(final(all).toolCalls[0]?.function.name).toBe('calculator');
    });

    it('gives collectStream the same response as complete', async () => {
      const req = request([user('What is 2+3?')], { maxTokens: 2 });
      expect(await collectStream(provider.stream(req))).toEqual(await provider.complete(req));
    });

    it('stops without a done event once the signal is aborted', async () => {
      const controller = new AbortController();
      const received: ModelStreamEvent[] = [];
      for await (const event of provider.stream(request([user('hello')], { signal: controller.signal }))) {
        received.push(event);
        if (received.length === 2) controller.abort();
      }
      expect(received.map((e) => e.type)).toEqual(['delta', 'delta']);
    });

    it('adds up to the final content for any question or tool result', async () => {
      const anyText = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', '1', '+', '?', '\t'), maxLength: 40 });
      const anyConversation = fc.oneof(
        anyText.map((text) => [user(text)]),
        fc.tuple(anyText, anyText).map(([expression, value]) =>
          afterTool('calculator', { expression }, { expression, value }),
        ),
        anyText.map((content) => afterTool('weather', {}, content)),
      );
      await fc.assert(
        fc.asyncProperty(anyConversation, fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }), async (messages, maxTokens) => {
          const all = await events(request(messages, maxTokens === undefined ? {} : { maxTokens }));
          expect(deltas(all).join('')).toBe(final(all).content ?? '');
        }),
        { numRuns: 200 },
      );
    });
  });
});
