import { describe, expect, it, vi } from 'vitest';
import { CacheEngine } from '../engine/cache-engine.js';
import { AiResponseCache } from './ai-response.cache.js';
import { ConversationCache } from './conversation.cache.js';
import { ToolResultCache } from './tool-result.cache.js';

const engine = (): CacheEngine => CacheEngine.create({ redisUrl: null });

describe('AiResponseCache', () => {
  const request = { model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0 };

  it('keys on the canonical request, scoped to the user by default', () => {
    const cache = new AiResponseCache(engine());
    expect(cache.key('u1', request)).toBe(cache.key('u1', { temperature: 0, messages: [{ content: 'hi', role: 'user' }], model: 'm' }));
    expect(cache.key('u1', request)).not.toBe(cache.key('u2', request));
    expect(cache.key('u1', request)).not.toBe(cache.key('u1', { ...request, temperature: 1 }));
    const shared = new AiResponseCache(engine(), { scope: 'shared' });
    expect(shared.key('u1', request)).toBe(shared.key('u2', request));
  });

  it('generates once, then serves from cache; bypass always generates; errors are not cached', async () => {
    const cache = new AiResponseCache(engine());
    const generate = vi.fn(async () => ({ content: 'answer' }));
    expect(await cache.getOrGenerate('u', request, generate)).toEqual({ value: { content: 'answer' }, cached: false });
    expect(await cache.getOrGenerate('u', request, generate)).toEqual({ value: { content: 'answer' }, cached: true });
    expect(await cache.getOrGenerate('u', request, generate, { bypass: true })).toEqual({ value: { content: 'answer' }, cached: false });
    expect(generate).toHaveBeenCalledTimes(2);

    const failing = vi.fn(async () => {
      throw new Error('upstream 500');
    });
    const other = { ...request, seed: 1 };
    await expect(cache.getOrGenerate('u', other, failing)).rejects.toThrow('upstream 500');
    expect(await cache.getOrGenerate('u', other, generate)).toEqual({ value: { content: 'answer' }, cached: false });
  });
});

describe('ToolResultCache', () => {
  it('caches cacheable tools by name and canonical arguments; never the others', async () => {
    const cache = new ToolResultCache(engine());
    const calculator = { name: 'calculator', cacheable: true, ttlSeconds: 60 };
    const clock = { name: 'current_time', cacheable: false, ttlSeconds: null };
    const run = vi.fn(async () => 42);
    expect((await cache.getOrRun(calculator, { a: 1, b: 2 }, run)).cached).toBe(false);
    expect((await cache.getOrRun(calculator, { b: 2, a: 1 }, run)).cached).toBe(true);
    expect((await cache.getOrRun({ ...calculator, name: 'other' }, { a: 1, b: 2 }, run)).cached).toBe(false);
    expect((await cache.getOrRun(clock, {}, run)).cached).toBe(false);
    expect((await cache.getOrRun(clock, {}, run)).cached).toBe(false);
    expect(run).toHaveBeenCalledTimes(4);
  });
});

describe('ConversationCache', () => {
  it('does not cache "not found", drops entries on writes, and never mixes owners', async () => {
    const cache = new ConversationCache(engine());
    const missing = vi.fn(async () => null);
    await cache.conversation('o1', 'c1', missing);
    await cache.conversation('o1', 'c1', missing);
    expect(missing).toHaveBeenCalledTimes(2);

    const load = vi.fn(async () => ({ id: 'c1', title: 'one' }));
    expect((await cache.conversation('o1', 'c1', load)).cached).toBe(false);
    expect((await cache.conversation('o1', 'c1', load)).cached).toBe(true);
    expect((await cache.conversation('o2', 'c1', load)).cached).toBe(false);
    await cache.messagesChanged('o1', 'c1');
    expect((await cache.conversation('o1', 'c1', load)).cached).toBe(false);
    await cache.conversationChanged('o1', 'c1', null);
    expect((await cache.conversation('o1', 'c1', load)).cached).toBe(false);
  });
});
