import { Module } from '@nestjs/common';
import { ConfigurableModuleClass } from './nest/monitoring.module-definition.js';
import { PerformanceMonitorService } from './nest/performance-monitor.service.js';

/**
 * `PerformanceMonitoringModule.forRoot({ dataSource, slowQueryMs, alertRules, ... })` or
 * `.forRootAsync({ useFactory, inject, metrics: { path, controller } })`: provides the
 * `PerformanceMonitorService` to the whole app and serves `/metrics` (`@willsoto/nestjs-prometheus`).
 */
@Module({
  providers: [PerformanceMonitorService],
  exports: [PerformanceMonitorService],
})
export class PerformanceMonitoringModule extends ConfigurableModuleClass {}
