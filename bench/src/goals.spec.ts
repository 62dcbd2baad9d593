import { describe, expect, it } from 'vitest';
import { evaluateGoals, renderGoalLines } from './goals.js';
import { mixFigures, scenarioResult, sharedCoreRounds, target } from './testing/results.factory.js';

const byGoal = (results: Parameters<typeof evaluateGoals>[0]) => new Map(evaluateGoals(results).map((g) => [g.source.split(' ')[0], g]));

describe('goals', () => {
  it('judges nothing that did not run', () => {
    const goals = evaluateGoals([]);
    expect(goals).toHaveLength(8);
    expect(goals.every((g) => g.met === null)).toBe(true);
  });

  it('reads each goal from its scenario', () => {
    const goals = byGoal([
      scenarioResult('conversation-read', {
        results: [target('hello (Nest+Fastify)', [100, 100], { role: 'baseline' }), target('GET /v1/conversations/:id (cached, L1 hit)', [70, 60], { ratio: 0.65 })],
      }),
      scenarioResult('ai-cache', {
        results: [
          target('POST /v1/chat/completions, no-cache', [10, 10], { role: 'baseline' }),
          target('hello (Nest+Fastify)', [100, 200], { role: 'baseline' }),
          target('POST /v1/chat/completions, cached answer', [40, 100], { ratio: 5 }),
        ],
      }),
      scenarioResult('single-flight', { data: { burst: 500, prompts: [{ upstreamCalls: 1 }, { upstreamCalls: 2 }] } }),
      scenarioResult('task-throughput', {
        data: { runs: [{ side: 'raw', round: 1, perSec: 1000 }, { side: 'ours', round: 1, perSec: 600 }, { side: 'ours', round: 1, perSec: 400 }, { side: 'raw', round: 1, perSec: 1000 }] },
      }),
      scenarioResult('monitor-overhead', {
        results: [
          target('A, MONITOR=off', [100], { role: 'baseline' }),
          target('A, monitor on', [97], { ratio: 0.97 }),
          target('B, MONITOR=off', [50], { ratio: 0.5 }),
          target('B, monitor on', [46], { ratio: 0.92, ratioTo: 'B, MONITOR=off' }),
        ],
      }),
      scenarioResult('message-page-depth', { data: { ratios: { first: 1.1, deep: 1.2 } } }),
      scenarioResult('stress', { mix: mixFigures('stress', 250) }),
    ]);
    expect(goals.get('conversation-read')).toMatchObject({ met: true });
    // Per round: 40/100, 100/200 → median 0.45.
    expect(goals.get('ai-cache')).toMatchObject({ met: false });
    expect(goals.get('ai-cache')?.value).toContain('0.45×');
    expect(goals.get('single-flight')).toMatchObject({ met: false, value: '1, 2 call(s) for bursts of 500' });
    expect(goals.get('task-throughput')).toMatchObject({ met: true, value: '0.50×' });
    expect(goals.get('monitor-overhead')).toMatchObject({ met: false });
    expect(goals.get('monitor-overhead')?.value).toContain('worst 8.0%');
    expect(goals.get('message-page-depth')).toMatchObject({ met: true });
    expect(goals.get('stress')).toMatchObject({ met: true, value: 'api 240 MB' });
  });

  it('weighs every process pair of the monitor-overhead scenario: per round, each side summed, then the median', () => {
    const goals = byGoal([
      scenarioResult('monitor-overhead', {
        results: [
          // Pair 1 alone would be 10% apart, pair 2 alone 2%: summed, round 1 is 192/200, round 2 180/200, round 3 196/200.
          target('A, MONITOR=off #1', [100, 100, 100], { role: 'baseline' }),
          target('A, monitor on #1', [92, 90, 98], { ratio: 0.92 }),
          target('A, MONITOR=off #2', [100, 100, 100], { ratio: 1 }),
          target('A, monitor on #2', [100, 90, 98], { ratio: 0.98, ratioTo: 'A, MONITOR=off #2' }),
        ],
      }),
    ]);
    // Two unmonitored processes: each is a half of the floor (100 ÷ 100).
    expect(goals.get('monitor-overhead')).toMatchObject({ met: true, value: '4.0% (per route; worst 4.0%; A/A floor 0.0%)' });
  });

  it('prints the A/A floor of the run beside the monitor overhead: the unmonitored side split ABBA', () => {
    const goals = byGoal([
      scenarioResult('monitor-overhead', {
        results: [
          // Started and listed off #1, on #1, on #2, off #2, off #3, on #3, on #4, off #4: the floor is
          // off #1 and #4 (mean 99, 101) ÷ off #2 and #3 (mean 100, 100) → 0.99, 1.01 → median 1.00;
          // the goal, on (mean 91, 93) ÷ off (mean 99.5, 100.5) → 0.915, 0.925 → 8.0%.
          target('A, MONITOR=off #1', [98, 100], { role: 'baseline' }),
          target('A, monitor on #1', [90, 92], { ratio: 0.91, ratioTo: 'A, MONITOR=off #1' }),
          target('A, monitor on #2', [92, 94], { ratio: 0.93, ratioTo: 'A, MONITOR=off #2' }),
          target('A, MONITOR=off #2', [100, 101], { ratio: 1 }),
          target('A, MONITOR=off #3', [100, 99], { ratio: 1 }),
          target('A, monitor on #3', [91, 93], { ratio: 0.91, ratioTo: 'A, MONITOR=off #3' }),
          target('A, monitor on #4', [91, 93], { ratio: 0.91, ratioTo: 'A, MONITOR=off #4' }),
          target('A, MONITOR=off #4', [100, 102], { ratio: 1 }),
        ],
      }),
    ]);
    expect(goals.get('monitor-overhead')).toMatchObject({ met: false, value: '8.0% (per route; worst 8.0%; A/A floor 0.0%)' });
  });

  it('does not judge an A/A run of the monitor-overhead scenario: no side is monitored', () => {
    const goals = byGoal([
      scenarioResult('monitor-overhead', {
        results: [target('A, MONITOR=off #1', [100], { role: 'baseline' }), target('A, A/A twin (MONITOR=off) #1', [80], { ratio: 0.8 })],
      }),
    ]);
    expect(goals.get('monitor-overhead')).toMatchObject({ met: null });
  });

  it('labels the two monitor-overhead lines by their design, and keeps both', () => {
    const goals = byGoal([
      scenarioResult('monitor-overhead', { results: [target('A, MONITOR=off #1', [100], { role: 'baseline' }), target('A, monitor on #1', [98], { ratio: 0.98 })] }),
      scenarioResult('monitor-overhead-concurrent', { data: { rounds: sharedCoreRounds([2, 1, 3]) } }),
    ]);
    expect(goals.get('monitor-overhead')).toMatchObject({ goal: 'monitor overhead ≤ 5% (req/s; pairs measured in turn, ABBA)', met: true });
    expect(goals.get('monitor-overhead-concurrent')?.goal).toBe('monitor overhead ≤ 5% (CPU per request; on and off side by side on one core)');
  });

  it('judges the shared-core monitor overhead by its mean ± 2 standard errors over rounds', () => {
    const judged = (overheads: number[]) => byGoal([scenarioResult('monitor-overhead-concurrent', { data: { rounds: sharedCoreRounds(overheads) } })]).get('monitor-overhead-concurrent');
    // +2, +1, +3%: mean 2%, sd 1%, SE 1% ÷ √3 = 0.58% → at most 3.2%.
    expect(judged([2, 1, 3])).toMatchObject({
      met: true,
      value: 'CPU per request +2.0% (median +2.0%, SE 0.6%); req/s 1.00×; A/A floor: off/off sd 0.0%, on/on sd 0.0%; 3 rounds of 4 processes',
    });
    // 8, 9, 10%: at least 7.8%.
    expect(judged([8, 9, 10])).toMatchObject({ met: false });
    expect(judged([8, 9, 10])?.edge).toBeUndefined();
    // 4, 5, 6%: 3.8% to 6.2%, across the goal.
    expect(judged([4, 5, 6])).toMatchObject({ met: false, edge: true });
    expect(renderGoalLines(evaluateGoals([scenarioResult('monitor-overhead-concurrent', { data: { rounds: sharedCoreRounds([4, 5, 6]) } })])).find((l) => l.startsWith('~ monitor overhead'))).toMatch(/→ at the edge$/);
  });

  it('says why the shared-core monitor overhead was not measured when the scenario skipped', () => {
    const goals = byGoal([scenarioResult('monitor-overhead-concurrent', { notes: ['not measured: taskset (util-linux) is not available'], data: { skipped: 'taskset (util-linux) is not available' } })]);
    expect(goals.get('monitor-overhead-concurrent')).toMatchObject({ met: null, value: 'not measured: taskset (util-linux) is not available' });
  });

  it('prints one line per goal with its verdict', () => {
    const lines = renderGoalLines(evaluateGoals([scenarioResult('stress', { mix: mixFigures('stress', 250, { processes: [{ label: 'api', role: 'all', rssBeforeMb: 1, rssAfterMb: 300, lagIdleP99Ms: 1, lagLoadP99Ms: 1, cpuMs: 1 }] }) })]));
    expect(lines[1]).toContain('goals');
    expect(lines.some((l) => l.startsWith('✗ RSS ≤ 250 MB after stress: api 300 MB') && l.endsWith('NOT met'))).toBe(true);
    expect(lines.filter((l) => l.endsWith('not measured'))).toHaveLength(7);
  });
});
