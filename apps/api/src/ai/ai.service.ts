import { Injectable } from '@nestjs/common';
import type { OwnerId } from '../auth/owner.js';
import { ModelRegistry } from './model-registry.js';
import type { ModelRequest, ModelResponse, ModelStreamEvent } from './model-provider.js';

export interface GenerateOptions {
  /** Whose request this is (answers are scoped to their user). */
  owner: OwnerId;
  /** `false`: do not read or write any answer cache for this request. */
  cache?: boolean;
}

export interface Generated {
  response: ModelResponse;
  /** True when the answer was served from the AI-response cache rather than the model. */
  cached: boolean;
}

export interface GeneratedStream {
  cached: boolean;
  events: AsyncIterable<ModelStreamEvent>;
}

/**
 * The one way the app asks a model for an answer. Routing to the provider happens here; this is
 * also where the AI-response cache and single-flight sit (libs/cache, issue 3).
 */
@Injectable()
export class AiService {
  constructor(private readonly models: ModelRegistry) {}

  assertAvailable(model: string): void {
    this.models.assertAvailable(model);
  }

  answerName(model: string): string {
    return this.models.answerName(model);
  }

  async complete(request: ModelRequest, _options: GenerateOptions): Promise<Generated> {
    const response = await this.models.providerFor(request.model).complete(request);
    return { response, cached: false };
  }

  /** Whether the answer comes from cache is settled before the first event, so it can go in a header. */
  stream(request: ModelRequest, _options: GenerateOptions): Promise<GeneratedStream> {
    return Promise.resolve({ cached: false, events: this.models.providerFor(request.model).stream(request) });
  }
}
