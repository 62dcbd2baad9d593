import { startBenchApi } from '../api/api.fixture.js';
import { addMessages, createConversation } from '../api/api.seed.js';
import type { Prepared, Scenario } from '../bench.types.js';

/** A mix of the local model's behaviours, so the stored history has plain, tool-call and tool-result messages. */
const PROMPTS = [
  'Hello, this conversation is used by the benchmark.',
  'What is 12*(3+4)?',
  'What time is it?',
  'search for benchmark',
  'Thank you, that is all for now.',
];

/** The headline figure: reading one conversation (and its messages) through the full API stack. */
export const conversationReadScenario: Scenario = {
  name: 'conversation-read',
  description: 'GET /v1/conversations/:id and GET /v1/conversations/:id/messages?limit=50 with a user key, fresh PostgreSQL, no Redis',
  baselines: ['hello'],
  async prepare(): Promise<Prepared> {
    const bench = await startBenchApi();
    try {
      const id = await createConversation(bench, 'bench conversation');
      await addMessages(bench, id, PROMPTS);
      const get = (path: string) => ({ method: 'GET' as const, url: `${bench.api.url}${path}`, headers: bench.userHeaders });
      return {
        targets: [
          { name: 'GET /v1/conversations/:id', request: get(`/v1/conversations/${id}`) },
          { name: 'GET /v1/conversations/:id/messages?limit=50', request: get(`/v1/conversations/${id}/messages?limit=50`) },
        ],
        teardown: () => bench.stop(),
      };
    } catch (err) {
      await bench.stop().catch(() => undefined);
      throw err;
    }
  },
};
