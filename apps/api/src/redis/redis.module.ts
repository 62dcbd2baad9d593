import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';

/** The shared ioredis client, or `null` when `REDIS_URL` is unset. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/**
 * A client tuned to fail fast: with Redis down or hung, a command fails within ~250 ms rather than
 * queueing (ioredis' defaults wait ~10 s on a dead server and forever on a hung one), and callers
 * degrade. It reconnects on its own.
 */
export function createFailFastRedis(url: string, name: string): Redis {
  const client = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 250,
    connectTimeout: 2_000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  const logger = new Logger('Redis');
  let reported = false;
  client.on('error', (error: Error) => {
    // One line per outage, not one per reconnect attempt.
    if (!reported) logger.warn({ err: error.message }, 'Redis is not answering; degrading until it is back');
    reported = true;
  });
  client.on('ready', () => {
    if (reported) logger.log('Redis is back');
    reported = false;
  });
  return client;
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): Redis | null =>
        config.redisUrl === null ? null : createFailFastRedis(config.redisUrl, 'chat-api'),
    },
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis | null) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.redis === null) return;
    await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}
