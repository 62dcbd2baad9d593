import { startBenchApi } from '../api/api.fixture.js';
import { addMessages, createConversation } from '../api/api.seed.js';
import type { LoadScenario, Prepared } from '../bench.types.js';
import { expectOk } from '../http.probe.js';

/** A mix of the local model's behaviours, so the stored history has plain, tool-call and tool-result messages (also used by monitor-overhead). */
export const PROMPTS = [
  'Hello, this conversation is used by the benchmark.',
  'What is 12*(3+4)?',
  'What time is it?',
  'search for benchmark',
  'Thank you, that is all for now.',
];

/**
 * The headline figure: reading one conversation (and its messages) through the full API stack,
 * once it is cached. The API keeps conversations, their newest messages and API-key lookups in its
 * in-process cache (L1); writes drop the entries, so after seeding one read of each route fills them
 * again and every measured request is an L1 hit (TTL 5 min, far longer than the scenario).
 */
export const conversationReadScenario: LoadScenario = {
  name: 'conversation-read',
  description:
    'cached conversation read (L1 hit: one read after seeding fills the cache) vs the bare hello route; user key, fresh PostgreSQL, no Redis',
  baselines: ['hello'],
  async prepare(): Promise<Prepared> {
    const bench = await startBenchApi();
    try {
      const id = await createConversation(bench, 'bench conversation');
      await addMessages(bench, id, PROMPTS);
      const get = (path: string) => ({ method: 'GET' as const, url: `${bench.api.url}${path}`, headers: bench.userHeaders });
      const targets = [
        { name: 'GET /v1/conversations/:id (cached, L1 hit)', request: get(`/v1/conversations/${id}`) },
        { name: 'GET /v1/conversations/:id/messages?limit=50 (cached first page, L1 hit)', request: get(`/v1/conversations/${id}/messages?limit=50`) },
      ];
      // The seeding writes dropped the cached entries; this first read of each fills them (and the
      // API-key lookup), so that even with --warmup 0 every measured request is a hit.
      for (const target of targets) await expectOk(target.request);
      return {
        targets,
        teardown: () => bench.stop(),
      };
    } catch (err) {
      await bench.stop().catch(() => undefined);
      throw err;
    }
  },
};
