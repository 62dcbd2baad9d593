import { createTestDatabase, TEST_REDIS_URL, type TestDatabase } from '@chat/testing';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeResources,
  adminRedis,
  clientList,
  deleteKeysUnder,
  eventually,
  ownConnectionsTo,
  startIntegrationApp,
  type IntegrationApp,
  type TestTasks,
} from './testing/integration-app.fixture.js';

/**
 * Shutdown of an app with the whole performance layer on real PostgreSQL and Redis: the worker
 * drains (a running task finishes, or is given back to pending and done by the next process),
 * every Redis connection of the libs closes, and no handle of ours is left behind.
 */
const prefix = `test-integration-life-${randomUUID()}`;
const redisPort = Number(new URL(TEST_REDIS_URL).port || 6379);
let database: TestDatabase;
let admin: Redis;

/** `test.stuck` waits for the shutdown's abort in the first app, and finishes at once in the second. */
let stuckFinishes = false;
const tasks: TestTasks = {
  'test.quick': {
    handle: async ({ signal }) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      signal.throwIfAborted();
      return 'quick done';
    },
  },
  'test.stuck': {
    handle: async ({ signal }) => {
      if (stuckFinishes) return 'finished by the next process';
      await new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    },
  },
};

/** Apps not closed yet: a failing test leaves none running behind it. */
const open = new Set<IntegrationApp>();

async function close(t: IntegrationApp): Promise<void> {
  open.delete(t);
  await t.app.close();
}

async function start(): Promise<IntegrationApp> {
  const t = await startIntegrationApp({
    databaseUrl: database.url,
    config: { redisUrl: TEST_REDIS_URL, prefix, version: 'lifecycle' },
    // The drain deadline: `test.quick` finishes well within it; `test.stuck` is aborted at it and given back.
    adjust: (o) => ({ ...o, queue: { ...o.queue, shutdownTimeoutMs: 3_000 } }),
    tasks,
  });
  open.add(t);
  return t;
}

async function taskRow(id: string): Promise<{ status: string; attempts: number; result: unknown }> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ status: string; attempts: number; result: unknown }>('SELECT status, attempts, result FROM tasks WHERE id = $1', [id]);
    if (rows[0] === undefined) throw new Error(`task ${id} is not in the table`);
    return rows[0];
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  database = await createTestDatabase('integration_lifecycle');
  admin = adminRedis();
  await admin.ping();
});

afterAll(async () => {
  for (const t of [...open]) await close(t).catch(() => undefined);
  try {
    if (admin !== undefined) await deleteKeysUnder(admin, `${prefix}*`);
  } finally {
    admin?.disconnect();
    await database?.drop();
  }
});

describe('app.close()', () => {
  it('drains the worker, closes every Redis connection of the libs, leaves no handle of ours', async () => {
    const resourcesBefore = activeResources();
    const socketsBefore = await ownConnectionsTo(redisPort);

    const t = await start();
    // Use every connection: cache L2 and bus, the queue's producer and worker, the health ping.
    expect((await t.get('/probe/conversations/life-1')).status).toBe(200);
    expect((await t.service.dashboard()).components.redis?.status).toBe('up');

    const quick = (await t.service.submitTask('test.quick', {})).task;
    const stuck = (await t.service.submitTask('test.stuck', {})).task;
    await eventually(async () => (await t.service.task(stuck.id))?.status === 'running', 'test.stuck running');

    // The libs' connections: ours (this process's sockets), and Redis sees each of them.
    const ours = [...(await ownConnectionsTo(redisPort))].filter((addr) => !socketsBefore.has(addr));
    expect(ours.length).toBeGreaterThanOrEqual(5);
    await eventually(async () => {
      const addrs = new Set((await clientList(admin)).map((c) => c['addr']));
      return ours.every((addr) => addrs.has(addr));
    }, 'Redis to list every connection of ours');
    const listed = await clientList(admin);
    expect(listed.some((c) => c['name'] === 'chat-integration-health' && ours.includes(c['addr'] ?? ''))).toBe(true);

    await close(t);

    // The worker drained: the quick task finished, the stuck one was given back (not failed, not lost).
    expect(await taskRow(quick.id)).toMatchObject({ status: 'completed', result: 'quick done' });
    const given = await taskRow(stuck.id);
    expect(given.status).toBe('pending');

    // No connection of ours is left, on our side or on Redis's.
    await eventually(async () => {
      const left = [...(await ownConnectionsTo(redisPort))].filter((addr) => !socketsBefore.has(addr));
      return left.length === 0;
    }, 'our Redis sockets to close');
    await eventually(async () => {
      const addrs = new Set((await clientList(admin)).map((c) => c['addr']));
      return ours.every((addr) => !addrs.has(addr));
    }, 'Redis to forget our connections');

    // No handle of ours keeps the process alive (vitest's own were there before).
    const extra = await eventually(() => {
      const now = activeResources();
      const more = Object.entries(now).filter(([type, n]) => n > (resourcesBefore[type] ?? 0));
      return more.length === 0 ? true : null;
    }, `no more active resources than before (before: ${JSON.stringify(resourcesBefore)})`).catch(() => activeResources());
    expect(extra === true ? true : { before: resourcesBefore, after: extra }).toBe(true);
  }, 90_000);

  it('the task given back at shutdown is done by the next process', async () => {
    stuckFinishes = true;
    const t = await start();
    try {
      const pending = await t.service.tasks({ status: 'pending' });
      expect(pending.items.map((task) => task.type)).toContain('test.stuck');
      const id = pending.items.find((task) => task.type === 'test.stuck')?.id ?? '';
      const done = await eventually(async () => {
        const task = await t.service.task(id);
        return task?.status === 'completed' ? task : null;
      }, 'the given-back task to complete in the next process', 30_000);
      expect(done.result).toBe('finished by the next process');
    } finally {
      await close(t);
    }
  }, 90_000);
});
