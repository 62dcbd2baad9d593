import type { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { backoffDelay, resolveOptions, type AsyncProcessorOptions } from './processor.options.js';

const dataSource = {} as DataSource;

describe('backoffDelay (exponential, equal jitter)', () => {
  const backoff = { baseMs: 100, maxMs: 10_000 };

  it('doubles the ceiling with each attempt (random → 1 gives the ceiling)', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(backoff, attempt, () => 1))).toEqual([100, 200, 400, 800, 1_600, 3_200]);
  });

  it('the floor (random → 0) is half the ceiling, and grows the same way', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(backoff, attempt, () => 0))).toEqual([50, 100, 200, 400, 800, 1_600]);
  });

  it('is capped at maxMs, even for absurd attempt numbers', () => {
    expect(backoffDelay(backoff, 8, () => 1)).toBe(10_000); // 100 × 2^7 = 12,800 > cap
    expect(backoffDelay(backoff, 8, () => 0)).toBe(5_000);
    expect(backoffDelay(backoff, 50, () => 1)).toBe(10_000);
    expect(backoffDelay(backoff, 5_000, () => 1)).toBe(10_000); // 2^4999 is Infinity
    expect(backoffDelay(backoff, 5_000, () => 0)).toBe(5_000);
  });

  it('stays in [c/2, c] for any random value, midpoint at 3c/4', () => {
    expect(backoffDelay(backoff, 3, () => 0.5)).toBe(300);
    for (let attempt = 1; attempt <= 10; attempt++) {
      const c = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (attempt - 1));
      for (let i = 0; i <= 100; i++) {
        const delay = backoffDelay(backoff, attempt, () => i / 101);
        expect(delay).toBeGreaterThanOrEqual(c / 2);
        expect(delay).toBeLessThanOrEqual(c);
      }
    }
  });

  it('spreads retries of tasks that failed together (Math.random by default)', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay({ baseMs: 10_000, maxMs: 60_000 }, 2)));
    expect(delays.size).toBeGreaterThan(1);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(10_000);
      expect(d).toBeLessThanOrEqual(20_000);
    }
  });

  it('treats an attempt below 1 as the first', () => {
    expect(backoffDelay(backoff, 0, () => 1)).toBe(100);
    expect(backoffDelay(backoff, -3, () => 0)).toBe(50);
  });

  it('returns whole milliseconds', () => {
    expect(Number.isInteger(backoffDelay({ baseMs: 3, maxMs: 100 }, 1, () => 0.37))).toBe(true);
  });
});

describe('resolveOptions', () => {
  it('fills in the documented defaults', () => {
    const o = resolveOptions({ dataSource });
    expect(o).toMatchObject({
      dataSource,
      redisUrl: null,
      queueName: 'tasks',
      prefix: 'bull',
      worker: true,
      concurrency: 8,
      maxPending: 10_000,
      defaultPriority: 'normal',
      defaultAttempts: 3,
      defaultTimeoutMs: 60_000,
      backoff: { baseMs: 1_000, maxMs: 60_000 },
      leaseMs: 30_000,
      reconcileIntervalMs: 15_000,
      staleAfterMs: 30_000,
      shutdownTimeoutMs: 10_000,
      retryAfterSeconds: 5,
      commandTimeoutMs: 1_000,
      statsWindowMs: 15 * 60_000,
    });
  });

  it('keeps what it is given', () => {
    const given: AsyncProcessorOptions = {
      dataSource,
      redisUrl: 'redis://example:6379',
      queueName: 'q',
      prefix: 'p',
      worker: false,
      concurrency: 2,
      maxPending: 7,
      defaultPriority: 'critical',
      defaultAttempts: 9,
      defaultTimeoutMs: 1_234,
      backoff: { baseMs: 10, maxMs: 20 },
      leaseMs: 5_000,
      reconcileIntervalMs: 100,
      staleAfterMs: 200,
      shutdownTimeoutMs: 300,
      retryAfterSeconds: 1,
      commandTimeoutMs: 400,
      statsWindowMs: 500,
    };
    expect(resolveOptions(given)).toEqual(given);
  });

  it('an explicit null redisUrl means in-process', () => {
    expect(resolveOptions({ dataSource, redisUrl: null }).redisUrl).toBeNull();
  });

  const numeric = [
    'concurrency',
    'maxPending',
    'defaultAttempts',
    'defaultTimeoutMs',
    'leaseMs',
    'reconcileIntervalMs',
    'staleAfterMs',
    'retryAfterSeconds',
    'commandTimeoutMs',
    'statsWindowMs',
  ] as const;

  it.each(numeric)('rejects a non-positive or non-finite %s, naming it', (name) => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => resolveOptions({ dataSource, [name]: bad }), `${name} = ${bad}`).toThrow(new RegExp(`AsyncProcessorOptions\\.${name} must be a positive number`));
    }
  });

  it('rejects a negative or non-finite shutdownTimeoutMs', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => resolveOptions({ dataSource, shutdownTimeoutMs: bad })).toThrow(/shutdownTimeoutMs must be a positive number/);
    }
  });

  it('rejects a bad backoff', () => {
    expect(() => resolveOptions({ dataSource, backoff: { baseMs: 0, maxMs: 1_000 } })).toThrow(/backoff\.baseMs/);
    expect(() => resolveOptions({ dataSource, backoff: { baseMs: 100, maxMs: -5 } })).toThrow(/backoff\.maxMs/);
    expect(() => resolveOptions({ dataSource, backoff: { baseMs: Number.NaN, maxMs: 1_000 } })).toThrow(/backoff\.baseMs/);
  });
});
