import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { allowedCpus, parseCpuList, pinProcess, tasksetAvailable, threadAffinities } from './cpu.affinity.js';

describe('cpu.affinity', () => {
  it('reads CPU lists as the kernel writes them', () => {
    expect(parseCpuList('0')).toEqual([0]);
    expect(parseCpuList('0-1')).toEqual([0, 1]);
    expect(parseCpuList('0-2,4,6-7\n')).toEqual([0, 1, 2, 4, 6, 7]);
    expect(() => parseCpuList('0-1;x')).toThrow(/not a CPU list/);
    expect(() => parseCpuList('')).toThrow(/not a CPU list/);
  });

  it.skipIf(!tasksetAvailable())('pins every thread of a process, then gives back what it had', async () => {
    const mine = allowedCpus(process.pid) ?? [];
    const cpu = mine[0] ?? 0;
    // A node process: several threads (V8's, libuv's) besides the main one.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const pid = child.pid ?? -1;
      await new Promise((r) => setTimeout(r, 200));
      const restore = pinProcess(pid, [cpu]);
      expect(allowedCpus(pid)).toEqual([cpu]);
      expect(threadAffinities(pid)).toEqual([String(cpu)]);
      restore();
      expect(allowedCpus(pid)).toEqual(mine);
      expect(threadAffinities(pid)).toEqual([mine.join(',')]);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reads nothing of a process that does not exist', () => {
    expect(allowedCpus(2 ** 30)).toBeNull();
    expect(threadAffinities(2 ** 30)).toEqual([]);
  });
});
