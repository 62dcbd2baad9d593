import pg from 'pg';
import type { UserData } from './mix.plan.js';
import type { Deployment } from './mix.topology.js';

export interface SeedPlan {
  users: number;
  conversationsPerUser: number;
  messagesPerConversation: number;
}

export interface Seeded {
  users: UserData[];
  conversations: number;
  messages: number;
}

/**
 * Realistic data to read: users through the admin API (their keys exist only as hashes), then their
 * conversations and messages straight into the API's tables (alternating user and assistant
 * messages, as the API stores them), far faster than through the model. Nothing of it is cached yet:
 * the first reads fill the caches, as after a deploy.
 */
export async function seedMix(deployment: Deployment, plan: SeedPlan): Promise<Seeded> {
  const users: UserData[] = [];
  const client = new pg.Client({ connectionString: deployment.databaseUrl });
  await client.connect();
  try {
    for (let u = 0; u < plan.users; u++) {
      const user = await deployment.createUser(`bench-user-${u}`);
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO conversations (id, user_id, title, system_prompt, model, message_count, created_at, updated_at)
         SELECT gen_random_uuid(), $1, 'Conversation ' || n, NULL, 'fake-model', $2, now() - make_interval(hours => n), now() - make_interval(mins => n)
         FROM generate_series(1, $3::int) AS n
         RETURNING id`,
        [user.id, plan.messagesPerConversation, plan.conversationsPerUser],
      );
      const ids = rows.map((r) => r.id);
      await client.query(
        `INSERT INTO messages (id, conversation_id, user_id, role, content, model, cached, created_at)
         SELECT gen_random_uuid(), c.id, $1,
                CASE WHEN m % 2 = 1 THEN 'user' ELSE 'assistant' END,
                CASE WHEN m % 2 = 1 THEN 'Question ' || m || ' about the weather, the news and a few other things I wondered about today.'
                     ELSE 'echo: an answer of about twenty words, as a model would give, with some detail on question ' || (m - 1) || ' and more.' END,
                CASE WHEN m % 2 = 1 THEN NULL ELSE 'fake-model' END,
                false, now() - make_interval(secs => $3::int - m)
         FROM unnest($2::uuid[]) AS c(id), generate_series(1, $3::int) AS m
         ORDER BY c.id, m`,
        [user.id, ids, plan.messagesPerConversation],
      );
      users.push({ authorization: user.authorization, conversationIds: ids });
    }
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
  return {
    users,
    conversations: plan.users * plan.conversationsPerUser,
    messages: plan.users * plan.conversationsPerUser * plan.messagesPerConversation,
  };
}
