import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { invalidInput } from '../common/app-error.js';
import { MODEL_PROVIDERS, type ModelInfo, type ModelProvider } from './model-provider.js';

/** Which provider serves which model id. */
@Injectable()
export class ModelRegistry {
  private readonly byModel = new Map<string, ModelProvider>();

  constructor(
    @Inject(MODEL_PROVIDERS) providers: ModelProvider[],
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    for (const provider of providers) {
      for (const model of provider.models()) {
        if (!this.byModel.has(model.id)) this.byModel.set(model.id, provider);
      }
    }
  }

  get defaultModel(): string {
    return this.config.aiModel;
  }

  list(): ModelInfo[] {
    return [...this.byModel.entries()].flatMap(([id, provider]) => provider.models().filter((m) => m.id === id));
  }

  /** The name a model's answers carry: `local` answers as `local-offline-demo`. */
  answerName(model: string): string {
    return this.providerFor(model).models().find((m) => m.id === model)?.answersAs ?? model;
  }

  providerFor(model: string): ModelProvider {
    const provider = this.byModel.get(model);
    if (provider === undefined) throw invalidInput(`model "${model}" is not available; see GET /v1/models`);
    return provider;
  }

  assertAvailable(model: string): void {
    this.providerFor(model);
  }
}
