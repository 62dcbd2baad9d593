import { spawn, type ChildProcess } from 'node:child_process';
import { PARENT_WATCHDOG_IMPORT, registerChild } from './child.registry.js';
import { LogBuffer } from './log.buffer.js';

export interface SpawnedNode {
  child: ChildProcess;
  logs: LogBuffer;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<number | null>;
  hasExited: () => boolean;
  /** Sends `signal`, escalates to SIGKILL after `killAfterMs`, resolves to the exit code. */
  stop: (signal?: NodeJS.Signals, killAfterMs?: number) => Promise<number | null>;
}

export interface SpawnNodeOptions {
  /**
   * The CPUs the process may run on, as `taskset -c` reads them (`'1'`, `'0-2,4'`): it is started
   * through util-linux's `taskset` (Linux), so that it and every thread it starts stay there, e.g.
   * to share one core between processes under comparison. taskset sets the affinity, then execs
   * node: `child.pid` is node's own pid, whose /proc figures are the process's. Default: no
   * affinity of its own (it inherits ours).
   */
  cpus?: string;
}

/** What `taskset -c` takes: CPU numbers and ranges, comma-separated. */
const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/** Starts `node <entry>` with its output captured and a watchdog that ties its life to ours. */
export function spawnNode(entry: string, env: NodeJS.ProcessEnv, args: string[] = [], options: SpawnNodeOptions = {}): SpawnedNode {
  const nodeArgs = ['--import', PARENT_WATCHDOG_IMPORT, entry, ...args];
  const { cpus } = options;
  if (cpus !== undefined && !CPU_LIST.test(cpus)) throw new Error(`spawnNode: cpus must be a CPU list such as "1" or "0-2,4", got "${cpus}"`);
  // The IPC channel's descriptor (and NODE_CHANNEL_FD) survive taskset's exec, so the watchdog still works.
  const [command, commandArgs] = cpus === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', cpus, process.execPath, ...nodeArgs]];
  const child = spawn(command, commandArgs, {
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  registerChild(child);
  const logs = new LogBuffer();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => logs.append(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => logs.append(chunk));
  // Keep our event loop free of the IPC handle: the test process must be able to exit
  // while a child still runs (the exit hook then kills it).
  child.channel?.unref();

  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      logs.append(`\n[spawn error] ${err.message}\n`);
      done = true;
      resolve(null);
    });
    // 'close' rather than 'exit' so that the last output lines are in the buffer.
    child.once('close', (code) => {
      done = true;
      resolve(code);
    });
  });

  let stopping: Promise<number | null> | undefined;
  const stop = (signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 10_000): Promise<number | null> =>
    (stopping ??= (async () => {
      if (done) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    })());

  return { child, logs, exited, hasExited: () => done, stop };
}
