import type { RunOptions, ScenarioResult } from './bench.types.js';
import type { MachineInfo } from './machine.info.js';

const COLUMNS = ['target', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'ratio'] as const;

function formatRow(cells: string[], widths: number[]): string {
  // First column left-aligned (names), figures right-aligned so that digits line up.
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
}

export function renderTable(result: ScenarioResult): string {
  const rows = result.results.map((r) => [
    `${r.role === 'baseline' ? '[baseline] ' : ''}${r.target}`,
    r.requestsPerSec.toFixed(0),
    r.p50Ms.toFixed(1),
    r.p99Ms.toFixed(1),
    String(r.non2xx),
    String(r.errors),
    r.ratio === null ? '1.00' : r.ratio.toFixed(2),
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i]?.length ?? 0)));
  return [formatRow([...COLUMNS], widths), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((row) => formatRow(row, widths))].join('\n');
}

export function renderReport(machine: MachineInfo, options: RunOptions, results: ScenarioResult[]): string {
  const lines = [
    `date: ${machine.date}`,
    `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.platform}, load ${machine.loadAverage.join(' ')}`,
    `node: ${machine.node}`,
    `load: ${options.connections} connections per target; ${options.warmupSeconds} s warm-up, then ${options.rounds} interleaved round(s) of ${options.durationSeconds} s`,
  ];
  for (const result of results) {
    const own = result.connections !== undefined && result.connections !== options.connections ? ` [${result.connections} connections]` : '';
    lines.push('', `== ${result.scenario}${own}: ${result.description}`);
    if (result.results.length > 0) {
      const others = result.results.filter((r) => r.ratioTo !== undefined).map((r) => `${r.target} ÷ ${r.ratioTo}`);
      lines.push(
        renderTable(result),
        `figures: medians over rounds; ratio = req/s ÷ req/s of ${result.reference} in the same round${others.length > 0 ? `, except ${others.join('; ')}` : ''}`,
      );
    }
    lines.push(...result.notes);
    for (const failure of result.failures) lines.push(`FAILED: ${failure}`);
  }
  return lines.join('\n');
}
