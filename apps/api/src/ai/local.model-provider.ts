import { createHash } from 'node:crypto';
import { evaluateArithmetic, findArithmetic } from '../tools/arithmetic.js';
import type {
  ModelInfo,
  ModelMessage,
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ModelStreamEvent,
  ModelToolCall,
} from './model-provider.js';

/** The id clients ask for, and the name the answers carry (it says what it is: no language model). */
export const LOCAL_MODEL_ID = 'local';
export const LOCAL_MODEL_NAME = 'local-offline-demo';

/**
 * A small deterministic offline model for development, demos and tests. It is rule-based, not a
 * language model: it answers arithmetic by calling `calculator` (or computing it when no tool is
 * offered), asks `current_time` for the time, `search_messages` for "search …", and otherwise
 * describes what it received. The same messages always give the same answer.
 */
export class LocalModelProvider implements ModelProvider {
  readonly name = 'local';

  models(): ModelInfo[] {
    return [
      {
        id: LOCAL_MODEL_ID,
        answersAs: LOCAL_MODEL_NAME,
        ownedBy: 'chat-perf',
        description: `Offline rule-based demo model (answers as ${LOCAL_MODEL_NAME}); not a language model.`,
      },
    ];
  }

  complete(request: ModelRequest): Promise<ModelResponse> {
    return Promise.resolve(this.answer(request));
  }

  async *stream(request: ModelRequest): AsyncIterable<ModelStreamEvent> {
    const response = this.answer(request);
    // Word by word; leading (or only) whitespace is a piece too, so the deltas add up to the content.
    for (const piece of (response.content ?? '').match(/\s*\S+\s*|\s+/g) ?? []) {
      if (request.signal?.aborted) return;
      yield { type: 'delta', content: piece };
      // Let other requests run between deltas, as a network stream would.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    yield { type: 'done', response };
  }

  private answer(request: ModelRequest): ModelResponse {
    const last = request.messages.at(-1);
    const offered = new Set(request.toolChoice === 'none' ? [] : (request.tools ?? []).map((t) => t.name));
    let content: string;
    let toolCalls: ModelToolCall[] = [];

    if (last?.role === 'tool') {
      content = describeToolResult(request.messages, last);
    } else {
      const text = lastUserText(request.messages);
      const expression = findArithmetic(text);
      const search = /^\s*search(?:\s+for)?\s+(.+?)\s*$/is.exec(text)?.[1];
      if (expression !== null && offered.has('calculator')) {
        toolCalls = [toolCall(request.messages, 'calculator', { expression })];
      } else if (/\b(what time|current time|time is it)\b/i.test(text) && offered.has('current_time')) {
        toolCalls = [toolCall(request.messages, 'current_time', {})];
      } else if (search !== undefined && offered.has('search_messages')) {
        toolCalls = [toolCall(request.messages, 'search_messages', { query: search.slice(0, 200) })];
      }
      content = toolCalls.length > 0 ? '' : reply(text, expression);
    }

    if (request.maxTokens !== undefined && toolCalls.length === 0) {
      const words = content.split(/(?<=\s)/);
      if (words.length > request.maxTokens) {
        return respond(words.slice(0, request.maxTokens).join(''), [], 'length', request);
      }
    }
    return respond(content, toolCalls, toolCalls.length > 0 ? 'tool_calls' : 'stop', request);
  }
}

function respond(
  content: string,
  toolCalls: ModelToolCall[],
  finishReason: ModelResponse['finishReason'],
  request: ModelRequest,
): ModelResponse {
  const promptTokens = request.messages.reduce((n, m) => n + estimateTokens(m.content ?? ''), 0);
  const completionTokens = estimateTokens(content) + toolCalls.reduce((n, c) => n + estimateTokens(c.function.arguments), 0);
  return {
    model: LOCAL_MODEL_NAME,
    content: toolCalls.length > 0 ? null : content,
    toolCalls,
    finishReason,
    usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
  };
}

/** Roughly four characters a token, as OpenAI's rule of thumb: an estimate, not a tokenizer. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function lastUserText(messages: ModelMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === 'user') return m.content;
  }
  return '';
}

function toolCall(messages: ModelMessage[], name: string, args: Record<string, unknown>): ModelToolCall {
  const argumentsJson = JSON.stringify(args);
  const id = createHash('sha256').update(`${messages.length}:${name}:${argumentsJson}`).digest('hex').slice(0, 24);
  return { id: `call_${id}`, type: 'function', function: { name, arguments: argumentsJson } };
}

function reply(text: string, expression: string | null): string {
  if (expression !== null) {
    return `${expression} = ${evaluateArithmetic(expression)}`;
  }
  const words = text.trim().split(/\s+/).filter(Boolean).length;
  const quoted = text.trim().length > 200 ? `${text.trim().slice(0, 200)}…` : text.trim();
  return (
    `I am ${LOCAL_MODEL_NAME}, an offline rule-based demo model, not a language model. ` +
    `You wrote ${words} word${words === 1 ? '' : 's'}: "${quoted}". ` +
    'Ask me arithmetic such as "what is 12*(3+4)?", the time, or "search <words>" to see tools at work.'
  );
}

function describeToolResult(messages: ModelMessage[], result: Extract<ModelMessage, { role: 'tool' }>): string {
  const call = messages
    .flatMap((m) => (m.role === 'assistant' ? (m.toolCalls ?? []) : []))
    .find((c) => c.id === result.toolCallId);
  let data: unknown;
  try {
    data = JSON.parse(result.content);
  } catch {
    data = result.content;
  }
  const record = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
  if (typeof record['error'] === 'string') return `The tool ${call?.function.name ?? ''} failed: ${record['error']}`;
  switch (call?.function.name) {
    case 'calculator':
      return `${String(record['expression'])} = ${String(record['value'])}`;
    case 'current_time':
      return `It is ${String(record['iso'])} (${String(record['timezone'])}).`;
    case 'search_messages': {
      const items = Array.isArray(record['items']) ? (record['items'] as Array<{ snippet?: unknown }>) : [];
      if (items.length === 0) return 'I found no messages matching that.';
      return `I found ${items.length} message${items.length === 1 ? '' : 's'}: ${items.map((i) => `"${String(i.snippet)}"`).join('; ')}`;
    }
    default:
      return `The tool returned: ${result.content}`;
  }
}
