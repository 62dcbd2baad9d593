import type { CacheEngine } from '../engine/cache-engine.js';
import type { CacheNamespace, NamespaceOptions } from '../engine/cache.types.js';

/**
 * A conversation and its newest messages, cache-aside, keyed by owner and id (so one user's key can
 * never reach another's data). Writers call `conversationChanged` / `messagesChanged`, which update
 * or drop the entries here and in every other process's L1.
 */
export class ConversationCache {
  private readonly ns: CacheNamespace;

  constructor(engine: CacheEngine, options: Partial<NamespaceOptions> = {}) {
    // Writes invalidate, so expiry only bounds memory and drift: hot conversations are refreshed
    // ahead of it, and for a short grace an expired one is served while it reloads.
    this.ns = engine.namespace('conversation', { ttlMs: 300_000, maxTtlMs: 1_800_000, graceMs: 30_000, refreshAheadHits: 20, ...options });
  }

  /** The conversation, from cache or `load` (null — not found — is not cached). */
  async conversation<T>(ownerId: string, conversationId: string, load: () => Promise<T | null>): Promise<{ value: T | null; cached: boolean }> {
    const { value, source } = await this.ns.getOrLoad(this.conversationKey(ownerId, conversationId), load, {
      shouldCache: (v) => v !== null,
    });
    return { value, cached: source !== 'loader' };
  }

  /** The newest messages of a conversation (whatever depth the caller loads), from cache or `load`. */
  async newestMessages<T>(ownerId: string, conversationId: string, load: () => Promise<T>): Promise<{ value: T; cached: boolean }> {
    const { value, source } = await this.ns.getOrLoad(this.messagesKey(ownerId, conversationId), load);
    return { value, cached: source !== 'loader' };
  }

  /** After a write of the conversation itself: store the new version (or drop it with `null`). */
  async conversationChanged<T>(ownerId: string, conversationId: string, value: T | null): Promise<void> {
    const key = this.conversationKey(ownerId, conversationId);
    if (value === null) await this.ns.delete(key);
    else await this.ns.set(key, value);
  }

  /** After messages were added or removed: both the page and the conversation (count, updatedAt) changed. */
  async messagesChanged(ownerId: string, conversationId: string): Promise<void> {
    await Promise.all([this.ns.delete(this.messagesKey(ownerId, conversationId)), this.ns.delete(this.conversationKey(ownerId, conversationId))]);
  }

  async removed(ownerId: string, conversationId: string): Promise<void> {
    await this.messagesChanged(ownerId, conversationId);
  }

  get namespace(): CacheNamespace {
    return this.ns;
  }

  private conversationKey(ownerId: string, conversationId: string): string {
    return `${ownerId}:${conversationId}`;
  }

  private messagesKey(ownerId: string, conversationId: string): string {
    return `${ownerId}:${conversationId}:newest`;
  }
}
