import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';

interface ThrottlerStorageRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * One atomic round trip per request: count the hit in a fixed window, and once the count passes the
 * limit, set a block key that lives `blockDuration`. Returns [hits, window ms left, block ms left].
 */
const INCREMENT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
local blockTtl = redis.call('PTTL', KEYS[2])
if blockTtl < 0 and hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3]); blockTtl = tonumber(ARGV[3])
end
return { hits, ttl, blockTtl }
`;

/**
 * `@nestjs/throttler` storage in Redis, so every API process shares one count per user.
 * (`@nest-lab/throttler-storage-redis` would be the library for this, but it does not accept Nest 12.)
 * Fails open: if Redis does not answer, the request is let through, counted in process memory by
 * `fallback`, and a warning is logged once per outage.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger('RedisThrottlerStorage');
  private warned = false;

  constructor(
    private readonly redis: Redis,
    private readonly fallback: ThrottlerStorage,
    private readonly prefix = 'chat:throttle:',
  ) {
    redis.defineCommand('chatThrottleIncrement', { numberOfKeys: 2, lua: INCREMENT });
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const base = `${this.prefix}${throttlerName}:${key}`;
    try {
      const run = (this.redis as unknown as Record<string, (...args: unknown[]) => Promise<[number, number, number]>>)['chatThrottleIncrement'];
      if (run === undefined) throw new Error('throttle script is not defined');
      const [hits, windowMs, blockMs] = await run.call(this.redis, base, `${base}:blocked`, ttl, limit, blockDuration);
      this.warned = false;
      const isBlocked = blockMs > 0;
      return {
        totalHits: hits,
        timeToExpire: Math.ceil(windowMs / 1000),
        isBlocked,
        timeToBlockExpire: isBlocked ? Math.ceil(blockMs / 1000) : 0,
      };
    } catch (error) {
      if (!this.warned) this.logger.warn({ err: (error as Error).message }, 'rate limit store unavailable; counting in process');
      this.warned = true;
      return this.fallback.increment(key, ttl, limit, blockDuration, throttlerName);
    }
  }
}
