import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { AiService } from './ai.service.js';
import { ChatCompletionsService } from './chat-completions.service.js';
import { LocalModelProvider } from './local.model-provider.js';
import { MODEL_PROVIDERS, type ModelProvider } from './model-provider.js';
import { ModelRegistry } from './model-registry.js';
import { OpenAiCompatibleModelProvider } from './openai-compatible.model-provider.js';

@Module({
  providers: [
    {
      provide: MODEL_PROVIDERS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): ModelProvider[] => {
        const providers: ModelProvider[] = [];
        if (config.aiBaseUrl !== null) {
          providers.push(
            new OpenAiCompatibleModelProvider({
              baseUrl: config.aiBaseUrl,
              apiKey: config.aiApiKey,
              model: config.aiModel,
              timeoutMs: config.aiTimeoutMs,
              maxRetries: config.aiMaxRetries,
            }),
          );
        }
        // Always there: development, demos and tests work offline.
        providers.push(new LocalModelProvider());
        return providers;
      },
    },
    ModelRegistry,
    AiService,
    ChatCompletionsService,
  ],
  exports: [AiService, ModelRegistry, ChatCompletionsService],
})
export class AiModule implements OnApplicationShutdown {
  constructor(@Inject(MODEL_PROVIDERS) private readonly providers: ModelProvider[]) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.providers.map((p) => (p.close === undefined ? Promise.resolve() : p.close())));
  }
}
