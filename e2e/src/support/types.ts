/** Shapes of the public contract (shared/api-contract.md), as the e2e suite reads them. */

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  /** Present on 5xx answers. */
  errorId?: string;
  /** Present when a model/tool failure follows a stored user message. */
  userMessageId?: string;
}

export interface CreatedUser {
  id: string;
  name: string;
  apiKey: string;
  createdAt: string;
}

export interface Conversation {
  id: string;
  title: string | null;
  systemPrompt: string | null;
  model: string;
  messageCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface Message {
  id: string;
  conversationId: string;
  role: 'user' | 'assistant' | 'tool';
  content: string;
  toolCalls?: ToolCall[] | null;
  toolCallId?: string | null;
  cached: boolean;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PostMessageReply {
  userMessage: Message;
  assistantMessage: Message;
}

export interface Tool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  cacheable: boolean;
  ttlSeconds: number | null;
}

export interface ToolInvocation<R = unknown> {
  result: R;
  cached: boolean;
}

export interface CalculatorResult {
  expression: string;
  value: number;
}

export interface CurrentTimeResult {
  timezone: string;
  iso: string;
  unixMs: number;
}

export interface SearchHit {
  messageId: string;
  conversationId: string;
  role: Message['role'];
  snippet: string;
  createdAt: string;
}

export interface SearchResult {
  items: SearchHit[];
}

/** Events of `mode: "stream"` (docs/behaviour-notes.md). */
export type StreamEvent =
  | { delta: string }
  | { toolCall: { id: string; name: string; arguments: string } }
  | { toolResult: { toolCallId: string; name: string; content: string } }
  | { done: true; message: Message }
  | { error: { statusCode: number; message: string } };

export interface ModelList {
  object: 'list';
  data: { id: string; object: 'model' }[];
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] };
    finish_reason: string;
  }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: number;
    delta: {
      role?: string;
      content?: string | null;
      tool_calls?: { index: number; id?: string; type?: string; function?: { name?: string; arguments?: string } }[];
    };
    finish_reason: string | null;
  }[];
}

export type Priority = 'low' | 'normal' | 'high' | 'urgent' | 'critical';
export type TaskStatus = 'pending' | 'running' | 'completed' | 'failed';

/** The contract's `Task` (`GET /v1/tasks/:id`). */
export interface Task<R = unknown> {
  id: string;
  type: string;
  status: TaskStatus;
  priority: Priority;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  result: R | null;
  error: string | null;
}

/** What operators see on `/v1/admin/tasks*`. */
export interface AdminTask<R = unknown> extends Task<R> {
  ownerId: string | null;
  maxAttempts: number;
  lastError: { name: string; message: string; attempt: number } | null;
}

/** The result of a `chat.reply` task. */
export interface ChatReplyResult {
  assistantMessage: Message;
  cached: boolean;
}

/** `202` answer of `POST /v1/conversations/:id/messages` with `mode: "async"`. */
export interface AcceptedReply {
  userMessage: Message;
  task: Task<ChatReplyResult>;
}

export interface TaskStats {
  driver: 'bullmq' | 'in-process';
  byStatus: Record<TaskStatus, number>;
  byPriority: Record<Priority, Record<TaskStatus, number>>;
  queue: { waiting: number; delayed: number; active: number } | null;
  maxPending: number;
  failuresByType: Record<string, number>;
}
