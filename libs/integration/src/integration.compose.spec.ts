import type { DynamicModule } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { PerformanceIntegrationModule } from './integration.module.js';
import type { PerformanceIntegrationOptions } from './integration.options.js';
import { INTEGRATION_OPTIONS, INTEGRATION_SUBSYSTEMS } from './integration.tokens.js';

/** The value a module tree provides for `token` (searched depth first through its dynamic imports). */
function provided(module: DynamicModule, token: symbol): unknown {
  for (const p of module.providers ?? []) {
    if (typeof p === 'object' && p.provide === token && 'useValue' in p) return p.useValue;
  }
  for (const imported of (module.imports ?? []) as DynamicModule[]) {
    if (typeof imported === 'object' && 'module' in imported) {
      const found = provided(imported, token);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The libs' modules the integration imports, by class name. */
function libs(module: DynamicModule): string[] {
  return ((module.imports ?? []) as DynamicModule[]).map((m) => m.module.name).filter((name) => name !== 'IntegrationOptionsHost');
}

const forRoot = PerformanceIntegrationModule.forRoot.bind(PerformanceIntegrationModule);

describe('PerformanceIntegrationModule.forRoot', () => {
  it('keeps each lib\'s configuration in the options, every subsystem on by default', () => {
    const module = forRoot({ redisUrl: null, version: 'v', cache: { keyPrefix: 'p' }, queue: { queueName: 'q' }, monitor: { slowQueryMs: 5 } });
    expect(provided(module, INTEGRATION_OPTIONS)).toEqual({ redisUrl: null, version: 'v', cache: { keyPrefix: 'p' }, queue: { queueName: 'q' }, monitor: { slowQueryMs: 5 } });
    expect(provided(module, INTEGRATION_SUBSYSTEMS)).toEqual({ cache: true, queue: true, monitor: true });
    expect(libs(module)).toEqual(['PerformanceCacheModule', 'AsyncProcessorModule', 'PerformanceMonitoringModule']);
    expect(module.global).toBe(true);
  });

  it('enabled: false turns a subsystem off: its lib is not imported, and the flags are not options', () => {
    const module = forRoot({ redisUrl: null, enabled: { cache: false, queue: false, monitor: false }, metrics: false });
    expect(provided(module, INTEGRATION_SUBSYSTEMS)).toEqual({ cache: false, queue: false, monitor: false });
    expect(provided(module, INTEGRATION_OPTIONS)).toEqual({ redisUrl: null });
    expect(libs(module)).toEqual([]);
  });

  it('true or nothing: on, with the lib\'s defaults', () => {
    const module = forRoot({ redisUrl: null, enabled: { cache: true } });
    expect(provided(module, INTEGRATION_SUBSYSTEMS)).toEqual({ cache: true, queue: true, monitor: true });
    expect((provided(module, INTEGRATION_OPTIONS) as PerformanceIntegrationOptions).cache).toBeUndefined();
  });
});

describe('PerformanceIntegrationModule.forRootAsync', () => {
  it('extras beside the factory decide what is imported; the factory\'s options are provided as they are', () => {
    const options = { redisUrl: null, cache: { keyPrefix: 'p' } };
    const module = PerformanceIntegrationModule.forRootAsync({ useFactory: () => options, enabled: { queue: false } });
    expect(provided(module, INTEGRATION_SUBSYSTEMS)).toEqual({ cache: true, queue: false, monitor: true });
    expect(libs(module)).toEqual(['PerformanceCacheModule', 'PerformanceMonitoringModule']);
  });
});
