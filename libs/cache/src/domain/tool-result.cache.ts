import type { CacheEngine } from '../engine/cache-engine.js';
import type { CacheNamespace, NamespaceOptions } from '../engine/cache.types.js';
import { canonicalJson, sha256 } from './canonical-json.js';

/** What the cache needs to know of a tool: each tool declares whether its results may be reused. */
export interface CacheableTool {
  name: string;
  /** False for tools with side effects or whose answer depends on time (`current_time`) or on the caller's data. */
  cacheable: boolean;
  ttlSeconds: number | null;
}

/** Tool results keyed by tool name and the canonical JSON of the arguments. Failures are never cached. */
export class ToolResultCache {
  private readonly ns: CacheNamespace;

  constructor(engine: CacheEngine, options: Partial<NamespaceOptions> = {}) {
    this.ns = engine.namespace('tool-result', { ttlMs: 3_600_000, ...options });
  }

  async getOrRun<T>(tool: CacheableTool, args: unknown, run: () => Promise<T>): Promise<{ value: T; cached: boolean }> {
    if (!tool.cacheable) return { value: await run(), cached: false };
    const key = `${tool.name}:${sha256(canonicalJson(args))}`;
    const ttlMs = tool.ttlSeconds === null ? undefined : tool.ttlSeconds * 1000;
    const { value, source } = await this.ns.getOrLoad(key, run, ttlMs === undefined ? {} : { ttlMs });
    return { value, cached: source !== 'loader' };
  }

  get namespace(): CacheNamespace {
    return this.ns;
  }
}
