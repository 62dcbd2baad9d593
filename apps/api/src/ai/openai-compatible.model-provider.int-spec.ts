import { startFakeUpstream, type FakeUpstream } from '@chat/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../common/app-error.js';
import { collectStream, type ModelRequest, type ModelResponse } from './model-provider.js';
import { OpenAiCompatibleModelProvider, type OpenAiCompatibleOptions } from './openai-compatible.model-provider.js';

describe('OpenAiCompatibleModelProvider against an OpenAI-compatible server', () => {
  let upstream: FakeUpstream;
  const providers: OpenAiCompatibleModelProvider[] = [];

  function provider(options: Partial<OpenAiCompatibleOptions> = {}): OpenAiCompatibleModelProvider {
    const p = new OpenAiCompatibleModelProvider({
      baseUrl: upstream.baseUrl,
      apiKey: 'upstream-key',
      model: 'fake-model',
      timeoutMs: 5_000,
      maxRetries: 2,
      ...options,
    });
    providers.push(p);
    return p;
  }

  const ask = (content: string, extra: Partial<ModelRequest> = {}): ModelRequest => ({
    model: 'fake-model',
    messages: [{ role: 'user', content }],
    ...extra,
  });

  beforeAll(async () => {
    upstream = await startFakeUpstream();
  });
  afterEach(() => {
    upstream.reset();
    upstream.setOptions({ latencyMs: 0 });
  });
  afterAll(async () => {
    await Promise.all(providers.map((p) => p.close()));
    await upstream.close();
  });

  it('sends OpenAI\'s request shape with the configured key and parses the completion', async () => {
    const response = await provider().complete(ask('hi', { temperature: 0.2, maxTokens: 50, seed: 7 }));
    expect(response.content).toBe('echo: hi');
    expect(response.finishReason).toBe('stop');
    expect(response.usage.totalTokens).toBeGreaterThan(0);
    const sent = upstream.requests.at(-1)!;
    expect(sent.headers['authorization']).toBe('Bearer upstream-key');
    expect(sent.body).toMatchObject({ model: 'fake-model', temperature: 0.2, max_tokens: 50, seed: 7, messages: [{ role: 'user', content: 'hi' }] });
  });

  it('retries 503, 429 and dropped connections, then succeeds', async () => {
    upstream.script({ status: 503 }, { status: 429, headers: { 'retry-after': '0' } });
    expect((await provider().complete(ask('again'))).content).toBe('echo: again');
    expect(upstream.calls).toBe(3);

    upstream.reset();
    upstream.script({ drop: true });
    expect((await provider().complete(ask('dropped'))).content).toBe('echo: dropped');
    expect(upstream.calls).toBe(2);
  });

  it('gives up after maxRetries: 5xx → model_bad_response (502), 429 → model_unavailable with Retry-After', async () => {
    upstream.script({ status: 500 }, { status: 500 }, { status: 500 });
    const bad = await provider().complete(ask('x')).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(AppError);
    expect((bad as AppError).code).toBe('model_bad_response');
    expect(upstream.calls).toBe(3);

    upstream.reset();
    upstream.script(...Array.from({ length: 3 }, () => ({ status: 429, headers: { 'retry-after': '0' } })));
    const limited = (await provider().complete(ask('x')).catch((e: unknown) => e)) as AppError;
    expect(limited.code).toBe('model_unavailable');
    expect(limited.details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it('does not retry a 400: the request itself is wrong', async () => {
    upstream.script({ status: 400, body: { error: { message: 'bad model parameter' } } });
    const error = (await provider().complete(ask('x')).catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('model_rejected');
    expect(error.message).toContain('bad model parameter');
    expect(upstream.calls).toBe(1);
  });

  it('stops at the time budget with model_timeout', async () => {
    upstream.setOptions({ latencyMs: 2_000 });
    const error = (await provider({ timeoutMs: 300 }).complete(ask('slow')).catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('model_timeout');
  });

  it('streams deltas and assembles tool calls split across chunks', async () => {
    upstream.script({ content: 'one two three' });
    const deltas: string[] = [];
    let final: ModelResponse | undefined;
    for await (const event of provider().stream(ask('stream please'))) {
      if (event.type === 'delta') deltas.push(event.content);
      else final = event.response;
    }
    expect(deltas.join('')).toBe('one two three');
    expect(final?.content).toBe('one two three');
    expect(upstream.requests.at(-1)!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });

    upstream.script({ toolCalls: [{ name: 'calculator', arguments: '{"expression":"2+2"}' }] });
    const withTools = await collectStream(
      provider().stream(ask('CALL calculator', { tools: [{ name: 'calculator', description: 'math', parameters: { type: 'object' } }] })),
    );
    expect(withTools.finishReason).toBe('tool_calls');
    expect(withTools.toolCalls).toEqual([
      { id: expect.any(String), type: 'function', function: { name: 'calculator', arguments: '{"expression":"2+2"}' } },
    ]);
  });

  it('reuses pooled keep-alive connections across calls', async () => {
    const p = provider();
    for (let i = 0; i < 10; i++) await p.complete(ask(`call ${i}`));
    expect(upstream.calls).toBe(10);
    // Sequential calls share pooled connections (undici may open a second one early on).
    expect(upstream.connections).toBeLessThanOrEqual(2);
  });
});
