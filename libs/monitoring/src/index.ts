export { PerformanceMonitoringModule } from './monitoring.module.js';
export * from './alerts/index.js';
export type { QuerySample } from './queries/query-sample.js';
