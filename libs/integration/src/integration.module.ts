import { Module } from '@nestjs/common';
import { ConfigurableModuleClass } from './integration.module-definition.js';
import { PerformanceIntegrationService } from './integration.service.js';

/**
 * `PerformanceIntegrationModule.forRoot({ redisUrl, dataSource, cache, queue, monitor })` or
 * `.forRootAsync({ imports, inject, useFactory, cache?: false, queue?: false, monitor?: false, metrics })`:
 * configures `@chat/cache`, `@chat/async` and `@chat/monitoring` from one options object, connects
 * cache and queue events to the monitor, and provides `PerformanceIntegrationService` to the whole app.
 *
 * Lifecycle: the libs start first (caches, then the processor's reconciler and workers once the app
 * has bootstrapped); on shutdown the workers stop taking tasks and drain, then the queue's and the
 * caches' Redis connections close, then the monitor flushes its alert notifications; the
 * DataSource, which the app owns, closes with its own module.
 */
@Module({
  providers: [PerformanceIntegrationService],
  exports: [PerformanceIntegrationService],
})
export class PerformanceIntegrationModule extends ConfigurableModuleClass {}
