import {
  Global,
  Inject,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ASYNC_PROCESSOR_OPTIONS, ConfigurableModuleClass } from './async.module-definition.js';
import type { AsyncProcessorOptions } from './core/processor.options.js';
import { TaskProcessor } from './core/task-processor.js';

/**
 * `AsyncProcessorModule.forRoot({ dataSource, redisUrl, ... })` or `.forRootAsync({ useFactory, inject })`.
 *
 * Lifecycle: handlers register in their modules' `onModuleInit`; once the app has bootstrapped the
 * reconciler starts, then the workers (when `worker` is on). On shutdown the workers stop taking
 * tasks and drain within `shutdownTimeoutMs` before the database closes; Redis closes last.
 */
@Global()
@Module({
  providers: [
    {
      provide: TaskProcessor,
      inject: [ASYNC_PROCESSOR_OPTIONS],
      useFactory: (options: AsyncProcessorOptions) => new TaskProcessor(options),
    },
  ],
  exports: [TaskProcessor],
})
export class AsyncProcessorModule
  extends ConfigurableModuleClass
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  constructor(@Inject(TaskProcessor) private readonly processor: TaskProcessor) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.processor.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.processor.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.processor.close();
  }
}
