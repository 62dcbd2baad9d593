import { ConfigurableModuleBuilder, type DynamicModule } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import type { PerformanceMonitoringExtras, PerformanceMonitoringOptions } from './monitoring.options.js';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: MONITORING_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<PerformanceMonitoringOptions>()
  .setClassMethodName('forRoot')
  .setExtras<PerformanceMonitoringExtras>({ metrics: {} }, (definition: DynamicModule, extras) => {
    if (extras.metrics === false) return { ...definition, global: true };
    const prometheus = PrometheusModule.register({
      path: extras.metrics?.path ?? '/metrics',
      // Node's process metrics come from prom-client's own collector, on the same (global) registry,
      // once per process: a second app in the process would otherwise fail to register them again.
      defaultMetrics: { enabled: register.getSingleMetric('process_cpu_user_seconds_total') === undefined },
      ...(extras.metrics?.controller === undefined ? {} : { controller: extras.metrics.controller }),
    });
    return { ...definition, global: true, imports: [...(definition.imports ?? []), prometheus] };
  })
  .build();
