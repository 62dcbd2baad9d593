import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderMarkdown, type MarkdownContext } from './report.markdown.js';
import { chartPoints, renderChart } from './report.svg.js';

/** bench/results/, next to the sources whatever the working directory (gitignored). */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
/** The repository root (BENCHMARKS.md, docs/). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function write(path: string, text: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return path;
}

const REPRODUCE = `## How to reproduce

Needs PostgreSQL (\`TEST_DATABASE_URL\`, default \`postgres://postgres@127.0.0.1:5432/postgres\`) and Redis
(\`TEST_REDIS_URL\`, default \`redis://127.0.0.1:6379\`); every scenario makes its own databases and
drops them, and writes only its own Redis keys.

\`\`\`
npm run bench                                        # every scenario, about ten minutes on 2 cores
npm run bench -- --scenario heavy                    # one scenario (repeatable)
npm run bench -- --topology cluster                  # load levels on two API processes + one worker
npm run bench -- --write-benchmarks                  # also rewrite this file and docs/benchmarks.svg
# a full run and a cluster run of the load levels in one report, as below:
npm run bench && cp bench/results/latest.json /tmp/single.json
node bench/dist/main.js --scenario light --scenario medium --scenario heavy --scenario stress --topology cluster
node bench/dist/main.js --from /tmp/single.json --from bench/results/latest.json --write-benchmarks
\`\`\`

The report of every run is also in \`bench/results/latest.{json,md,svg}\` (not committed). Figures
are only comparable within one run: every ratio divides by a baseline measured in the same run, on
the same machine, at the same connection count. See bench/README.md for what each scenario does.
`;

/** Writes latest.md and latest.svg beside latest.json; with `benchmarks`, also BENCHMARKS.md and docs/benchmarks.svg. */
export async function writeReports(ctx: Omit<MarkdownContext, 'chartPath'>, benchmarks: boolean, dir = RESULTS_DIR, root = REPO_ROOT): Promise<string[]> {
  const chart = renderChart(chartPoints(ctx.results), `npm run bench — ${ctx.machine.date.slice(0, 16).replace('T', ' ')} UTC, ${ctx.machine.cpus} CPUs`);
  const written = [await write(join(dir, 'latest.svg'), chart), await write(join(dir, 'latest.md'), `# Benchmark run\n\n${renderMarkdown({ ...ctx, chartPath: 'latest.svg' })}`)];
  if (benchmarks) {
    written.push(await write(join(root, 'docs', 'benchmarks.svg'), chart));
    const text = [
      '# Benchmarks',
      '',
      'What `npm run bench` measured in its latest full run here: the API under mixed load at four',
      'levels, next to baselines measured in the same run (a bare Nest-on-Fastify route, a raw `pg`',
      'primary-key SELECT, raw BullMQ), and the figures behind the performance goals. The machine is',
      'a shared 2-core VM: other work ran beside the bench, so absolute figures are rough; ratios to',
      'same-run baselines are what to read.',
      '',
      REPRODUCE,
      '## Latest run',
      '',
      renderMarkdown({ ...ctx, chartPath: 'docs/benchmarks.svg' }),
    ].join('\n');
    written.push(await write(join(root, 'BENCHMARKS.md'), text));
  }
  return written;
}
