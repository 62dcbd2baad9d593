export { PerformanceMonitoringModule } from './monitoring.module.js';
export * from './alerts/index.js';
export type { QuerySample } from './queries/query-sample.js';
export {
  QueryFingerprinter,
  normalizeSqlText,
  fallbackFingerprint,
  firstKeyword,
  type QueryFingerprint,
} from './queries/fingerprint.js';
export { QueryCapture, type CapturedQuery } from './queries/query-capture.js';
export { MonitorRequestContext, MonitorRequestState, type MonitorRequestInit, type FingerprintTally } from './queries/request-context.js';
export { LatencyHistogram, QueryStats, type FingerprintStats, type QueryStatsOrder } from './queries/query-stats.js';
export { NPlusOneDetector } from './queries/n-plus-one.js';
export type * from './queries/n-plus-one.js';
export * from './analysis/index.js';
