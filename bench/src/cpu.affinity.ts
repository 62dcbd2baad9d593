import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU affinity on Linux: which cores a process may run on, read from /proc and set with
 * util-linux's `taskset`. For scenarios that share one core between the processes they compare
 * and keep their own load generators off it.
 */

/** The CPU numbers of a list as the kernel and taskset write it: `'0-2,4'` → `[0, 1, 2, 4]`. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new Error(`not a CPU list: "${text}"`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return cpus;
}

function cpusAllowedIn(statusPath: string): number[] | null {
  let status: string;
  try {
    status = readFileSync(statusPath, 'utf8');
  } catch {
    return null;
  }
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
  return list === undefined ? null : parseCpuList(list);
}

/** The CPUs process `pid` (its main thread) may run on; null where there is no /proc (not Linux, or the process is gone). */
export function allowedCpus(pid: number): number[] | null {
  return cpusAllowedIn(`/proc/${pid}/status`);
}

/** The CPUs each thread of `pid` may run on, as lists (`'1'`, `'0,1'`), distinct; empty without /proc. */
export function threadAffinities(pid: number): string[] {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const lists = threads.flatMap((tid) => {
    const cpus = cpusAllowedIn(`/proc/${pid}/task/${tid}/status`);
    return cpus === null ? [] : [cpus.join(',')];
  });
  return [...new Set(lists)];
}

/** Whether `taskset` can be run here. */
export function tasksetAvailable(): boolean {
  return process.platform === 'linux' && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Confines every thread of process `pid` to `cpus` (`taskset -a -c -p`: `-a`, because a node
 * process runs V8's and libuv's threads beside its main one, and threads started later inherit
 * the affinity of the thread that starts them). Returns a function that gives every thread back
 * the CPUs the main thread had before.
 */
export function pinProcess(pid: number, cpus: readonly number[]): () => void {
  const before = allowedCpus(pid);
  if (before === null) throw new Error(`no /proc/${pid}/status: cannot read the affinity of process ${pid}`);
  setAffinity(pid, cpus);
  return () => setAffinity(pid, before);
}

function setAffinity(pid: number, cpus: readonly number[]): void {
  const result = spawnSync('taskset', ['-a', '-c', '-p', cpus.join(','), String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`taskset -a -c -p ${cpus.join(',')} ${pid} failed: ${result.error?.message ?? result.stderr.trim()}`);
}
