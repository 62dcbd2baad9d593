import { fileURLToPath } from 'node:url';
import { createTestDatabase, freePort, spawnNode } from '@chat/testing';
import type { Baseline, Prepared } from '../bench.types.js';
import { waitUntilOk } from '../http.probe.js';

const PG_PK_ENTRY = fileURLToPath(new URL('./pg-pk.app.js', import.meta.url));

/**
 * What a database-bound route could do at best on this machine: one primary-key SELECT through a
 * `pg` Pool (10 connections, the API's default DB_POOL_MAX) per HTTP request, bare `node:http`.
 */
export const pgPkBaseline: Baseline = {
  name: 'pg-pk',
  description: 'bare node:http + pg Pool (10), one primary-key SELECT per request on a 10,000-row table, own process and database',
  async prepare(): Promise<Prepared> {
    const database = await createTestDatabase('bench_pgpk');
    const port = await freePort();
    const proc = spawnNode(PG_PK_ENTRY, { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: database.url });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntilOk(`${url}/ready`, 30_000, proc.hasExited);
    } catch (err) {
      await proc.stop('SIGKILL');
      await database.drop();
      throw new Error(`pg-pk baseline did not start: ${(err as Error).message}\n${proc.logs.toString()}`, { cause: err });
    }
    return {
      targets: [{ name: 'pg primary-key SELECT (node:http + pg Pool)', request: { method: 'GET', url: `${url}/row` }, serverPid: proc.child.pid ?? undefined }],
      teardown: async () => {
        await proc.stop();
        await database.drop();
      },
    };
  },
};
