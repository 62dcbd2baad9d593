import type { CacheEngine } from '../engine/cache-engine.js';
import type { CacheNamespace, NamespaceOptions } from '../engine/cache.types.js';
import { canonicalJson, sha256 } from './canonical-json.js';

/** The parts of a model request that decide its answer; anything else (signal, user agent) is not part of the key. */
export interface AiRequestKey {
  model: string;
  messages: unknown[];
  temperature?: number | undefined;
  topP?: number | undefined;
  maxTokens?: number | undefined;
  tools?: unknown[] | undefined;
  toolChoice?: unknown;
  responseFormat?: unknown;
  seed?: number | undefined;
  stop?: unknown;
}

export interface AiResponseCacheOptions extends Partial<NamespaceOptions> {
  /** `user` (default): answers are reused only for the same user. `shared`: across users. */
  scope?: 'user' | 'shared';
}

/**
 * Model answers keyed by a hash of the canonical request, scoped to the user by default. Concurrent
 * identical cold requests reach the model once across every process sharing Redis. Errors are never
 * cached (the generator throws).
 */
export class AiResponseCache {
  private readonly ns: CacheNamespace;
  private readonly scope: 'user' | 'shared';

  constructor(engine: CacheEngine, options: AiResponseCacheOptions = {}) {
    const { scope = 'user', ...namespaceOptions } = options;
    this.scope = scope;
    this.ns = engine.namespace('ai-response', { ttlMs: 3_600_000, maxTtlMs: 86_400_000, ...namespaceOptions });
  }

  key(userId: string, request: AiRequestKey): string {
    const owner = this.scope === 'shared' ? 'shared' : `u:${userId}`;
    return `${owner}:${sha256(canonicalJson(request))}`;
  }

  async getOrGenerate<T>(
    userId: string,
    request: AiRequestKey,
    generate: () => Promise<T>,
    options: { bypass?: boolean } = {},
  ): Promise<{ value: T; cached: boolean }> {
    const { value, source } = await this.ns.getOrLoad(this.key(userId, request), generate, {
      distributed: true,
      bypass: options.bypass === true,
    });
    return { value, cached: source !== 'loader' };
  }

  /** A cached answer, if any (streams check first, then stream live and `store` at the end). */
  get<T>(userId: string, request: AiRequestKey): Promise<T | undefined> {
    return this.ns.get<T>(this.key(userId, request));
  }

  store<T>(userId: string, request: AiRequestKey, value: T): Promise<void> {
    return this.ns.set(this.key(userId, request), value);
  }

  get namespace(): CacheNamespace {
    return this.ns;
  }
}
