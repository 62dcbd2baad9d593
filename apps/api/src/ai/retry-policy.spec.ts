import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelayMs, isRetryableStatus, parseRetryAfterMs } from './retry-policy.js';

const JUST_BELOW_ONE = 1 - Number.EPSILON;

describe('backoffDelayMs', () => {
  it.each([
    [0, 0, 0],
    [0, 0.5, 100],
    [0, JUST_BELOW_ONE, 199],
    [1, JUST_BELOW_ONE, 399],
    [2, 0.5, 400],
    [3, JUST_BELOW_ONE, 1_599],
    [4, JUST_BELOW_ONE, 3_199],
    // 200·2^5 = 6400 is over the 4 s cap.
    [5, JUST_BELOW_ONE, 3_999],
    [5, 0.5, 2_000],
    [30, 0.25, 1_000],
    // 2^2000 overflows to Infinity: still capped.
    [2_000, 0.5, 2_000],
  ])('attempt %d with random %d waits %d ms (defaults 200 ms base, 4 s cap)', (attempt, random, expected) => {
    expect(backoffDelayMs(attempt, undefined, undefined, () => random)).toBe(expected);
  });

  it('uses the given base and cap', () => {
    expect(backoffDelayMs(2, 1_000, 60_000, () => 0.5)).toBe(2_000);
    expect(backoffDelayMs(10, 1_000, 60_000, () => 0.5)).toBe(30_000);
    expect(backoffDelayMs(3, 10, 50, () => JUST_BELOW_ONE)).toBe(49);
  });

  it('asks the random source once per delay', () => {
    let calls = 0;
    backoffDelayMs(3, 200, 4_000, () => {
      calls++;
      return 0.3;
    });
    expect(calls).toBe(1);
  });

  it('stays an integer in [0, min(cap, base·2^attempt)) for any random in [0, 1)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 600_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, cap, random) => {
          const delay = backoffDelayMs(attempt, base, cap, () => random);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.min(cap, base * 2 ** attempt));
        },
      ),
    );
  });

  it('falls back to Math.random within the bounds', () => {
    for (let i = 0; i < 20; i++) {
      const delay = backoffDelayMs(1);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(400);
    }
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-11-22T10:00:00.000Z');

  it.each([
    ['0', 0],
    ['5', 5_000],
    ['120', 120_000],
    ['1.5', 1_500],
    ['0.0004', 0],
    [' 3 ', 3_000],
  ])('reads seconds %j as %d ms', (header, expected) => {
    expect(parseRetryAfterMs(header, now)).toBe(expected);
  });

  it.each([
    ['IMF-fixdate', 'Sun, 22 Nov 2026 10:00:05 GMT', 5_000],
    ['IMF-fixdate a minute ahead', 'Sun, 22 Nov 2026 10:01:00 GMT', 60_000],
    ['RFC 850 date', 'Sunday, 22-Nov-26 10:00:30 GMT', 30_000],
    ['date in the past', 'Wed, 21 Oct 2015 07:28:00 GMT', 0],
    ['date equal to now', 'Sun, 22 Nov 2026 10:00:00 GMT', 0],
  ])('reads an HTTP %s relative to now', (_label, header, expected) => {
    expect(parseRetryAfterMs(header, now)).toBe(expected);
  });

  it('reads an asctime date (no zone, so local time)', () => {
    const localNow = new Date(2026, 10, 22, 10, 0, 0).getTime();
    expect(parseRetryAfterMs('Sun Nov 22 10:00:02 2026', localNow)).toBe(2_000);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['a word', 'soon'],
    ['a negative number', '-1'],
    ['a number with a unit', '5 seconds'],
    ['exponent notation', '1e3'],
    ['hexadecimal', '0x10'],
    ['Infinity', 'Infinity'],
    ['a version-like string', '1.5.3'],
    ['a word and a number', 'abc 12'],
    ['a day name and nonsense', 'Sunday, the day after tomorrow'],
  ])('is undefined for %s', (_label, header) => {
    expect(parseRetryAfterMs(header, now)).toBeUndefined();
  });

  it('takes the first of repeated headers', () => {
    expect(parseRetryAfterMs(['7', '8'], now)).toBe(7_000);
    expect(parseRetryAfterMs([], now)).toBeUndefined();
  });

  describe('with the default clock', () => {
    beforeEach(() => {
      vi.useFakeTimers();
      vi.setSystemTime(now);
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('measures dates from Date.now()', () => {
      expect(parseRetryAfterMs('Sun, 22 Nov 2026 10:00:42 GMT')).toBe(42_000);
    });
  });
});

describe('isRetryableStatus', () => {
  it.each([408, 409, 429, 500, 502, 503, 504, 599])('retries %d', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });

  it.each([200, 204, 301, 400, 401, 403, 404, 405, 413, 422, 499])('does not retry %d', (status) => {
    expect(isRetryableStatus(status)).toBe(false);
  });
});
