import { readFile } from 'node:fs/promises';
import { BenchRunner } from './bench.runner.js';
import type { RunOptions, ScenarioResult } from './bench.types.js';
import { CleanupStack } from './cleanup.stack.js';
import { parseCli, USAGE } from './cli.args.js';
import { apiBuild, describeBuild } from './api/api.build.js';
import { evaluateGoals, renderGoalLines } from './goals.js';
import { machineInfo, type MachineInfo } from './machine.info.js';
import { writeReports } from './report.files.js';
import { writeJsonReport } from './report.json.js';
import { renderReport } from './report.table.js';
import { SCENARIOS } from './scenarios/scenario.registry.js';

/** Progress goes to stderr so that stdout carries only the report. */
const progress = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

interface SavedRun {
  machine: MachineInfo;
  options: RunOptions;
  scenarios: ScenarioResult[];
  elapsedSeconds?: number;
  apiEntry?: string | null;
}

/**
 * Renders the reports of earlier runs again from their JSON (e.g. after a change to the Markdown or
 * the chart, or to show a single and a cluster run of the load levels in one report): the
 * scenarios of every run in order, the machine and settings of the first.
 */
async function rerender(paths: string[], writeBenchmarks: boolean): Promise<number> {
  const runs = await Promise.all(paths.map(async (p) => JSON.parse(await readFile(p, 'utf8')) as SavedRun));
  const first = runs[0];
  if (first === undefined) return 2;
  const saved: SavedRun = { ...first, elapsedSeconds: runs.reduce((n, r) => n + (r.elapsedSeconds ?? 0), 0) };
  const results = runs.flatMap((r) => r.scenarios);
  const goals = evaluateGoals(results);
  process.stdout.write(`${renderReport(saved.machine, saved.options, results)}\n${renderGoalLines(goals).join('\n')}\n`);
  const written = await writeReports(
    { machine: saved.machine, options: saved.options, results, goals, elapsedSeconds: saved.elapsedSeconds ?? 0, ...(saved.apiEntry ? { apiEntry: saved.apiEntry } : {}) },
    writeBenchmarks,
  );
  process.stdout.write(`\nreports: ${written.join(', ')}\n`);
  return results.some((r) => r.failures.length > 0) ? 1 : 0;
}

async function main(): Promise<number> {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2), SCENARIOS);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (cli.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (cli.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name}: ${s.description}\n`);
    return 0;
  }

  if (cli.from.length > 0) return rerender(cli.from, cli.writeBenchmarks);

  const cleanup = new CleanupStack();
  const interrupt = (signal: NodeJS.Signals): void => {
    progress(`${signal}: stopping what was started`);
    void cleanup.runAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const machine = machineInfo();
  const started = performance.now();
  const results = await new BenchRunner(cli.options, cleanup, progress).run(cli.scenarios);
  const teardownErrors = await cleanup.runAll();
  const elapsedSeconds = (performance.now() - started) / 1000;
  const goals = evaluateGoals(results);

  process.stdout.write(`${renderReport(machine, cli.options, results)}\n`);
  for (const error of teardownErrors) process.stdout.write(`FAILED: teardown: ${error}\n`);
  process.stdout.write(`${renderGoalLines(goals).join('\n')}\n`);
  const build = apiBuild();
  const path = await writeJsonReport(machine, cli.options, results, undefined, { goals, elapsedSeconds, apiBuild: build, apiEntry: describeBuild(build) });
  const written = await writeReports({ machine, options: cli.options, results, goals, elapsedSeconds, apiEntry: describeBuild(build) }, cli.writeBenchmarks);
  process.stdout.write(`\napi measured: ${describeBuild(build)}\nraw results: ${path}\nreports: ${written.join(', ')}\nwhole run: ${Math.round(elapsedSeconds)} s\n`);
  // A report with failures is not a valid measurement: say so through the exit code.
  return results.some((r) => r.failures.length > 0) || teardownErrors.length > 0 ? 1 : 0;
}

process.exitCode = await main();
