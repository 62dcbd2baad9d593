import { describe, expect, it } from 'vitest';
import { TokenBucket, type Scheduler } from './rate-limit.js';

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate, from the injected clock', () => {
    let now = 0;
    const bucket = new TokenBucket(2, 3, () => now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    expect(bucket.msUntilNext()).toBe(500);
    now = 499;
    expect(bucket.tryTake()).toBe(false);
    now = 500;
    expect(bucket.tryTake()).toBe(true);
    now = 100_000; // a long pause refills to capacity only
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
  });

  it('never mints tokens when the clock goes backwards', () => {
    let now = 10_000;
    const bucket = new TokenBucket(1, 1, () => now);
    expect(bucket.tryTake()).toBe(true);
    now = 0;
    expect(bucket.tryTake()).toBe(false);
    now = 10_999;
    expect(bucket.tryTake()).toBe(false);
    now = 11_000;
    expect(bucket.tryTake()).toBe(true);
  });

  it('take() waits on the scheduler', async () => {
    let now = 0;
    const waits: number[] = [];
    const scheduler: Scheduler = {
      schedule: (fn, ms) => {
        waits.push(ms);
        now += ms;
        fn();
        return null;
      },
      cancel: () => undefined,
    };
    const bucket = new TokenBucket(4, 1, () => now);
    await bucket.take(scheduler);
    await bucket.take(scheduler);
    expect(waits).toEqual([250]);
  });

  it('rejects nonsense settings', () => {
    expect(() => new TokenBucket(0, 1, () => 0)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0, () => 0)).toThrow(RangeError);
  });
});
