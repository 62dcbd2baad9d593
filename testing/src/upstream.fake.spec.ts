import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './upstream.fake.js';

let upstream: FakeUpstream;

beforeEach(async () => {
  upstream ??= await startFakeUpstream();
  upstream.reset();
  upstream.setOptions({ latencyMs: 0, timeToFirstTokenMs: 0, tokensPerSecond: undefined, paceNonStreaming: false, replyTokens: undefined });
});

afterAll(async () => {
  await upstream.close();
});

function complete(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${upstream.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Parses an SSE body back into its `data:` payloads. */
async function sse(res: Response): Promise<{ chunks: any[]; done: boolean }> {
  const text = await res.text();
  const payloads = text.split('\n\n').filter(Boolean).map((event) => {
    expect(event.startsWith('data: ')).toBe(true);
    return event.slice('data: '.length);
  });
  const done = payloads.at(-1) === '[DONE]';
  return { chunks: payloads.filter((p) => p !== '[DONE]').map((p) => JSON.parse(p)), done };
}

async function contentOf(res: Promise<Response>): Promise<unknown> {
  const body = (await (await res).json()) as any;
  return body.choices[0].message.content;
}

const user = (content: string) => ({ model: 'any', messages: [{ role: 'user', content }] });

describe('fake upstream', () => {
  it('lists its model', async () => {
    upstream.setOptions({ model: 'm-1' });
    const body = await (await fetch(`${upstream.baseUrl}/models`)).json();
    expect(body).toMatchObject({ object: 'list', data: [{ id: 'm-1', object: 'model' }] });
    upstream.setOptions({ model: 'fake-model' });
  });

  it('answers a non-streaming completion with usage and records the request', async () => {
    const res = await complete(user('hello'), { authorization: 'Bearer key-1' });
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ object: 'chat.completion', model: 'fake-model', choices: [{ message: { role: 'assistant', content: 'echo: hello' }, finish_reason: 'stop' }] });
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    expect(upstream.calls).toBe(1);
    expect(upstream.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', body: user('hello') });
    expect(upstream.requests[0]?.headers.authorization).toBe('Bearer key-1');
  });

  it('streams chunks that join back to the answer, then finish_reason, usage and [DONE]', async () => {
    const res = await complete({ ...user('one two three'), stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const { chunks, done } = await sse(res);
    expect(done).toBe(true);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('echo: one two three');
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 4 } });
  });

  it('streams a tool call as OpenAI deltas', async () => {
    const args = '{"expression":"12*(3+4)"}';
    const res = await complete({ ...user(`CALL calculator ${args}`), stream: true, tools: [{ type: 'function', function: { name: 'calculator' } }] });
    const { chunks } = await sse(res);
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'calculator', arguments: '' } });
    expect(calls[0].id).toMatch(/^call_/);
    expect(calls.map((c) => c.function.arguments).join('')).toBe(args);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
  });

  it('uses scripted replies in order, then the default', async () => {
    upstream.script(
      { status: 429, headers: { 'retry-after': '2' } },
      { drop: true },
      { content: 'scripted' },
      { status: 503, body: { error: { message: 'busy' } } },
    );
    const limited = await complete(user('a'));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    await expect(complete(user('b'))).rejects.toThrow();
    expect(await contentOf(complete(user('c')))).toBe('scripted');
    const busy = await complete(user('d'));
    expect(busy.status).toBe(503);
    expect(await busy.json()).toEqual({ error: { message: 'busy' } });
    expect(await contentOf(complete(user('e')))).toBe('echo: e');
    expect(upstream.calls).toBe(5);
  });

  it('reset clears the script, the count and the recorded requests', async () => {
    upstream.script({ status: 500 });
    await complete(user('a'));
    upstream.script({ status: 500 });
    upstream.reset();
    expect(upstream.calls).toBe(0);
    expect(upstream.requests).toEqual([]);
    expect((await complete(user('b'))).status).toBe(200);
  });

  it('answers bad input with 4xx and keeps serving', async () => {
    expect((await complete('{not json')).status).toBe(400);
    expect((await complete({ messages: 'nope' })).status).toBe(400);
    expect((await fetch(`${upstream.baseUrl}/nowhere`)).status).toBe(404);
    expect((await complete(user('still here'))).status).toBe(200);
  });

  it('serves many concurrent requests', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => (await (await complete({ ...user(`n${i}`), stream: i % 2 === 0 })).text()).includes(`n${i}`)),
    );
    expect(answers.every(Boolean)).toBe(true);
    expect(upstream.calls).toBe(200);
  });

  it('paces the stream and survives a client that hangs up mid-stream', async () => {
    upstream.setOptions({ tokensPerSecond: 100 });
    const res = await complete({ ...user('a b c d e f g h i j'), stream: true });
    const abandoned = complete({ ...user('x '.repeat(50)), stream: true }).then(async (r) => {
      const reader = r.body!.getReader();
      await reader.read();
      await reader.cancel();
    });
    const started = Date.now();
    const { chunks } = await sse(res);
    // 12 content tokens at 100/s: at least ~110 ms between the first and the last.
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
    expect(chunks.length).toBeGreaterThan(10);
    await abandoned;
    expect((await complete(user('after'))).status).toBe(200);
  });

  it('paces a non-streaming answer like its stream when asked, and pads the default answer', async () => {
    upstream.setOptions({ timeToFirstTokenMs: 30, tokensPerSecond: 200, paceNonStreaming: true, replyTokens: 20 });
    const started = Date.now();
    const content = (await contentOf(complete(user('pace me')))) as string;
    // 20 tokens: 30 ms to the first, then 19 gaps of 5 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    expect(content.startsWith('echo: pace me ')).toBe(true);
    expect(content.split(' ')).toHaveLength(20);
    upstream.setOptions({ paceNonStreaming: false, replyTokens: undefined });
    const quick = Date.now();
    expect(await contentOf(complete(user('fast')))).toBe('echo: fast');
    expect(Date.now() - quick).toBeLessThan(100);
  });

  it('counts streamed calls, tool-call replies and calls in flight', async () => {
    upstream.setOptions({ latencyMs: 50 });
    const tools = [{ type: 'function', function: { name: 'calculator', parameters: {} } }];
    await Promise.all([
      complete({ ...user('CALL calculator {"expression":"1+1"}'), tools }).then((r) => r.text()),
      complete({ ...user('streamed'), stream: true }).then((r) => r.text()),
      complete(user('plain')).then((r) => r.text()),
    ]);
    expect(upstream.calls).toBe(3);
    expect(upstream.streamedCalls).toBe(1);
    expect(upstream.toolCallReplies).toBe(1);
    expect(upstream.maxInFlight).toBe(3);
    expect(upstream.inFlight).toBe(0);
    upstream.reset();
    expect([upstream.streamedCalls, upstream.toolCallReplies, upstream.maxInFlight]).toEqual([0, 0, 0]);
  });

  it('listens on a given port', async () => {
    const probe = await startFakeUpstream();
    const port = Number(new URL(probe.baseUrl).port);
    await probe.close();
    const fixed = await startFakeUpstream({ port });
    try {
      expect(fixed.baseUrl).toBe(`http://127.0.0.1:${port}/v1`);
    } finally {
      await fixed.close();
    }
  });
});
