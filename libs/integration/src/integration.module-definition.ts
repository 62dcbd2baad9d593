import { ConfigurableModuleBuilder } from '@nestjs/common';
import { composeIntegration } from './integration.compose.js';
import type { PerformanceIntegrationExtras, PerformanceIntegrationOptions } from './integration.options.js';
import { INTEGRATION_OPTIONS } from './integration.tokens.js';

export const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = new ConfigurableModuleBuilder<PerformanceIntegrationOptions>({
  optionsInjectionToken: INTEGRATION_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras<PerformanceIntegrationExtras>({ enabled: {}, metrics: {} }, composeIntegration)
  .build();
