import { randomBytes } from 'node:crypto';

/** What the fake model answers with; tool-call arguments are passed through as the raw JSON text. */
export interface CompletionReply {
  content?: string;
  toolCalls?: Array<{ name: string; arguments: string }>;
}

export interface ReplyContext {
  id: string;
  created: number;
  model: string;
}

interface ChatMessage {
  role?: unknown;
  content?: unknown;
}

interface ChatRequestBody {
  messages?: unknown;
  tools?: unknown;
}

const CALL_DIRECTIVE = /CALL\s+([A-Za-z0-9_.-]+)\s+(\{[\s\S]*\})/;

/** OpenAI content is a string or an array of parts; only the text parts matter here. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => (part && typeof part === 'object' && 'text' in part && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

/**
 * The deterministic answer used when no reply is scripted, so that tests can predict
 * it from their own input: echo the user, obey `CALL <tool> <json>` when tools are
 * offered, and acknowledge a tool result.
 */
export function defaultReply(body: ChatRequestBody): CompletionReply {
  const messages: ChatMessage[] = Array.isArray(body.messages) ? (body.messages as ChatMessage[]) : [];
  const last = messages.at(-1);
  if (last?.role === 'tool') return { content: `tool said: ${textOf(last.content)}` };
  const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
  if (last?.role === 'user' && hasTools) {
    const call = CALL_DIRECTIVE.exec(textOf(last.content));
    if (call) return { toolCalls: [{ name: call[1] ?? '', arguments: call[2] ?? '{}' }] };
  }
  const lastUser = messages.findLast((m) => m.role === 'user');
  return { content: `echo: ${textOf(lastUser?.content)}` };
}

export function newReplyContext(model: string): ReplyContext {
  return { id: `chatcmpl-${randomBytes(12).toString('hex')}`, created: Math.floor(Date.now() / 1000), model };
}

/**
 * Roughly one token per word, which is all the API needs to exercise its usage
 * accounting; whitespace is kept so that the tokens join back to the exact text.
 */
export function splitTokens(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

function toolCallsWithIds(reply: CompletionReply): Array<{ id: string; name: string; arguments: string }> {
  return (reply.toolCalls ?? []).map((call) => ({ ...call, id: `call_${randomBytes(12).toString('hex')}` }));
}

function finishReason(reply: CompletionReply): 'tool_calls' | 'stop' {
  return reply.toolCalls && reply.toolCalls.length > 0 ? 'tool_calls' : 'stop';
}

export function estimatePromptTokens(body: ChatRequestBody): number {
  const messages: ChatMessage[] = Array.isArray(body.messages) ? (body.messages as ChatMessage[]) : [];
  return messages.reduce((sum, m) => sum + splitTokens(textOf(m.content)).length + 3, 0);
}

/** A non-streaming `chat.completion` object. */
export function completionObject(reply: CompletionReply, ctx: ReplyContext, promptTokens: number): object {
  const calls = toolCallsWithIds(reply);
  const completionTokens = splitTokens(reply.content ?? '').length + calls.reduce((n, c) => n + splitTokens(c.arguments).length + 1, 0);
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          // OpenAI sends null content on a pure tool-call answer.
          content: reply.content ?? (calls.length > 0 ? null : ''),
          refusal: null,
          ...(calls.length > 0 && {
            tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
          }),
        },
        logprobs: null,
        finish_reason: finishReason(reply),
      },
    ],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

export interface StreamPlan {
  /** Sent with the headers: announces the assistant role. */
  head: object;
  /** Content and tool-call deltas, paced by timeToFirstTokenMs / tokensPerSecond. */
  tokens: object[];
  /** Carries finish_reason. */
  finish: object;
  /** Sent only when the request asks for `stream_options.include_usage`. */
  usage: object;
}

/** The `chat.completion.chunk` sequence for a reply, in OpenAI's streaming format. */
export function streamPlan(reply: CompletionReply, ctx: ReplyContext, promptTokens: number): StreamPlan {
  const chunk = (delta: object, finish: string | null = null): object => ({
    id: ctx.id,
    object: 'chat.completion.chunk',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const tokens = splitTokens(reply.content ?? '').map((t) => chunk({ content: t }));
  toolCallsWithIds(reply).forEach((call, index) => {
    tokens.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    // Arguments arrive in fragments, as from a real model, so clients must concatenate them.
    for (const fragment of call.arguments.match(/[\s\S]{1,8}/g) ?? []) {
      tokens.push(chunk({ tool_calls: [{ index, function: { arguments: fragment } }] }));
    }
  });
  const completionTokens = tokens.length;
  return {
    head: chunk({ role: 'assistant', content: '', refusal: null }),
    tokens,
    finish: chunk({}, finishReason(reply)),
    usage: {
      id: ctx.id,
      object: 'chat.completion.chunk',
      created: ctx.created,
      model: ctx.model,
      choices: [],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    },
  };
}
