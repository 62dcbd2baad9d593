import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Preloaded into every spawned child (`node --import <this> entry`). The child gets an
 * IPC channel; when the test process dies by any means, SIGKILL included, the channel
 * closes and the child shuts itself down, so no API outlives the run holding a port or
 * a database. The channel is unref'd so it never keeps the child alive by itself.
 */
export const PARENT_WATCHDOG_IMPORT =
  'data:text/javascript,' +
  encodeURIComponent(
    "if (process.channel) { process.channel.unref(); process.once('disconnect', () => process.kill(process.pid, 'SIGTERM')); }",
  );

/** Tracks a child so that a normal exit of the test process kills it too (the watchdog covers abnormal exits). */
export function registerChild(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}
