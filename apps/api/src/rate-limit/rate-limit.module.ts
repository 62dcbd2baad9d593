import { Module } from '@nestjs/common';
import { ThrottlerModule, ThrottlerStorageService } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { REDIS_CLIENT } from '../redis/redis.module.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

/** `RATE_LIMIT_PER_MINUTE` requests per minute per user; counts shared through Redis when configured. */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG, REDIS_CLIENT],
      useFactory: (config: AppConfig, redis: Redis | null) => {
        const memory = new ThrottlerStorageService();
        return {
          // Named 'default' so the headers are the standard ones (Retry-After, X-RateLimit-*) and a bare
          // @SkipThrottle() applies to it.
          throttlers: [{ name: 'default', ttl: 60_000, limit: Math.max(1, config.rateLimitPerMinute) }],
          errorMessage: `Rate limit exceeded: ${config.rateLimitPerMinute} requests per minute; retry after the time in Retry-After`,
          storage: redis === null ? memory : new RedisThrottlerStorage(redis, memory),
          skipIf: () => config.rateLimitPerMinute === 0,
        };
      },
    }),
  ],
})
export class RateLimitModule {}
