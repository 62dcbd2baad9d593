import { Logger } from '@nestjs/common';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import { AppError } from '../common/app-error.js';
import type {
  FinishReason,
  ModelInfo,
  ModelMessage,
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ModelStreamEvent,
  ModelToolCall,
  ModelUsage,
} from './model-provider.js';
import { backoffDelayMs, isRetryableStatus, parseRetryAfterMs } from './retry-policy.js';

export interface OpenAiCompatibleOptions {
  /** Base URL ending in `/v1` (or wherever `/chat/completions` lives). */
  baseUrl: string;
  apiKey: string | null;
  model: string;
  /** Budget for one call, retries and backoff included. */
  timeoutMs: number;
  maxRetries: number;
}

/** What is known of one failed attempt, to decide between retrying and giving up. */
interface AttemptFailure {
  retryable: boolean;
  error: AppError;
  retryAfterMs?: number;
}

/**
 * Any server speaking OpenAI's Chat Completions API. Connections are pooled and kept alive;
 * 429, 5xx and network failures are retried with jittered exponential backoff (honouring
 * `Retry-After`) within one time budget. A stream is retried only before its first byte.
 */
export class OpenAiCompatibleModelProvider implements ModelProvider {
  readonly name = 'openai-compatible';
  private readonly logger = new Logger('OpenAiCompatibleModelProvider');
  private readonly dispatcher: Agent;
  private readonly endpoint: string;

  constructor(private readonly options: OpenAiCompatibleOptions) {
    this.endpoint = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.dispatcher = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 300_000,
      connections: 128,
      connect: { timeout: Math.min(10_000, options.timeoutMs) },
    });
  }

  models(): ModelInfo[] {
    return [{ id: this.options.model, ownedBy: 'upstream', description: `Served by ${new URL(this.options.baseUrl).host}` }];
  }

  async complete(req: ModelRequest): Promise<ModelResponse> {
    const { body } = await this.send(req, false);
    let json: unknown;
    try {
      json = await body.json();
    } catch (error) {
      throw new AppError('model_bad_response', 'The model provider sent a body that is not JSON', { cause: error });
    }
    return parseCompletion(json);
  }

  async *stream(req: ModelRequest): AsyncIterable<ModelStreamEvent> {
    const { body, signal } = await this.send(req, true);
    const state = new StreamState();
    const pending: ModelStreamEvent[] = [];
    let finished = false;
    const parser = createParser({
      onEvent: (event: EventSourceMessage) => {
        if (event.data === '[DONE]') {
          finished = true;
          return;
        }
        const delta = state.apply(event.data);
        if (delta !== '') pending.push({ type: 'delta', content: delta });
      },
    });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) {
        parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
        while (pending.length > 0) yield pending.shift() as ModelStreamEvent;
        if (finished) break;
      }
    } catch (error) {
      throw this.failure(error, signal, req.signal).error;
    } finally {
      if (!body.destroyed) body.destroy();
    }
    yield { type: 'done', response: state.response(this.options.model) };
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** Posts the request, retrying what is worth retrying, until a 2xx answer or the budget is spent. */
  private async send(req: ModelRequest, stream: boolean): Promise<{ body: Dispatcher.ResponseData['body']; signal: AbortSignal }> {
    const deadline = Date.now() + this.options.timeoutMs;
    const budget = AbortSignal.timeout(this.options.timeoutMs);
    const signal = req.signal === undefined ? budget : AbortSignal.any([budget, req.signal]);
    const payload = JSON.stringify(toOpenAiRequest(req, stream));
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' };
    if (this.options.apiKey !== null) headers['authorization'] = `Bearer ${this.options.apiKey}`;

    for (let attempt = 0; ; attempt++) {
      let failure: AttemptFailure;
      try {
        const response = await request(this.endpoint, { method: 'POST', headers, body: payload, signal, dispatcher: this.dispatcher });
        if (response.statusCode >= 200 && response.statusCode < 300) return { body: response.body, signal };
        failure = await statusFailure(response);
      } catch (error) {
        failure = this.failure(error, signal, req.signal);
      }
      const wait = failure.retryAfterMs ?? backoffDelayMs(attempt);
      const canRetry = failure.retryable && attempt < this.options.maxRetries && Date.now() + wait < deadline;
      if (!canRetry) throw failure.error;
      this.logger.warn({ attempt: attempt + 1, waitMs: wait, reason: failure.error.message }, 'retrying model call');
      await sleep(wait, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) throw this.failure(signal.reason, signal, req.signal).error;
    }
  }

  private failure(error: unknown, signal: AbortSignal, clientSignal: AbortSignal | undefined): AttemptFailure {
    if (clientSignal?.aborted) {
      return { retryable: false, error: new AppError('model_unavailable', 'The request was cancelled', { cause: error }) };
    }
    if (signal.aborted || error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
      return {
        retryable: false,
        error: new AppError('model_timeout', `The model provider did not answer within ${this.options.timeoutMs} ms`, { cause: error }),
      };
    }
    const message = error instanceof Error ? error.message : String(error);
    return {
      retryable: true,
      error: new AppError('model_unavailable', `The model provider could not be reached: ${message}`, { cause: error }),
    };
  }
}

async function statusFailure(response: Dispatcher.ResponseData): Promise<AttemptFailure> {
  const text = await response.body.text().catch(() => '');
  let detail = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof parsed.error === 'object' ? parsed.error?.message : (parsed.error ?? parsed.message);
    if (typeof m === 'string') detail = m;
  } catch {
    // not JSON: keep the text
  }
  const status = response.statusCode;
  const retryAfterMs = parseRetryAfterMs(response.headers['retry-after']);
  if (status === 429) {
    return {
      retryable: true,
      retryAfterMs,
      error: new AppError('model_unavailable', `The model provider is rate limiting: ${detail}`, {
        retryAfterSeconds: Math.max(1, Math.ceil((retryAfterMs ?? 5_000) / 1000)),
      }),
    };
  }
  if (status === 503) {
    return {
      retryable: true,
      retryAfterMs,
      error: new AppError('model_unavailable', `The model provider is unavailable: ${detail}`, {
        retryAfterSeconds: Math.max(1, Math.ceil((retryAfterMs ?? 5_000) / 1000)),
      }),
    };
  }
  const code = status >= 500 ? 'model_bad_response' : 'model_rejected';
  return {
    retryable: isRetryableStatus(status),
    retryAfterMs,
    error: new AppError(code, `The model provider answered ${status}: ${detail}`),
  };
}

function toOpenAiMessage(m: ModelMessage): Record<string, unknown> {
  switch (m.role) {
    case 'assistant':
      return m.toolCalls !== undefined && m.toolCalls.length > 0
        ? { role: 'assistant', content: m.content === '' ? null : m.content, tool_calls: m.toolCalls }
        : { role: 'assistant', content: m.content ?? '' };
    case 'tool':
      return { role: 'tool', content: m.content, tool_call_id: m.toolCallId };
    default:
      return { role: m.role, content: m.content };
  }
}

function toOpenAiRequest(req: ModelRequest, stream: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { model: req.model, messages: req.messages.map(toOpenAiMessage) };
  if (req.tools !== undefined && req.tools.length > 0) {
    body['tools'] = req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
    if (req.toolChoice !== undefined) {
      body['tool_choice'] = typeof req.toolChoice === 'string' ? req.toolChoice : { type: 'function', function: { name: req.toolChoice.name } };
    }
  }
  if (req.temperature !== undefined) body['temperature'] = req.temperature;
  if (req.topP !== undefined) body['top_p'] = req.topP;
  if (req.maxTokens !== undefined) body['max_tokens'] = req.maxTokens;
  if (req.seed !== undefined) body['seed'] = req.seed;
  if (req.stop !== undefined) body['stop'] = req.stop;
  if (req.responseFormat !== undefined) body['response_format'] = req.responseFormat;
  if (stream) {
    body['stream'] = true;
    body['stream_options'] = { include_usage: true };
  }
  return body;
}

const FINISH_REASONS: readonly FinishReason[] = ['stop', 'length', 'tool_calls', 'content_filter'];

function finishReason(value: unknown, hasToolCalls: boolean): FinishReason {
  if (value === 'function_call') return 'tool_calls';
  if (typeof value === 'string' && (FINISH_REASONS as readonly string[]).includes(value)) return value as FinishReason;
  return hasToolCalls ? 'tool_calls' : 'stop';
}

function usageOf(value: unknown): ModelUsage {
  const u = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const promptTokens = num(u['prompt_tokens']);
  const completionTokens = num(u['completion_tokens']);
  return { promptTokens, completionTokens, totalTokens: num(u['total_tokens']) || promptTokens + completionTokens };
}

function toolCallsOf(value: unknown): ModelToolCall[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((c: unknown) => {
    const call = c as { id?: unknown; function?: { name?: unknown; arguments?: unknown } };
    if (typeof call.function?.name !== 'string') return [];
    return [
      {
        id: typeof call.id === 'string' ? call.id : `call_${Math.random().toString(36).slice(2)}`,
        type: 'function' as const,
        function: { name: call.function.name, arguments: typeof call.function.arguments === 'string' ? call.function.arguments : '{}' },
      },
    ];
  });
}

function parseCompletion(json: unknown): ModelResponse {
  const body = json as { model?: unknown; choices?: Array<{ message?: { content?: unknown; tool_calls?: unknown }; finish_reason?: unknown }>; usage?: unknown };
  const choice = Array.isArray(body?.choices) ? body.choices[0] : undefined;
  if (choice?.message === undefined) throw new AppError('model_bad_response', 'The model provider sent no choices');
  const toolCalls = toolCallsOf(choice.message.tool_calls);
  const content = typeof choice.message.content === 'string' ? choice.message.content : null;
  return {
    model: typeof body.model === 'string' ? body.model : 'unknown',
    content,
    toolCalls,
    finishReason: finishReason(choice.finish_reason, toolCalls.length > 0),
    usage: usageOf(body.usage),
  };
}

/** Accumulates `chat.completion.chunk`s: content deltas, tool calls split across chunks by index, usage. */
class StreamState {
  private content = '';
  private model: string | undefined;
  private finish: unknown;
  private usage: unknown;
  private readonly calls = new Map<number, { id?: string; name: string; arguments: string }>();

  /** Applies one chunk and returns the text it adds. */
  apply(data: string): string {
    let chunk: { model?: unknown; choices?: Array<{ delta?: { content?: unknown; tool_calls?: unknown }; finish_reason?: unknown }>; usage?: unknown };
    try {
      chunk = JSON.parse(data) as typeof chunk;
    } catch {
      throw new AppError('model_bad_response', 'The model provider streamed a chunk that is not JSON');
    }
    if (typeof chunk.model === 'string') this.model = chunk.model;
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (choice === undefined) return '';
    if (choice.finish_reason !== undefined && choice.finish_reason !== null) this.finish = choice.finish_reason;
    for (const raw of Array.isArray(choice.delta?.tool_calls) ? (choice.delta.tool_calls as unknown[]) : []) {
      const d = raw as { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } };
      const index = typeof d.index === 'number' ? d.index : 0;
      const call = this.calls.get(index) ?? { name: '', arguments: '' };
      if (typeof d.id === 'string') call.id = d.id;
      if (typeof d.function?.name === 'string') call.name += d.function.name;
      if (typeof d.function?.arguments === 'string') call.arguments += d.function.arguments;
      this.calls.set(index, call);
    }
    const text = typeof choice.delta?.content === 'string' ? choice.delta.content : '';
    this.content += text;
    return text;
  }

  response(fallbackModel: string): ModelResponse {
    const toolCalls: ModelToolCall[] = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => ({ id: c.id ?? `call_${index}`, type: 'function', function: { name: c.name, arguments: c.arguments || '{}' } }));
    return {
      model: this.model ?? fallbackModel,
      content: toolCalls.length > 0 && this.content === '' ? null : this.content,
      toolCalls,
      finishReason: finishReason(this.finish, toolCalls.length > 0),
      usage: usageOf(this.usage),
    };
  }
}
