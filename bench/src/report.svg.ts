import type { ScenarioResult } from './bench.types.js';

/** One bar of the chart: a scenario's headline throughput, and its p99 latency as a point. */
export interface ChartPoint {
  label: string;
  requestsPerSec: number;
  p99Ms: number;
  /** Colours the bar: a baseline, a ratio scenario's subject, or a load level of the mix. */
  kind: 'baseline' | 'subject' | 'load';
}

/** The headline of every scenario that has a throughput: the reference baseline once, each ratio scenario's first subject, each load level's mix total. */
export function chartPoints(results: readonly ScenarioResult[]): ChartPoint[] {
  const points: ChartPoint[] = [];
  const topologies = new Set(results.flatMap((r) => (r.mix ? [r.mix.topology] : [])));
  const hello = results.flatMap((r) => r.results).find((t) => t.target.startsWith('hello'));
  if (hello) points.push({ label: 'hello baseline', requestsPerSec: hello.requestsPerSec, p99Ms: hello.p99Ms, kind: 'baseline' });
  for (const r of results) {
    if (r.mix) {
      points.push({ label: `${r.scenario} (${r.mix.connections} conn.${topologies.size > 1 ? `, ${r.mix.topology}` : ''})`, requestsPerSec: r.mix.total.requestsPerSec, p99Ms: r.mix.total.p99Ms, kind: 'load' });
      continue;
    }
    const subject = r.results.find((t) => t.role === 'subject');
    if (subject) points.push({ label: r.scenario, requestsPerSec: subject.requestsPerSec, p99Ms: subject.p99Ms, kind: 'subject' });
  }
  return points.filter((p) => Number.isFinite(p.requestsPerSec) && p.requestsPerSec > 0);
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Powers of ten spanning [min, max] (at least two). */
function decades(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(min, 1e-3)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(max, 1e-3))));
  return Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
}

function compact(n: number): string {
  if (n >= 1000) return `${(n / 1000).toFixed(n >= 10_000 || n % 1000 === 0 ? 0 : 1)}k`;
  if (n >= 10 || Number.isInteger(n)) return n.toFixed(0);
  return n.toFixed(n >= 1 ? 1 : 2);
}

const COLOURS = { baseline: '#9aa5b1', subject: '#3b82f6', load: '#10b981' } as const;
const P99_COLOUR = '#dc2626';

/**
 * A self-contained SVG: bars of req/s (left axis, log scale) and p99 latency points joined by a line
 * (right axis, log scale), one column per scenario. Log scales, since cached reads and the mixed
 * load (model calls included) differ by orders of magnitude.
 */
export function renderChart(points: readonly ChartPoint[], title: string): string {
  // Room on the right for the p99 axis and for the last column's slanted label.
  const width = Math.max(640, 70 + points.length * 78 + 170);
  const height = 420;
  const left = 70;
  const right = width - 170;
  const top = 50;
  const bottom = 300;
  const rpsTicks = decades(Math.min(...points.map((p) => p.requestsPerSec), 10), Math.max(...points.map((p) => p.requestsPerSec), 100));
  const p99Ticks = decades(Math.min(...points.map((p) => p.p99Ms), 1), Math.max(...points.map((p) => p.p99Ms), 10));
  const scale = (ticks: number[]) => {
    const lo = Math.log10(ticks[0] ?? 1);
    const hi = Math.log10(ticks.at(-1) ?? 10);
    return (v: number): number => bottom - ((Math.log10(Math.max(v, ticks[0] ?? 1)) - lo) / (hi - lo)) * (bottom - top);
  };
  const yRps = scale(rpsTicks);
  const yP99 = scale(p99Ticks);
  const column = (right - left) / Math.max(points.length, 1);
  const barWidth = Math.min(44, column * 0.6);
  const cx = (i: number): number => left + column * (i + 0.5);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="600">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="38" text-anchor="middle" fill="#555">bars: requests/s (left, log scale) · red points: p99 latency in ms (right, log scale)</text>`,
  ];
  for (const t of rpsTicks) {
    const y = yRps(t).toFixed(1);
    out.push(`<line x1="${left}" x2="${right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`, `<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#374151">${compact(t)}</text>`);
  }
  for (const t of p99Ticks) {
    const y = yP99(t).toFixed(1);
    out.push(`<text x="${right + 6}" y="${y}" dominant-baseline="middle" fill="${P99_COLOUR}">${compact(t)} ms</text>`);
  }
  out.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#374151"/>`,
    `<line x1="${right}" x2="${right}" y1="${top}" y2="${bottom}" stroke="${P99_COLOUR}"/>`,
    `<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#374151"/>`,
    `<text transform="translate(16 ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#374151">requests/s</text>`,
    `<text transform="translate(${right + 62} ${(top + bottom) / 2}) rotate(90)" text-anchor="middle" fill="${P99_COLOUR}">p99 latency (ms)</text>`,
  );
  points.forEach((p, i) => {
    const y = yRps(p.requestsPerSec);
    const x = cx(i) - barWidth / 2;
    out.push(
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(bottom - y).toFixed(1)}" fill="${COLOURS[p.kind]}"><title>${escapeXml(`${p.label}: ${p.requestsPerSec.toFixed(0)} req/s, p99 ${p.p99Ms.toFixed(1)} ms`)}</title></rect>`,
      `<text x="${cx(i).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" fill="#111827">${compact(p.requestsPerSec)}</text>`,
      `<text transform="translate(${cx(i).toFixed(1)} ${bottom + 10}) rotate(35)" fill="#111827">${escapeXml(p.label)}</text>`,
    );
  });
  const line = points.map((p, i) => `${cx(i).toFixed(1)},${yP99(p.p99Ms).toFixed(1)}`).join(' ');
  if (points.length > 1) out.push(`<polyline points="${line}" fill="none" stroke="${P99_COLOUR}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
  points.forEach((p, i) => {
    out.push(`<circle cx="${cx(i).toFixed(1)}" cy="${yP99(p.p99Ms).toFixed(1)}" r="4" fill="${P99_COLOUR}"><title>${escapeXml(`${p.label}: p99 ${p.p99Ms.toFixed(1)} ms`)}</title></circle>`);
  });
  const legend: Array<[string, string]> = [
    [COLOURS.baseline, 'baseline'],
    [COLOURS.subject, 'ratio scenario (first subject)'],
    [COLOURS.load, 'load level (mixed operations, total)'],
  ];
  legend.forEach(([colour, text], i) => {
    const x = left + i * 200;
    out.push(`<rect x="${x}" y="${height - 18}" width="10" height="10" fill="${colour}"/>`, `<text x="${x + 14}" y="${height - 9}" fill="#374151">${escapeXml(text)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
