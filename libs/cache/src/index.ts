export { PerformanceCacheModule } from './cache.module.js';
