import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunOptions, ScenarioResult } from './bench.types.js';
import type { MachineInfo } from './machine.info.js';

/** bench/results/latest.json, next to the sources whatever the working directory. */
export const LATEST_JSON = fileURLToPath(new URL('../results/latest.json', import.meta.url));

export async function writeJsonReport(
  machine: MachineInfo,
  options: RunOptions,
  results: ScenarioResult[],
  path = LATEST_JSON,
  extra: Record<string, unknown> = {},
): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify({ machine, options, ...extra, scenarios: results }, null, 2)}\n`);
  return path;
}
