export { PerformanceCacheModule } from './cache.module.js';
export { CACHE_OPTIONS, type PerformanceCacheOptions } from './cache.module-definition.js';
export { CacheEngine } from './engine/cache-engine.js';
export type { CacheEngineOptions } from './engine/cache-engine.options.js';
export { CACHE_EVENT_TYPES } from './engine/cache.types.js';
export type {
  CacheEvent,
  CacheEventListener,
  CacheEventType,
  CacheNamespace,
  CacheSource,
  CacheStats,
  EntryOptions,
  Loaded,
  LoadOptions,
  NamespaceOptions,
} from './engine/cache.types.js';
export { ConversationCache } from './domain/conversation.cache.js';
export { AiResponseCache, type AiRequestKey, type AiResponseCacheOptions } from './domain/ai-response.cache.js';
export { ToolResultCache, type CacheableTool } from './domain/tool-result.cache.js';
export { canonicalJson } from './domain/canonical-json.js';
