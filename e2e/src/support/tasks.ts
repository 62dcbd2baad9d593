/** Helpers for the async task endpoints: submit, follow, wait for the queue to settle. */
import { expect } from 'vitest';
import type { ApiClient, HttpResponse } from './http.js';
import { expectOk } from './assertions.js';
import type { MessageInput } from './factories.js';
import type { AcceptedReply, AdminTask, Conversation, Page, Task, TaskStats, TaskStatus } from './types.js';

const FINISHED: TaskStatus[] = ['completed', 'failed'];

/** `POST /v1/conversations/:id/messages` with `mode: "async"` (the body may be anything, for bad-input tests). */
export function submitAsync(
  client: ApiClient,
  conversationId: string,
  input: Omit<MessageInput, 'mode'> | Record<string, unknown>,
  idempotencyKey?: string,
): Promise<HttpResponse<AcceptedReply>> {
  return client.request<AcceptedReply>({
    method: 'POST',
    path: `/v1/conversations/${conversationId}/messages`,
    json: { ...input, mode: 'async' },
    ...(idempotencyKey === undefined ? {} : { headers: { 'idempotency-key': idempotencyKey } }),
  });
}

/** Submits an async message and checks the 202 answer: shape, Location, a fresh task. */
export async function acceptAsync(
  client: ApiClient,
  conversationId: string,
  input: Omit<MessageInput, 'mode'>,
  idempotencyKey?: string,
): Promise<AcceptedReply> {
  const res = await submitAsync(client, conversationId, input, idempotencyKey);
  const body = expectOk(res, 202);
  expect(res.headers.get('location')).toBe(`/v1/tasks/${body.task.id}`);
  expect(body.task.type).toBe('chat.reply');
  expect(body.userMessage).toMatchObject({ conversationId, role: 'user', content: input.content });
  return body;
}

/** `POST /v1/tools/:name/invoke` with `mode: "async"`. */
export function invokeAsync(
  client: ApiClient,
  name: string,
  args: unknown,
  options: { priority?: string; idempotencyKey?: string } = {},
): Promise<HttpResponse<Task>> {
  return client.request<Task>({
    method: 'POST',
    path: `/v1/tools/${name}/invoke`,
    json: { arguments: args, mode: 'async', ...(options.priority === undefined ? {} : { priority: options.priority }) },
    ...(options.idempotencyKey === undefined ? {} : { headers: { 'idempotency-key': options.idempotencyKey } }),
  });
}

export async function getTask<R = unknown>(client: ApiClient, id: string): Promise<Task<R>> {
  return expectOk(await client.get<Task<R>>(`/v1/tasks/${id}`));
}

export async function getAdminTask<R = unknown>(admin: ApiClient, id: string): Promise<AdminTask<R>> {
  return expectOk(await admin.get<AdminTask<R>>(`/v1/admin/tasks/${id}`));
}

/** Polls `GET /v1/tasks/:id` until the task reaches one of `statuses` (default: finished). */
export async function waitForTask<R = unknown>(
  client: ApiClient,
  id: string,
  statuses: TaskStatus[] = FINISHED,
  timeoutMs = 30_000,
): Promise<Task<R>> {
  const deadline = Date.now() + timeoutMs;
  let last: Task<R> | undefined;
  for (;;) {
    last = await getTask<R>(client, id);
    if (statuses.includes(last.status)) return last;
    if (Date.now() > deadline) {
      throw new Error(`task ${id} did not reach ${statuses.join('|')} within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for a task and expects it completed. */
export async function waitForCompleted<R = unknown>(client: ApiClient, id: string, timeoutMs = 30_000): Promise<Task<R>> {
  const task = await waitForTask<R>(client, id, FINISHED, timeoutMs);
  expect(task.status, `task ${id}: ${JSON.stringify(task)}`).toBe('completed');
  return task;
}

export async function getConversation(client: ApiClient, id: string): Promise<Conversation> {
  return expectOk(await client.get<Conversation>(`/v1/conversations/${id}`));
}

/** Polls the conversation until `check` holds for it. */
export async function waitForConversation(
  client: ApiClient,
  id: string,
  check: (c: Conversation) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<Conversation> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const conversation = await getConversation(client, id);
    if (check(conversation)) return conversation;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(conversation)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function taskStats(admin: ApiClient): Promise<TaskStats> {
  return expectOk(await admin.get<TaskStats>('/v1/admin/tasks/stats'));
}

/** Waits until no task of this deployment is pending or running (title tasks included). */
export async function waitForIdleQueue(admin: ApiClient, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await taskStats(admin);
    if (stats.byStatus.pending === 0 && stats.byStatus.running === 0) return;
    if (Date.now() > deadline) throw new Error(`the task queue did not settle: ${JSON.stringify(stats.byStatus)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every task of the deployment, newest first, following `nextCursor` (admin view). */
export async function allAdminTasks(admin: ApiClient, status?: TaskStatus): Promise<AdminTask[]> {
  const out: AdminTask[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const res = await admin.get<Page<AdminTask>>('/v1/admin/tasks', { limit: 100, status, cursor });
    const body = expectOk(res);
    out.push(...body.items);
    if (body.nextCursor === null) return out;
    cursor = body.nextCursor;
  }
  throw new Error('more than 100 pages of tasks');
}
