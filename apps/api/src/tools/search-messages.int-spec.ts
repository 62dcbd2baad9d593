import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, newUser, startInProcessApp, type InProcessApp } from '../test-support/in-process-app.js';

describe('search_messages: PostgreSQL full-text search in the caller\'s own messages', () => {
  let app: InProcessApp;
  let alice: { id: string; apiKey: string };
  let bob: { id: string; apiKey: string };

  async function say(user: { apiKey: string }, content: string): Promise<void> {
    const conversation = await call(app, 'POST', '/v1/conversations', user.apiKey, {});
    const reply = await call(app, 'POST', `/v1/conversations/${conversation.body.id}/messages`, user.apiKey, { content });
    expect(reply.status).toBe(201);
  }

  async function search(user: { apiKey: string }, query: string): Promise<Array<{ snippet: string; role: string }>> {
    const response = await call(app, 'POST', '/v1/tools/search_messages/invoke', user.apiKey, { arguments: { query, limit: 50 } });
    expect(response.status).toBe(200);
    return response.body.result.items;
  }

  beforeAll(async () => {
    app = await startInProcessApp();
    alice = await newUser(app, 'alice');
    bob = await newUser(app, 'bob');
    await say(alice, 'My favourite vegetables are carrots and leeks');
    await say(alice, 'The quarterly budget meeting moved to Thursday');
    await say(bob, 'Bob also loves carrots, secretly');
  });
  afterAll(async () => app?.close());

  it('finds stemmed words in the caller\'s messages only', async () => {
    const hits = await search(alice, 'carrot');
    const userHits = hits.filter((h) => h.role === 'user');
    expect(userHits).toHaveLength(1);
    expect(userHits[0].snippet).toContain('carrots');
    expect(hits.every((h) => !h.snippet.includes('Bob'))).toBe(true);
    expect((await search(bob, 'budget')).length).toBe(0);
  });

  it('understands web-search syntax: phrases, OR and exclusions', async () => {
    expect((await search(alice, '"budget meeting"')).filter((h) => h.role === 'user')).toHaveLength(1);
    expect((await search(alice, 'leeks OR thursday')).filter((h) => h.role === 'user')).toHaveLength(2);
    expect((await search(alice, 'carrots -leeks')).filter((h) => h.role === 'user')).toHaveLength(0);
  });

  it('never searches tool results (they are JSON, not conversation)', async () => {
    await say(alice, 'what is 1234*5678?');
    const hits = await search(alice, 'expression');
    expect(hits.filter((h) => h.role === 'tool')).toHaveLength(0);
  });
});
