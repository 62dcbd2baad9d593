import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { PARENT_WATCHDOG_IMPORT } from './child.registry.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('parent watchdog', () => {
  it('ends a child whose parent was SIGKILLed', async () => {
    // parent: spawns a never-ending child with the watchdog, prints its pid, waits forever.
    const parentScript = `
      const { spawn } = require('node:child_process');
      const child = spawn(process.execPath, ['--import', process.env.WATCHDOG, '-e', 'setInterval(() => {}, 1000)'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      console.log(child.pid);
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', parentScript], { env: { ...process.env, WATCHDOG: PARENT_WATCHDOG_IMPORT } });
    const childPid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    await sleep(200);
    expect(isAlive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    for (let i = 0; i < 50 && isAlive(childPid); i++) await sleep(100);
    expect(isAlive(childPid)).toBe(false);
  });
});
