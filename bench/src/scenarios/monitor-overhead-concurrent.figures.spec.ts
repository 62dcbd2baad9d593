import { describe, expect, it } from 'vitest';
import { describeOverhead, overheadVerdict, roundFigures, summariseRounds, type SharedCoreProcess, type SharedCoreRound } from './monitor-overhead-concurrent.figures.js';

/** A process measured for 10 s: `cpuMs` of CPU for `requests` requests. */
const proc = (side: 'on' | 'off', started: number, cpuMs: number, requests: number): SharedCoreProcess => ({ side, started, pid: 1000 + started, requests, seconds: 10, cpuMs });

// Hand-computed fixture, CPU µs per request = cpuMs × 1000 ÷ requests, req/s = requests ÷ 10.
const rounds: SharedCoreRound[] = [
  // off 100, on 105, on 110 (at 1,800 req/s), off 100 → on/off 107.5 ÷ 100 = 1.075; req/s 1,900 ÷ 2,000 = 0.95;
  // A/A off 100 ÷ 100 = 1, on 105 ÷ 110 = 1 − 1/22.
  { round: 1, processes: [proc('off', 1, 2000, 20000), proc('on', 2, 2100, 20000), proc('on', 3, 1980, 18000), proc('off', 4, 2000, 20000)] },
  // Started in the rotated order on, on, off, off: 103, 103 vs 100, 100 → 1.03; req/s 1; A/A 1 and 1.
  { round: 2, processes: [proc('on', 1, 2060, 20000), proc('on', 2, 2060, 20000), proc('off', 3, 2000, 20000), proc('off', 4, 2000, 20000)] },
  // off 101 (started first), off 99, on 105, 105 → 105 ÷ 100 = 1.05; req/s 1; A/A off 101 ÷ 99 = 1 + 2/99, on 1.
  { round: 3, processes: [proc('off', 1, 2020, 20000), proc('off', 2, 1980, 20000), proc('on', 3, 2100, 20000), proc('on', 4, 2100, 20000)] },
];

describe('monitor-overhead-concurrent figures', () => {
  it('compares a round by the mean CPU per request of each side, and each side with itself (first started ÷ second)', () => {
    const f = roundFigures(rounds[0]);
    expect(f.cpuRatio).toBeCloseTo(1.075, 12);
    expect(f.rpsRatio).toBeCloseTo(0.95, 12);
    expect(f.aaOff).toBeCloseTo(1, 12);
    expect(f.aaOn).toBeCloseTo(105 / 110, 12);
    // The order in the list does not matter, only the start order.
    expect(roundFigures({ round: 3, processes: [...rounds[2].processes].reverse() }).aaOff).toBeCloseTo(101 / 99, 12);
    // One process on a side: no A/A on it.
    expect(roundFigures({ round: 9, processes: [proc('on', 1, 2100, 20000), proc('off', 2, 2000, 20000)] }).aaOn).toBeNaN();
  });

  it('summarises the rounds: mean, median, standard error, req/s, A/A spread', () => {
    const s = summariseRounds(rounds);
    // Overheads 0.075, 0.03, 0.05: mean 0.155 ÷ 3; deviations 0.02333, −0.02167, −0.00167 → squares sum 0.00101667, ÷ 2 → sd 0.022546; SE sd ÷ √3.
    expect(s.rounds).toBe(3);
    expect(s.perRound.map((x) => Number(x.toFixed(12)))).toEqual([0.075, 0.03, 0.05]);
    expect(s.mean).toBeCloseTo(0.155 / 3, 12);
    expect(s.median).toBeCloseTo(0.05, 12);
    expect(s.sd).toBeCloseTo(Math.sqrt(0.00101666666667 / 2), 9);
    expect(s.se).toBeCloseTo(Math.sqrt(0.00101666666667 / 2) / Math.sqrt(3), 9);
    expect(s.rpsRatio).toBeCloseTo((0.95 + 1 + 1) / 3, 12);
    // A/A − 1 per round: off 0, 0, 2/99 → sd (2/99) × sd(0, 0, 1) = (2/99) ÷ √3; on −1/22, 0, 0 → (1/22) ÷ √3.
    expect(s.aaOffSd).toBeCloseTo(2 / 99 / Math.sqrt(3), 12);
    expect(s.aaOnSd).toBeCloseTo(1 / 22 / Math.sqrt(3), 12);
    // 5.17% ± 2 × 1.30%: 2.6% to 7.8%, across 5%.
    expect(s.verdict).toBe('at the edge');
    expect(describeOverhead(s)).toBe('CPU per request +5.2% (median +5.0%, SE 1.3%); req/s 0.98×; A/A floor: off/off sd 1.2%, on/on sd 2.6%');
  });

  it('judges the goal by the mean ± 2 standard errors', () => {
    expect(overheadVerdict(0.02, 0.01)).toBe('met'); // at most 4%
    expect(overheadVerdict(-0.01, 0.01)).toBe('met'); // a "faster" monitor is noise, and within the goal
    expect(overheadVerdict(0.09, 0.01)).toBe('NOT met'); // at least 7%
    expect(overheadVerdict(0.05, 0.01)).toBe('at the edge'); // 3% to 7%
    expect(overheadVerdict(0.03, 0.015)).toBe('at the edge'); // up to 6%
    expect(overheadVerdict(0.07, 0.015)).toBe('at the edge'); // 4% to 10%
    expect(overheadVerdict(0.03, Number.NaN)).toBe('at the edge'); // no standard error: nothing to judge with
  });

  it('does not judge a single round: it has no standard error', () => {
    const s = summariseRounds(rounds.slice(0, 1));
    expect(s.se).toBeNaN();
    expect(s.verdict).toBe('at the edge');
    expect(describeOverhead(s)).toBe('CPU per request +7.5% (median +7.5%, SE –); req/s 0.95×; A/A floor: off/off sd –, on/on sd –');
  });
});
