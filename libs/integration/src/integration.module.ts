import { Module } from '@nestjs/common';
import { ConfigurableModuleClass } from './integration.module-definition.js';
import { PerformanceIntegrationService } from './integration.service.js';

/**
 * `PerformanceIntegrationModule.forRoot({ redisUrl, dataSource, cache, queue, monitor })` or
 * `.forRootAsync({ imports, inject, useFactory, cache?: false, queue?: false, monitor?: false, metrics })`:
 * configures `@chat/cache`, `@chat/async` and `@chat/monitoring` from one options object, connects
 * cache and queue events to the monitor, and provides `PerformanceIntegrationService` to the whole app.
 *
 * Lifecycle: on init the event bridge attaches (so the monitor hears the first events), then once the
 * app has bootstrapped the processor starts its reconciler and workers. On shutdown the workers stop
 * taking tasks and drain (before any connection closes), then the queue's and the caches' Redis
 * connections close, and the monitor flushes its alert notifications; the DataSource, which the app
 * owns, closes with its own module.
 */
@Module({
  providers: [PerformanceIntegrationService],
  exports: [PerformanceIntegrationService],
})
export class PerformanceIntegrationModule extends ConfigurableModuleClass {}
