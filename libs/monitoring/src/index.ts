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
export { PerformanceMonitor, OTHER_ROUTE, type DashboardSeries, type PerformanceMonitorOptions } from './core/performance-monitor.js';
export { MinuteSeries, MinuteCounter, type MinutePoint } from './core/minute-series.js';
export { ProcessProbe, type ProcessSample } from './core/process-probe.js';
export type { CacheMonitorEvent, CacheTotals, HttpRequestRecord, QueueMonitorEvent } from './core/monitor-events.js';
export { MonitorMetrics, OTHER_LABEL, type MonitorMetricsOptions } from './prometheus/monitor-metrics.js';
export { CLIENT_CLOSED_REQUEST, PerformanceMonitorService, UNMATCHED_ROUTE, type MonitorReport } from './nest/performance-monitor.service.js';
export { MONITORING_OPTIONS } from './nest/monitoring.module-definition.js';
export type { PerformanceMonitoringExtras, PerformanceMonitoringOptions } from './nest/monitoring.options.js';
export { PrometheusController } from '@willsoto/nestjs-prometheus';
