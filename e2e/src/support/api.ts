/** Helpers over `@chat/testing` and the HTTP wrapper: users, conversations, messages. */
import { expect } from 'vitest';
import { createUser, type FakeUpstream, type StartedApi } from '@chat/testing';
import { ApiClient, type HttpResponse } from './http.js';
import { conversationInput, upstreamApiKey, userName, type ConversationInput, type MessageInput } from './factories.js';
import type { Conversation, Message, Page, PostMessageReply } from './types.js';

export interface TestUser {
  id: string;
  name: string;
  apiKey: string;
  client: ApiClient;
}

export async function newUser(api: StartedApi, name = userName()): Promise<TestUser> {
  const user = await createUser(api, name);
  return { ...user, client: new ApiClient(api.url, user.apiKey) };
}

export function adminClient(api: StartedApi): ApiClient {
  return new ApiClient(api.url, api.adminToken);
}

export function anonymousClient(api: StartedApi): ApiClient {
  return new ApiClient(api.url, null);
}

/** Environment that points the API at a fake upstream (the openai-compatible provider). */
export function upstreamEnv(fake: FakeUpstream, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AI_BASE_URL: fake.baseUrl,
    AI_MODEL: 'fake-model',
    AI_API_KEY: upstreamApiKey(),
    ...extra,
  };
}

export async function createConversation(client: ApiClient, input: ConversationInput = conversationInput()): Promise<Conversation> {
  const res = await client.post<Conversation>('/v1/conversations', input);
  expect(res.status, res.text).toBe(201);
  return res.body;
}

export function postMessage(client: ApiClient, conversationId: string, input: MessageInput): Promise<HttpResponse<PostMessageReply>> {
  return client.post<PostMessageReply>(`/v1/conversations/${conversationId}/messages`, input);
}

/** Posts a sync message and expects 201. */
export async function say(client: ApiClient, conversationId: string, input: MessageInput): Promise<PostMessageReply> {
  const res = await postMessage(client, conversationId, input);
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** Every message of a conversation, oldest first (one page of up to 200). */
export async function allMessages(client: ApiClient, conversationId: string): Promise<Message[]> {
  const res = await client.get<Page<Message>>(`/v1/conversations/${conversationId}/messages`, { limit: 200 });
  expect(res.status, res.text).toBe(200);
  return res.body.items;
}

/** The number of chat-completion requests the fake upstream has received. */
export function upstreamCalls(fake: FakeUpstream): number {
  const calls: unknown = (fake as { calls: unknown }).calls;
  if (typeof calls === 'number') return calls;
  if (Array.isArray(calls)) return calls.length;
  throw new Error(`FakeUpstream.calls has an unexpected shape: ${typeof calls}`);
}

export interface UpstreamRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** The chat-completion requests the fake upstream received, in order. */
export function upstreamChatRequests(fake: FakeUpstream): UpstreamRequest[] {
  return (fake.requests as UpstreamRequest[]).filter((r) => r.path.endsWith('/chat/completions'));
}

export function headerOf(req: UpstreamRequest, name: string): string | undefined {
  const entry = Object.entries(req.headers).find(([key]) => key.toLowerCase() === name.toLowerCase());
  const value = entry?.[1];
  return Array.isArray(value) ? value[0] : value;
}

/** Polls `check` until it holds (no timing assertion: it only waits for a state). */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
