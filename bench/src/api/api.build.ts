import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { DEFAULT_API_ENTRY } from '@chat/testing';
import { BENCH_API_ENTRY, BENCH_API_ENV } from './api.fixture.js';

/** Which build of the API a run measured: the commit of the checkout it was built in, and whether apps/ or libs/ had uncommitted changes. */
export interface ApiBuild {
  entry: string;
  /** Short commit hash; null outside a git checkout. */
  commit: string | null;
  /** Uncommitted changes under apps/ or libs/ of that checkout; null when unknown. */
  dirty: boolean | null;
}

function git(cwd: string, args: string[]): string | null {
  try {
    return execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function apiBuild(): ApiBuild {
  const entry = BENCH_API_ENTRY ?? DEFAULT_API_ENTRY;
  const root = git(dirname(entry), ['rev-parse', '--show-toplevel']);
  if (root === null) return { entry, commit: null, dirty: null };
  const status = git(root, ['status', '--porcelain', '--', 'apps', 'libs']);
  return { entry, commit: git(root, ['rev-parse', '--short', 'HEAD']), dirty: status === null ? null : status.length > 0 };
}

export function describeBuild(build: ApiBuild): string {
  if (build.commit === null) return build.entry;
  return `commit ${build.commit}${build.dirty ? ' with uncommitted changes in apps/ or libs/' : ''}${BENCH_API_ENTRY === undefined ? '' : ' (built in a separate checkout, BENCH_API_ENTRY)'}${
    Object.keys(BENCH_API_ENV).length === 0 ? '' : `, with ${Object.entries(BENCH_API_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}`
  }`;
}
