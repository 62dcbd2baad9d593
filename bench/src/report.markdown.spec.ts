import { describe, expect, it } from 'vitest';
import { evaluateGoals } from './goals.js';
import { renderMarkdown } from './report.markdown.js';
import { machine, mixFigures, options, scenarioResult, sharedCoreRounds, target } from './testing/results.factory.js';

describe('Markdown report', () => {
  const results = [
    scenarioResult('conversation-read', {
      reference: 'hello (Nest+Fastify)',
      connections: 100,
      results: [target('hello (Nest+Fastify)', [20000], { role: 'baseline' }), target('GET /v1/conversations/:id | cached', [12000], { ratio: 0.6 })],
      notes: ['checked: fine'],
    }),
    scenarioResult('single-flight', { notes: ['upstream calls: 1 for 500 requests'], failures: ['2 requests failed'] }),
    scenarioResult('heavy', { mix: mixFigures('heavy', 100) }),
    scenarioResult('monitor-overhead-concurrent', { notes: ['monitor on vs off: …'], data: { rounds: sharedCoreRounds([4, 5, 6]) } }),
  ];
  const text = renderMarkdown({ machine, options, results, goals: evaluateGoals(results), chartPath: 'docs/benchmarks.svg', elapsedSeconds: 600 });

  it('has the chart, the load summary, every scenario and the goals last', () => {
    expect(text).toContain('![throughput and p99 per scenario](docs/benchmarks.svg)');
    expect(text).toContain('## Load levels');
    expect(text).toMatch(/\| heavy \(single\) \| 100 \| 300 \|/);
    expect(text).toContain('### conversation-read');
    expect(text).toContain('### single-flight');
    expect(text).toContain('**FAILED:** 2 requests failed');
    expect(text.indexOf('## Goals')).toBeGreaterThan(text.indexOf('### heavy'));
    expect(text.trim().split('\n').at(-1)).toMatch(/^\| RSS ≤ 250 MB after stress \|/);
  });

  it('escapes pipes in table cells and keeps rows aligned with the header', () => {
    expect(text).toContain('GET /v1/conversations/:id \\| cached');
    for (const line of text.split('\n').filter((l) => l.startsWith('| '))) {
      expect(line.endsWith(' |')).toBe(true);
    }
  });

  it('shows a goal measured at its edge as neither met nor NOT met', () => {
    expect(text).toMatch(/\| monitor overhead ≤ 5% \(CPU per request; on and off side by side on one core\) \| CPU per request \+5\.0% .* \| monitor-overhead-concurrent \| ⚠️ at the edge \|/);
  });

  it('lists per-operation figures of a load level with X-Cache counts', () => {
    expect(text).toContain('| post message (repeated prompt) | 3000 | 100 | 10.0 | 40.0 | 90.0 | 0 | 2500 / 500 |');
    expect(text).toContain('| **all** | 9000 |');
  });
});
