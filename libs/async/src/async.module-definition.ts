import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { AsyncProcessorOptions } from './core/processor.options.js';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: ASYNC_PROCESSOR_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AsyncProcessorOptions>().setClassMethodName('forRoot').build();
