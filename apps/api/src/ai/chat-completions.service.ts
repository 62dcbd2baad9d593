import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { OwnerId } from '../auth/owner.js';
import { invalidInput } from '../common/app-error.js';
import { AiService } from './ai.service.js';
import type { ChatCompletionRequestDto, ChatMessageDto } from './chat-completions.dto.js';
import type { ModelMessage, ModelRequest, ModelResponse, ModelToolChoice, ModelUsage } from './model-provider.js';

/** What `/v1/chat/completions` sends: OpenAI's `chat.completion` object or its stream of chunks. */
export type ChatCompletionOutput =
  | { kind: 'completion'; body: Record<string, unknown>; cached: boolean }
  | { kind: 'stream'; chunks: AsyncIterable<Record<string, unknown>>; cached: boolean };

/** OpenAI's Chat Completions API on top of {@link AiService}: translation in, translation out. */
@Injectable()
export class ChatCompletionsService {
  constructor(private readonly ai: AiService) {}

  async create(owner: OwnerId, dto: ChatCompletionRequestDto, cache: boolean, signal?: AbortSignal): Promise<ChatCompletionOutput> {
    const request = toModelRequest(dto, signal);
    this.ai.assertAvailable(request.model);
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);

    if (dto.stream !== true) {
      const { response, cached } = await this.ai.complete(request, { owner, cache });
      return { kind: 'completion', cached, body: completionBody(id, created, response) };
    }
    const { cached, events } = await this.ai.stream(request, { owner, cache });
    const answerName = this.ai.answerName(request.model);
    const includeUsage = dto.stream_options?.include_usage === true;
    async function* chunks(): AsyncIterable<Record<string, unknown>> {
      const chunk = (model: string, delta: Record<string, unknown>, finish: string | null = null) => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        system_fingerprint: null,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      });
      let model = answerName;
      let first = true;
      for await (const event of events) {
        if (first) {
          yield chunk(model, { role: 'assistant', content: '' });
          first = false;
        }
        if (event.type === 'delta') {
          yield chunk(model, { content: event.content });
          continue;
        }
        const { response } = event;
        model = response.model;
        for (const [index, call] of response.toolCalls.entries()) {
          yield chunk(model, { tool_calls: [{ index, id: call.id, type: 'function', function: call.function }] });
        }
        yield chunk(model, {}, response.finishReason);
        if (includeUsage) {
          yield { id, object: 'chat.completion.chunk', created, model, system_fingerprint: null, choices: [], usage: usageBody(response.usage) };
        }
      }
    }
    return { kind: 'stream', chunks: chunks(), cached };
  }
}

function textOf(content: ChatMessageDto['content']): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text).join('\n');
}

function toModelMessage(m: ChatMessageDto, index: number): ModelMessage {
  switch (m.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: textOf(m.content) };
    case 'user':
      return { role: 'user', content: textOf(m.content) };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content === null || m.content === undefined ? null : textOf(m.content),
        ...(m.tool_calls && m.tool_calls.length > 0
          ? { toolCalls: m.tool_calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.function.name, arguments: c.function.arguments } })) }
          : {}),
      };
    case 'tool':
      if (m.tool_call_id === undefined) throw invalidInput(`messages.${index}.tool_call_id is required for a tool message`);
      return { role: 'tool', content: textOf(m.content), toolCallId: m.tool_call_id };
  }
}

function toolChoiceOf(choice: ChatCompletionRequestDto['tool_choice']): ModelToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  return typeof choice === 'string' ? choice : { name: choice.function.name };
}

function toModelRequest(dto: ChatCompletionRequestDto, signal: AbortSignal | undefined): ModelRequest {
  const request: ModelRequest = { model: dto.model, messages: dto.messages.map(toModelMessage) };
  if (dto.tools !== undefined && dto.tools.length > 0) {
    request.tools = dto.tools.map((t) => ({
      name: t.function.name,
      description: t.function.description ?? '',
      parameters: t.function.parameters ?? { type: 'object', properties: {} },
    }));
  }
  const toolChoice = toolChoiceOf(dto.tool_choice);
  if (toolChoice !== undefined) request.toolChoice = toolChoice;
  if (typeof dto.temperature === 'number') request.temperature = dto.temperature;
  if (typeof dto.top_p === 'number') request.topP = dto.top_p;
  const maxTokens = dto.max_completion_tokens ?? dto.max_tokens;
  if (typeof maxTokens === 'number') request.maxTokens = maxTokens;
  if (typeof dto.seed === 'number') request.seed = dto.seed;
  if (typeof dto.stop === 'string') request.stop = [dto.stop];
  else if (Array.isArray(dto.stop)) request.stop = dto.stop;
  if (dto.response_format !== undefined) request.responseFormat = dto.response_format;
  if (signal !== undefined) request.signal = signal;
  return request;
}

function usageBody(usage: ModelUsage): Record<string, number> {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens };
}

function completionBody(id: string, created: number, response: ModelResponse): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: response.content, refusal: null };
  if (response.toolCalls.length > 0) message['tool_calls'] = response.toolCalls;
  return {
    id,
    object: 'chat.completion',
    created,
    model: response.model,
    system_fingerprint: null,
    choices: [{ index: 0, message, logprobs: null, finish_reason: response.finishReason }],
    usage: usageBody(response.usage),
  };
}
