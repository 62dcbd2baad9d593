import type { AiRequestKey } from '@chat/cache';
import { PerformanceIntegrationService } from '@chat/integration';
import { Injectable } from '@nestjs/common';
import type { OwnerId } from '../auth/owner.js';
import { ModelRegistry } from './model-registry.js';
import type { ModelRequest, ModelResponse, ModelStreamEvent } from './model-provider.js';

export interface GenerateOptions {
  /** Whose request this is (answers are cached per user unless the cache is shared). */
  owner: OwnerId;
  /** `false`: do not read or write the AI-response cache for this request. */
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

/** The parts of a request that decide the answer: the cache key. */
function cacheKeyOf(request: ModelRequest): AiRequestKey {
  return {
    model: request.model,
    messages: request.messages,
    temperature: request.temperature,
    topP: request.topP,
    maxTokens: request.maxTokens,
    tools: request.tools,
    toolChoice: request.toolChoice,
    responseFormat: request.responseFormat,
    seed: request.seed,
    stop: request.stop,
  };
}

/** A cached answer played back as a stream: word deltas, then the whole response. */
async function* replay(response: ModelResponse): AsyncIterable<ModelStreamEvent> {
  for (const piece of (response.content ?? '').match(/\s*\S+\s*|\s+/g) ?? []) {
    yield { type: 'delta', content: piece };
    // Let other requests run between deltas, as a live stream would.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  yield { type: 'done', response };
}

/**
 * The one way the app asks a model for an answer: provider routing, and the AI-response cache with
 * single-flight across processes. Errors are never cached.
 */
@Injectable()
export class AiService {
  constructor(
    private readonly models: ModelRegistry,
    private readonly performance: PerformanceIntegrationService,
  ) {}

  assertAvailable(model: string): void {
    this.models.assertAvailable(model);
  }

  answerName(model: string): string {
    return this.models.answerName(model);
  }

  async complete(request: ModelRequest, options: GenerateOptions): Promise<Generated> {
    const provider = this.models.providerFor(request.model);
    if (options.cache === false) return { response: await provider.complete(request), cached: false };
    // The call may be shared by other waiters (here and in other processes): one client going
    // away must not cancel it for the others, so it runs without the caller's abort signal.
    const { signal: _ignored, ...shared } = request;
    const { value, cached } = await this.performance.aiAnswer(options.owner, cacheKeyOf(request), () => provider.complete(shared));
    return { response: value, cached };
  }

  /**
   * Whether the answer comes from cache is settled before the first event, so it can go in a header.
   * A miss streams live from the model and stores the complete answer at the end (a stream that
   * fails or is abandoned stores nothing).
   */
  async stream(request: ModelRequest, options: GenerateOptions): Promise<GeneratedStream> {
    const provider = this.models.providerFor(request.model);
    if (options.cache === false) return { cached: false, events: provider.stream(request) };
    const key = cacheKeyOf(request);
    const hit = await this.performance.cachedAiAnswer<ModelResponse>(options.owner, key);
    if (hit !== undefined) return { cached: true, events: replay(hit) };
    const performance = this.performance;
    async function* live(): AsyncIterable<ModelStreamEvent> {
      for await (const event of provider.stream(request)) {
        if (event.type === 'done') await performance.storeAiAnswer(options.owner, key, event.response);
        yield event;
      }
    }
    return { cached: false, events: live() };
  }
}
