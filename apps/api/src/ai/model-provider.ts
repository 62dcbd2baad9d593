/**
 * The one adapter every model sits behind. Shapes follow OpenAI's Chat Completions API, so the
 * OpenAI-compatible provider is a thin translation and `/v1/chat/completions` can expose them as they are.
 */
export interface ModelToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ModelMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls?: ModelToolCall[] }
  | { role: 'tool'; content: string; toolCallId: string };

export interface ModelToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
}

export type ModelToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface ModelRequest {
  model: string;
  messages: ModelMessage[];
  tools?: ModelToolSpec[];
  toolChoice?: ModelToolChoice;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  seed?: number;
  stop?: string[];
  responseFormat?: Record<string, unknown>;
  /** Aborts the upstream call (client went away). */
  signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface ModelUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface ModelResponse {
  /** The model that actually answered, as the provider names it. */
  model: string;
  content: string | null;
  toolCalls: ModelToolCall[];
  finishReason: FinishReason;
  usage: ModelUsage;
}

/** Text arrives as `delta` events; tool calls and usage come whole in the final `done` event. */
export type ModelStreamEvent = { type: 'delta'; content: string } | { type: 'done'; response: ModelResponse };

export interface ModelInfo {
  id: string;
  /** The model name answers carry, when known in advance (streams need it before the first chunk). */
  answersAs?: string;
  ownedBy: string;
  description: string;
}

export interface ModelProvider {
  readonly name: string;
  models(): ModelInfo[];
  complete(request: ModelRequest): Promise<ModelResponse>;
  stream(request: ModelRequest): AsyncIterable<ModelStreamEvent>;
  /** Releases pooled connections at shutdown. */
  close?(): Promise<void>;
}

/** Nest injection token for the list of configured providers. */
export const MODEL_PROVIDERS = Symbol('MODEL_PROVIDERS');

/** Collects a stream into the response a `complete` call would have given. */
export async function collectStream(events: AsyncIterable<ModelStreamEvent>): Promise<ModelResponse> {
  for await (const event of events) {
    if (event.type === 'done') return event.response;
  }
  throw new Error('model stream ended without a final event');
}
