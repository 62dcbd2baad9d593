import { describe, expect, it } from 'vitest';
import { chartPoints, renderChart } from './report.svg.js';
import { mixFigures, scenarioResult, target } from './testing/results.factory.js';

describe('chart', () => {
  const results = [
    scenarioResult('conversation-read', { results: [target('hello (Nest+Fastify)', [20000], { role: 'baseline' }), target('GET /v1/conversations/:id', [12000])] }),
    scenarioResult('single-flight', { notes: ['a figure scenario has no bar'] }),
    scenarioResult('light', { mix: mixFigures('light', 10) }),
    scenarioResult('stress', { mix: mixFigures('stress', 250) }),
  ];

  it('takes the hello baseline once, each ratio scenario’s first subject and each load level’s total', () => {
    expect(chartPoints(results).map((p) => [p.label, p.kind])).toEqual([
      ['hello baseline', 'baseline'],
      ['conversation-read', 'subject'],
      ['light (10 conn.)', 'load'],
      ['stress (250 conn.)', 'load'],
    ]);
  });

  it('draws a bar and a p99 point per scenario, with escaped labels', () => {
    const points = [...chartPoints(results), { label: 'a <b> & "c"', requestsPerSec: 5, p99Ms: 2000, kind: 'subject' as const }];
    const svg = renderChart(points, 'title & co');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(points.length);
    // Bars, plus the background and three legend squares.
    expect(svg.match(/<rect /g)).toHaveLength(points.length + 4);
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg).toContain('title &amp; co');
    expect(svg).not.toContain('NaN');
    // Log scales span the values: 1, 10, … 100k req/s ticks and ms ticks up to 10k.
    expect(svg).toContain('>100k<');
    expect(svg).toContain('>10k ms<');
  });

  it('draws an empty chart without failing', () => {
    const svg = renderChart([], 'nothing');
    expect(svg).toContain('</svg>');
    expect(svg).not.toContain('NaN');
  });
});
