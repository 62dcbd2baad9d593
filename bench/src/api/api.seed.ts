import type { HttpRequestSpec } from '../bench.types.js';
import { expectOk } from '../http.probe.js';
import type { BenchApi } from './api.fixture.js';

function post(bench: BenchApi, path: string, body: unknown): HttpRequestSpec {
  return {
    method: 'POST',
    url: `${bench.api.url}${path}`,
    headers: { ...bench.userHeaders, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}

export async function createConversation(bench: BenchApi, title: string): Promise<string> {
  const conversation = JSON.parse(await expectOk(post(bench, '/v1/conversations', { title }))) as { id: string };
  return conversation.id;
}

/** Posts user messages in sync mode, so each one also stores the model's answer (and any tool messages). */
export async function addMessages(bench: BenchApi, conversationId: string, contents: string[]): Promise<void> {
  for (const content of contents) {
    await expectOk(post(bench, `/v1/conversations/${conversationId}/messages`, { content, mode: 'sync' }));
  }
}
