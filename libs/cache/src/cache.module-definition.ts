import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { CacheEngineOptions } from './engine/cache-engine.options.js';
import type { NamespaceOptions } from './engine/cache.types.js';
import type { AiResponseCacheOptions } from './domain/ai-response.cache.js';

export interface PerformanceCacheOptions extends CacheEngineOptions {
  conversation?: Partial<NamespaceOptions>;
  aiResponse?: AiResponseCacheOptions;
  toolResult?: Partial<NamespaceOptions>;
}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN: CACHE_OPTIONS, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<PerformanceCacheOptions>().setClassMethodName('forRoot').build();
