import { AsyncProcessorModule, type AsyncProcessorOptions } from '@chat/async';
import { PerformanceCacheModule, type PerformanceCacheOptions } from '@chat/cache';
import { PerformanceMonitoringModule, type PerformanceMonitoringOptions } from '@chat/monitoring';
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
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
    throw new Error('PerformanceIntegrationModule: the queue needs `dataSource` (its task table); pass one or declare the module with `queue: false`');
  }
  return { ...o.queue, dataSource: o.dataSource, redisUrl: o.redisUrl ?? null };
}

export function monitorOptions(o: PerformanceIntegrationOptions): PerformanceMonitoringOptions {
  return { ...o.monitor, dataSource: o.dataSource ?? null };
}

/**
 * `forRoot(options)`: Nest provides the options without the extras' keys, and `cache`, `queue` and
 * `monitor` are both (a boolean turns the subsystem off or on, an object configures its lib), so
 * each lib's configuration would be dropped silently. Put the objects back; `forRootAsync` is not
 * affected (its factory's result is provided as is, its extras sit beside `useFactory`).
 */
function withLibOptions(provider: Provider, extras: PerformanceIntegrationExtras): Provider {
  if (typeof provider !== 'object' || provider.provide !== INTEGRATION_OPTIONS || !('useValue' in provider)) return provider;
  const given = extras as Record<string, unknown>;
  const libs = Object.fromEntries(['cache', 'queue', 'monitor'].filter((key) => typeof given[key] === 'object' && given[key] !== null).map((key) => [key, given[key]]));
  return { ...provider, useValue: { ...(provider.useValue as PerformanceIntegrationOptions), ...libs } };
}

/**
 * Turns `PerformanceIntegrationModule.forRoot/forRootAsync(...)` into the module tree: an options
 * host (the app's options provider and its imports), then each lib turned on, configured from
 * those options through its own `forRootAsync`. Shutdown order is not left to module order (global
 * modules run their hooks in registration order): see `PerformanceIntegrationService`.
 */
export function composeIntegration(definition: DynamicModule, extras: PerformanceIntegrationExtras): DynamicModule {
  const on: ResolvedExtras = { cache: extras.cache !== false, queue: extras.queue !== false, monitor: extras.monitor !== false };
  const host: DynamicModule = {
    module: IntegrationOptionsHost,
    imports: definition.imports ?? [],
    providers: (definition.providers ?? []).map((provider) => withLibOptions(provider, extras)),
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
