import { BenchRunner } from './bench.runner.js';
import { CleanupStack } from './cleanup.stack.js';
import { parseCli, USAGE } from './cli.args.js';
import { machineInfo } from './machine.info.js';
import { writeJsonReport } from './report.json.js';
import { renderReport } from './report.table.js';
import { SCENARIOS } from './scenarios/scenario.registry.js';

/** Progress goes to stderr so that stdout carries only the report. */
const progress = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

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

  const cleanup = new CleanupStack();
  const interrupt = (signal: NodeJS.Signals): void => {
    progress(`${signal}: stopping what was started`);
    void cleanup.runAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const machine = machineInfo();
  const results = await new BenchRunner(cli.options, cleanup, progress).run(cli.scenarios);
  const teardownErrors = await cleanup.runAll();

  process.stdout.write(`${renderReport(machine, cli.options, results)}\n`);
  for (const error of teardownErrors) process.stdout.write(`FAILED: teardown: ${error}\n`);
  const path = await writeJsonReport(machine, cli.options, results);
  process.stdout.write(`\nraw results: ${path}\n`);
  // A report with failures is not a valid measurement: say so through the exit code.
  return results.some((r) => r.failures.length > 0) || teardownErrors.length > 0 ? 1 : 0;
}

process.exitCode = await main();
