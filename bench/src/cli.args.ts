import { parseArgs } from 'node:util';
import type { RunOptions, Scenario } from './bench.types.js';

export interface CliChoice {
  options: RunOptions;
  scenarios: Scenario[];
  help: boolean;
  list: boolean;
  /** Also write BENCHMARKS.md and docs/benchmarks.svg at the repository root. */
  writeBenchmarks: boolean;
  /** Run nothing: render the reports again from these JSON reports of earlier runs (their scenarios in order, e.g. a single and a cluster run). */
  from: string[];
}

export const USAGE = `usage: npm run bench -- [--scenario <name>]... [--duration <s>] [--rounds <n>] [--warmup <s>] [--connections <n>]
                      [--topology single|cluster] [--mix-duration <s>] [--repeat-share <0..1>] [--write-benchmarks] [--from <json>] [--list]
  --scenario          run only this scenario (repeatable; default: all)
  --duration          measured seconds per target per round (default 5; monitor-overhead-concurrent: 12)
  --rounds            measured rounds, targets interleaved ABC-CBA (default 2)
  --warmup            warm-up seconds per target, not reported (default 3; 0 skips it)
  --connections       concurrent connections for every target of the ratio scenarios (default 100)
  --topology          load scenarios (light, medium, heavy, stress): one API process (single, default)
                      or two ROLE=api processes sharing the load and one ROLE=worker (cluster)
  --mix-duration      measured seconds of each load scenario's mix (default 30)
  --repeat-share      share of the load scenarios' posted prompts that repeat a popular one (default 0.5)
  --write-benchmarks  also write BENCHMARKS.md and docs/benchmarks.svg (the report of this run)
  --from <json>       run nothing: render the text, Markdown and SVG reports again from an earlier run's JSON
                      (repeatable: the runs' scenarios one after the other, e.g. a single and a cluster run of the load levels)
  --list              list the scenarios and exit`;

function positiveNumber(name: string, value: string | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) throw new Error(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${value}"`);
  return n;
}

export function parseCli(argv: string[], known: readonly Scenario[]): CliChoice {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', multiple: true },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      topology: { type: 'string' },
      'mix-duration': { type: 'string' },
      'repeat-share': { type: 'string' },
      'write-benchmarks': { type: 'boolean', default: false },
      from: { type: 'string', multiple: true },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const names = values.scenario ?? [];
  const unknown = names.filter((n) => !known.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${known.map((s) => s.name).join(', ')}`);
  const connections = positiveNumber('connections', values.connections, 100);
  const rounds = positiveNumber('rounds', values.rounds, 2);
  if (!Number.isInteger(connections) || !Number.isInteger(rounds)) throw new Error('--connections and --rounds must be integers');
  const topology = values.topology ?? 'single';
  if (topology !== 'single' && topology !== 'cluster') throw new Error(`--topology must be single or cluster, got "${topology}"`);
  const repeatShare = positiveNumber('repeat-share', values['repeat-share'], 0.5, true);
  if (repeatShare > 1) throw new Error(`--repeat-share must be between 0 and 1, got "${values['repeat-share']}"`);
  return {
    options: {
      durationSeconds: positiveNumber('duration', values.duration, 5),
      durationSet: values.duration !== undefined,
      warmupSeconds: positiveNumber('warmup', values.warmup, 3, true),
      rounds,
      connections,
      topology,
      mixDurationSeconds: positiveNumber('mix-duration', values['mix-duration'], 30),
      repeatShare,
    },
    scenarios: names.length === 0 ? [...known] : known.filter((s) => names.includes(s.name)),
    help: values.help,
    list: values.list,
    writeBenchmarks: values['write-benchmarks'],
    from: values.from ?? [],
  };
}
