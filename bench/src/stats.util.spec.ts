import { describe, expect, it } from 'vitest';
import { abbaHalves, mean, median, medianRatioOfMeans, requestsPerRoundSummed, standardDeviation, standardError } from './stats.util.js';

const side = (...perProcess: number[][]) => perProcess.map((rps) => ({ rounds: rps.map((requestsPerSec) => ({ requestsPerSec })) }));

describe('stats.util', () => {
  it('median of odd and even lengths, NaN for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('sums a side per round over the rounds every process has', () => {
    expect(requestsPerRoundSummed(side([10, 20, 30], [1, 2]))).toEqual([11, 22]);
    expect(requestsPerRoundSummed([])).toEqual([]);
  });

  it('compares sides of different sizes by their mean per process, round by round, then takes the median', () => {
    // Round 1: 90 ÷ mean(100, 80) = 1.0; round 2: 90 ÷ mean(100, 100) = 0.9; round 3: 95 ÷ 100 = 0.95.
    expect(medianRatioOfMeans(side([90, 90, 95]), side([100, 100, 100], [80, 100, 100]))).toBeCloseTo(0.95, 10);
    // Summing instead of averaging would halve it.
    expect(medianRatioOfMeans(side([50]), side([100], [100]))).toBeCloseTo(0.5, 10);
  });

  it('splits a side ABBA, so that neither half holds the earlier places', () => {
    expect(abbaHalves([1, 2, 3, 4, 5, 6, 7, 8])).toEqual([
      [1, 4, 5, 8],
      [2, 3, 6, 7],
    ]);
    expect(abbaHalves([1, 2, 3])).toEqual([[1], [2, 3]]);
    expect(abbaHalves([1, 2])).toEqual([[1], [2]]);
    // Nothing to compare with one process.
    expect(abbaHalves([1])).toEqual([[], [1]]);
  });

  it('mean, sample standard deviation and standard error, by hand', () => {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, over n − 1 = 7 → sd √(32/7) ≈ 2.138; SE = sd ÷ √8 ≈ 0.756.
    const values = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(values)).toBe(5);
    expect(standardDeviation(values)).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(standardError(values)).toBeCloseTo(Math.sqrt(32 / 7) / Math.sqrt(8), 12);
    // 1 and 3: mean 2, sd √2, SE 1.
    expect(standardError([1, 3])).toBeCloseTo(1, 12);
    // Nothing to spread with one value, nothing at all with none.
    expect(standardDeviation([5])).toBeNaN();
    expect(standardError([5])).toBeNaN();
    expect(mean([])).toBeNaN();
  });
});
