export { PerformanceMonitoringModule } from './monitoring.module.js';
