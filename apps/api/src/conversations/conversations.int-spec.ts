import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { ownerIdOf } from '../auth/owner.js';
import { AppError } from '../common/app-error.js';
import { call, newUser, startInProcessApp, type InProcessApp } from '../test-support/in-process-app.js';
import { ConversationService } from './conversation.service.js';

describe('conversations on PostgreSQL', () => {
  let app: InProcessApp;
  let service: ConversationService;

  beforeAll(async () => {
    app = await startInProcessApp();
    service = app.get(ConversationService);
  });
  afterAll(async () => app?.close());

  it('never returns another owner\'s conversation, and says not_found exactly as for an unknown id', async () => {
    const alice = await newUser(app, 'alice');
    const bob = await newUser(app, 'bob');
    const conversation = await service.create(ownerIdOf(alice.id), { title: 'private' });

    const asBob = await service.get(ownerIdOf(bob.id), conversation.id).catch((e: unknown) => e);
    const unknown = await service.get(ownerIdOf(bob.id), '00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    expect(asBob).toBeInstanceOf(AppError);
    expect((asBob as AppError).code).toBe('not_found');
    expect((asBob as AppError).message).toBe((unknown as AppError).message);
    await expect(service.update(ownerIdOf(bob.id), conversation.id, { title: 'x' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(service.remove(ownerIdOf(bob.id), conversation.id)).rejects.toMatchObject({ code: 'not_found' });
    expect((await service.get(ownerIdOf(alice.id), conversation.id)).title).toBe('private');
  });

  it('pages newest first without gaps or repeats, even when many share one updatedAt', async () => {
    const user = await newUser(app, 'pager');
    const owner = ownerIdOf(user.id);
    const db = app.get(DataSource);
    const same = new Date('2026-01-01T00:00:00.000Z');
    for (let i = 0; i < 25; i++) {
      const c = await service.create(owner, { title: `c${i}` });
      // A third of them collide on updatedAt: the id must break the tie.
      await db.query('UPDATE conversations SET updated_at = $2 WHERE id = $1', [c.id, i % 3 === 0 ? same : new Date(same.getTime() + i * 1000)]);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let previous: { updatedAt: number; id: string } | undefined;
    do {
      const page = await service.list(owner, 7, cursor);
      for (const c of page.items) {
        if (previous !== undefined) {
          const ordered = c.updatedAt.getTime() < previous.updatedAt || (c.updatedAt.getTime() === previous.updatedAt && c.id < previous.id);
          expect(ordered).toBe(true);
        }
        previous = { updatedAt: c.updatedAt.getTime(), id: c.id };
        seen.push(c.id);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
  });

  it('deleting a conversation deletes its messages', async () => {
    const user = await newUser(app, 'deleter');
    const created = await call(app, 'POST', '/v1/conversations', user.apiKey, {});
    const id = created.body.id as string;
    expect((await call(app, 'POST', `/v1/conversations/${id}/messages`, user.apiKey, { content: 'what is 2+2?' })).status).toBe(201);
    const db = app.get(DataSource);
    const before = await db.query('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [id]);
    expect(before[0].n).toBe(4);
    expect((await call(app, 'DELETE', `/v1/conversations/${id}`, user.apiKey)).status).toBe(204);
    const after = await db.query('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [id]);
    expect(after[0].n).toBe(0);
  });

  it('keeps messageCount and updatedAt in step with the messages written', async () => {
    const user = await newUser(app, 'counter');
    const created = await call(app, 'POST', '/v1/conversations', user.apiKey, {});
    const id = created.body.id as string;
    await call(app, 'POST', `/v1/conversations/${id}/messages`, user.apiKey, { content: 'hello' });
    await call(app, 'POST', `/v1/conversations/${id}/messages`, user.apiKey, { content: 'what is 6*7' });
    const conversation = await call(app, 'GET', `/v1/conversations/${id}`, user.apiKey);
    // hello → user + assistant; 6*7 → user + assistant(tool call) + tool + assistant
    expect(conversation.body.messageCount).toBe(6);
    expect(Date.parse(conversation.body.updatedAt)).toBeGreaterThan(Date.parse(created.body.updatedAt));
  });
});
