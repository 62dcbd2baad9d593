import { AsyncProcessorModule, type AsyncProcessorOptions } from '@chat/async';
import { PerformanceCacheModule, type PerformanceCacheOptions } from '@chat/cache';
import { PerformanceMonitoringModule, type PerformanceMonitoringOptions } from '@chat/monitoring';
import { Module, type DynamicModule } from '@nestjs/common';
import type { PerformanceIntegrationExtras, PerformanceIntegrationOptions, ResolvedExtras } from './integration.options.js';
import { INTEGRATION_OPTIONS, INTEGRATION_SUBSYSTEMS } from './integration.tokens.js';

/** Holds the integration's options (and the app modules `forRootAsync` imports for its factory) for the three libs' factories. */
@Module({})
class IntegrationOptionsHost {}

export function cacheOptions(o: PerformanceIntegrationOptions): PerformanceCacheOptions {
  return { ...o.cache, redisUrl: o.redisUrl ?? null };
}

export function queueOptions(o: PerformanceIntegrationOptions): AsyncProcessorOptions {
  if (o.dataSource === undefined || o.dataSource === null) {
    throw new Error('PerformanceIntegrationModule: the queue needs `dataSource` (its task table); pass one or declare the module with `enabled: { queue: false }`');
  }
  return { ...o.queue, dataSource: o.dataSource, redisUrl: o.redisUrl ?? null };
}

export function monitorOptions(o: PerformanceIntegrationOptions): PerformanceMonitoringOptions {
  return { ...o.monitor, dataSource: o.dataSource ?? null };
}

/**
 * Turns `PerformanceIntegrationModule.forRoot/forRootAsync(...)` into the module tree: an options
 * host (the app's options provider and its imports), then each lib turned on, configured from
 * those options through its own `forRootAsync`. Shutdown order is not left to module order (global
 * modules run their hooks in registration order): see `PerformanceIntegrationService`.
 */
export function composeIntegration(definition: DynamicModule, extras: PerformanceIntegrationExtras): DynamicModule {
  const enabled = extras.enabled ?? {};
  const on: ResolvedExtras = { cache: enabled.cache !== false, queue: enabled.queue !== false, monitor: enabled.monitor !== false };
  const host: DynamicModule = {
    module: IntegrationOptionsHost,
    imports: definition.imports ?? [],
    providers: definition.providers ?? [],
    exports: [INTEGRATION_OPTIONS],
  };
  const fromHost = { imports: [host], inject: [INTEGRATION_OPTIONS] };
  const libs: DynamicModule[] = [];
  if (on.cache) libs.push(PerformanceCacheModule.forRootAsync({ ...fromHost, useFactory: cacheOptions }));
  if (on.queue) libs.push(AsyncProcessorModule.forRootAsync({ ...fromHost, useFactory: queueOptions }));
  if (on.monitor) {
    libs.push(
      PerformanceMonitoringModule.forRootAsync({
        ...fromHost,
        useFactory: monitorOptions,
        ...(extras.metrics === undefined ? {} : { metrics: extras.metrics }),
      }),
    );
  }
  return {
    ...definition,
    global: true,
    imports: [host, ...libs],
    providers: [{ provide: INTEGRATION_SUBSYSTEMS, useValue: on }],
    exports: [INTEGRATION_SUBSYSTEMS, host],
  };
}
