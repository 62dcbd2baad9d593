import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';

describe('CircuitBreaker', () => {
  function make(threshold = 3, cooldownMs = 1_000): { breaker: CircuitBreaker; advance: (ms: number) => void } {
    let now = 0;
    return { breaker: new CircuitBreaker(threshold, cooldownMs, () => now), advance: (ms) => (now += ms) };
  }

  it('stays closed below the threshold, and a success resets the count', () => {
    const { breaker } = make(3);
    breaker.failure();
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe('closed');
    expect(breaker.allow()).toBe(true);
  });

  it('opens after N consecutive failures and refuses calls for the cooldown', () => {
    const { breaker, advance } = make(3, 1_000);
    for (let i = 0; i < 3; i++) breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);
    advance(999);
    expect(breaker.allow()).toBe(false);
  });

  it('lets one trial through when half-open; success closes, failure reopens', () => {
    const { breaker, advance } = make(1, 1_000);
    breaker.failure();
    advance(1_000);
    expect(breaker.state).toBe('half-open');
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(false); // only one trial at a time
    breaker.failure();
    expect(breaker.state).toBe('open');
    advance(1_000);
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.allow()).toBe(true);
  });

  it('trialNow (a connection came up): an open circuit lets one trial through at once; success closes, failure reopens for a full cooldown', () => {
    const { breaker, advance } = make(2, 1_000);
    breaker.failure();
    breaker.failure();
    expect(breaker.allow()).toBe(false);
    breaker.trialNow();
    expect(breaker.state).toBe('half-open');
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(false); // one trial, not a closed circuit
    breaker.failure();
    expect(breaker.state).toBe('open');
    advance(999);
    expect(breaker.allow()).toBe(false);

    breaker.trialNow();
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe('closed');
  });

  it('trialNow on a closed circuit keeps it closed and forgets its failures so far', () => {
    const { breaker } = make(2, 1_000);
    breaker.failure();
    breaker.trialNow();
    expect(breaker.state).toBe('closed');
    breaker.failure();
    expect(breaker.state).toBe('closed');
    expect(breaker.allow()).toBe(true);
  });
});
