import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AiResponseCache } from './domain/ai-response.cache.js';
import { ConversationCache } from './domain/conversation.cache.js';
import { ToolResultCache } from './domain/tool-result.cache.js';
import { CacheEngine } from './engine/cache-engine.js';
import { CACHE_OPTIONS, ConfigurableModuleClass, type PerformanceCacheOptions } from './cache.module-definition.js';

/**
 * `PerformanceCacheModule.forRoot({ redisUrl, ... })` or `.forRootAsync({ useFactory, inject })`:
 * provides the `CacheEngine` and the three domain caches to the whole app.
 */
@Global()
@Module({
  providers: [
    {
      provide: CacheEngine,
      inject: [CACHE_OPTIONS],
      useFactory: (options: PerformanceCacheOptions) => CacheEngine.create(options),
    },
    {
      provide: ConversationCache,
      inject: [CacheEngine, CACHE_OPTIONS],
      useFactory: (engine: CacheEngine, options: PerformanceCacheOptions) => new ConversationCache(engine, options.conversation),
    },
    {
      provide: AiResponseCache,
      inject: [CacheEngine, CACHE_OPTIONS],
      useFactory: (engine: CacheEngine, options: PerformanceCacheOptions) => new AiResponseCache(engine, options.aiResponse),
    },
    {
      provide: ToolResultCache,
      inject: [CacheEngine, CACHE_OPTIONS],
      useFactory: (engine: CacheEngine, options: PerformanceCacheOptions) => new ToolResultCache(engine, options.toolResult),
    },
  ],
  exports: [CacheEngine, ConversationCache, AiResponseCache, ToolResultCache],
})
export class PerformanceCacheModule extends ConfigurableModuleClass implements OnApplicationShutdown {
  constructor(@Inject(CacheEngine) private readonly engine: CacheEngine) {
    super();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.engine.close();
  }
}
