import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerIdOf, type OwnerId } from '../auth/owner.js';
import { newUser, startInProcessApp, type InProcessApp } from '../test-support/in-process-app.js';
import { MessageService } from './message.service.js';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/**
 * The first page is read through the conversation cache; its loader and the `before` query are both
 * checked here, on a cold cache. A page of 50 messages must cost the same in a conversation of 100 or of 100,000 messages: the
 * query the service really sends is captured and explained; both plans must be an index range scan
 * on (conversation_id, seq) that touches a similar number of buffers, with no sort and no seq scan.
 */
describe('message pages cost the same at any conversation length', () => {
  let app: InProcessApp;
  let db: DataSource;
  let owner: OwnerId;
  const captured: Array<{ sql: string; parameters: unknown[] }> = [];

  async function conversationWith(messages: number): Promise<string> {
    const id = randomUUID();
    const now = new Date();
    await db.query(
      `INSERT INTO conversations (id, user_id, title, model, message_count, created_at, updated_at) VALUES ($1, $2, 'big', 'local', $3, $4, $4)`,
      [id, owner, messages, now],
    );
    await db.query(
      `INSERT INTO messages (id, conversation_id, user_id, role, content, created_at)
       SELECT gen_random_uuid(), $1, $2, CASE WHEN i % 2 = 0 THEN 'user' ELSE 'assistant' END, 'message number ' || i, $3
         FROM generate_series(1, $4) AS i`,
      [id, owner, now, messages],
    );
    return id;
  }

  async function explainPageQuery(conversationId: string, before?: string): Promise<PlanNode> {
    captured.length = 0;
    const page = await app.get(MessageService).page(owner, conversationId, 50, before);
    expect(page.items).toHaveLength(50);
    const query = captured.find((q) => /FROM "messages"/.test(q.sql) && /ORDER BY/.test(q.sql));
    if (query === undefined) throw new Error(`page query not captured: ${JSON.stringify(captured)}`);
    const [row] = await db.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${query.sql}`, query.parameters);
    return (row['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0].Plan;
  }

  beforeAll(async () => {
    app = await startInProcessApp();
    db = app.get(DataSource);
    owner = ownerIdOf((await newUser(app, 'long-talker')).id);
    // Record what the service sends (TypeORM calls logQuery for every statement).
    const logger = db.logger;
    (db as unknown as { logger: unknown }).logger = new Proxy(logger, {
      get(target, property, receiver) {
        if (property === 'logQuery') return (sql: string, parameters?: unknown[]) => void captured.push({ sql, parameters: parameters ?? [] });
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
  }, 120_000);
  afterAll(async () => app?.close());

  it('uses the (conversation_id, seq) index with similar buffers for 100 and 100,000 messages', async () => {
    const small = await conversationWith(100);
    const large = await conversationWith(100_000);
    await db.query('ANALYZE messages');

    for (const before of [undefined, 'middle'] as const) {
      const plans: PlanNode[] = [];
      for (const conversationId of [small, large]) {
        let anchor: string | undefined;
        if (before === 'middle') {
          const [row] = await db.query(
            `SELECT id FROM messages WHERE conversation_id = $1 ORDER BY seq DESC OFFSET 10 LIMIT 1`,
            [conversationId],
          );
          anchor = row.id as string;
        }
        plans.push(await explainPageQuery(conversationId, anchor));
      }
      for (const plan of plans) {
        const all = nodes(plan);
        expect(all.some((n) => n['Node Type'] === 'Index Scan' && n['Index Name'] === 'messages_conversation_seq_idx')).toBe(true);
        expect(all.some((n) => n['Node Type'] === 'Sort' || n['Node Type'] === 'Seq Scan')).toBe(false);
        // A page plus one row to know there is more; the first page is loaded 201 deep (newest) for the cache.
        expect([51, 100, 201]).toContain(plan['Actual Rows']);
      }
      const buffers = plans.map((p) => p['Shared Hit Blocks'] + p['Shared Read Blocks']);
      // Same work, give or take an index level: not proportional to the conversation's length.
      expect(buffers[1]).toBeLessThanOrEqual(buffers[0] * 2 + 4);
    }
  });
});
