/**
 * Zero-configuration start: no DATABASE_URL (embedded PGlite, DATA_DIR=memory) and no ADMIN_TOKEN
 * (a generated one, printed once in the log). The whole path works: admin → user → answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type StartedApi } from '@chat/testing';
import { http } from './support/http.js';
import { adminClient, allMessages, createConversation, newUser, say } from './support/api.js';
import { arithmeticQuestion, messageInput, userName } from './support/factories.js';
import { expectError } from './support/assertions.js';

let api: StartedApi;

beforeAll(async () => {
  api = await startApi({ database: 'embedded', adminToken: null, startTimeoutMs: 80_000 });
}, 90_000);

afterAll(async () => {
  await api?.stop();
});

describe('embedded database and generated admin token', () => {
  it('has no external database and becomes ready', async () => {
    expect(api.databaseUrl).toBeNull();
    const ready = await http(api.url, { path: '/health/ready' });
    expect(ready.status, ready.text).toBe(200);
    expect(JSON.stringify(ready.body)).toContain('database');
  });

  it('prints the generated admin token once, as a JSON log field', () => {
    expect(typeof api.adminToken).toBe('string');
    expect(api.adminToken.length).toBeGreaterThanOrEqual(16);
    const lines = api.logs().split('\n').filter((line) => line.includes(api.adminToken));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`"adminToken":"${api.adminToken}"`);
  });

  it('the generated token is the admin credential, and nothing else is', async () => {
    expectError(await adminClient(api).as(`${api.adminToken}x`).post('/v1/admin/users', { name: userName() }), 401);
    expect((await adminClient(api).post('/v1/admin/users', { name: userName() })).status).toBe(201);
  });

  it('a user created with it posts messages and gets answers, tools included', async () => {
    const user = await newUser(api);
    const conversation = await createConversation(user.client);
    const plain = await say(user.client, conversation.id, messageInput());
    expect(plain.assistantMessage.content.trim().length).toBeGreaterThan(0);
    const q = arithmeticQuestion();
    const math = await say(user.client, conversation.id, { content: q.question });
    expect(math.assistantMessage.content).toContain(String(q.value));
    const stored = await allMessages(user.client, conversation.id);
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'tool', 'assistant']);
  });
});
