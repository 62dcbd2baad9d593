import { TEST_REDIS_URL } from '@chat/testing';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createFailFastRedis } from '../redis/redis.module.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

/**
 * One contract, every implementation: the in-process store that ships with @nestjs/throttler and
 * ours on Redis must count, expire and block identically.
 */
const redis = createFailFastRedis(TEST_REDIS_URL, 'throttler-contract');
const implementations: Array<[string, () => ThrottlerStorage]> = [
  ['in-process (ThrottlerStorageService)', () => new ThrottlerStorageService()],
  ['Redis (RedisThrottlerStorage)', () => new RedisThrottlerStorage(redis, new ThrottlerStorageService(), `test:${randomUUID()}:`)],
];

afterAll(async () => {
  await redis.quit();
});

describe.each(implementations)('throttler storage contract: %s', (_name, make) => {
  it('counts hits per key and per throttler name, independently', async () => {
    const storage = make();
    const a = `a-${randomUUID()}`;
    const b = `b-${randomUUID()}`;
    for (let i = 1; i <= 3; i++) expect((await storage.increment(a, 60_000, 10, 60_000, 'per-minute')).totalHits).toBe(i);
    expect((await storage.increment(b, 60_000, 10, 60_000, 'per-minute')).totalHits).toBe(1);
    expect((await storage.increment(a, 60_000, 10, 60_000, 'other')).totalHits).toBe(1);
  });

  it('reports the window time left in seconds, at most the ttl', async () => {
    const record = await make().increment(`t-${randomUUID()}`, 60_000, 10, 60_000, 'per-minute');
    expect(record.timeToExpire).toBeGreaterThan(0);
    expect(record.timeToExpire).toBeLessThanOrEqual(60);
    expect(record.isBlocked).toBe(false);
  });

  it('blocks once the limit is passed, for blockDuration', async () => {
    const storage = make();
    const key = `blocked-${randomUUID()}`;
    const limit = 2;
    const records = [];
    for (let i = 0; i < 4; i++) records.push(await storage.increment(key, 60_000, limit, 30_000, 'per-minute'));
    expect(records.map((r) => r.isBlocked)).toEqual([false, false, true, true]);
    expect(records[3].timeToBlockExpire).toBeGreaterThan(0);
    expect(records[3].timeToBlockExpire).toBeLessThanOrEqual(30);
  });

  it('starts a new window after the ttl', async () => {
    const storage = make();
    const key = `window-${randomUUID()}`;
    await storage.increment(key, 300, 100, 300, 'per-minute');
    await storage.increment(key, 300, 100, 300, 'per-minute');
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await storage.increment(key, 300, 100, 300, 'per-minute')).totalHits).toBe(1);
  });
});

describe('RedisThrottlerStorage with Redis down', () => {
  it('fails open to the in-process count instead of failing the request', async () => {
    // Nothing listens on port 1: every command fails at once.
    const dead = createFailFastRedis('redis://127.0.0.1:1', 'dead');
    try {
      const storage = new RedisThrottlerStorage(dead, new ThrottlerStorageService());
      const key = `down-${randomUUID()}`;
      expect((await storage.increment(key, 60_000, 5, 60_000, 'per-minute')).totalHits).toBe(1);
      expect((await storage.increment(key, 60_000, 5, 60_000, 'per-minute')).totalHits).toBe(2);
    } finally {
      dead.disconnect();
    }
  });
});
