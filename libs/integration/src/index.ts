export { PerformanceIntegrationModule } from './integration.module.js';
export { PerformanceIntegrationService, type Cached, type HealthStatus } from './integration.service.js';
export type { PerformanceIntegrationExtras, PerformanceIntegrationOptions, ResolvedExtras } from './integration.options.js';
export { INTEGRATION_OPTIONS, INTEGRATION_SUBSYSTEMS } from './integration.tokens.js';
export { buildDashboard, minuteAxis, overallStatus, weightedPercentile, CACHE_NAMESPACES, type DashboardInputs } from './health/dashboard.js';
export { performanceScore, SCORE_RULES } from './health/score.js';
export type * from './health/dashboard.types.js';
export { cacheEventForMonitor, cacheTotalsOf, taskEventForMonitor } from './bridge/event-bridge.js';
export { emptyCacheStats, PassThroughNamespace } from './facade/pass-through.namespace.js';
