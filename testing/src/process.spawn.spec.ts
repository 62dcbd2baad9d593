import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnNode } from './process.spawn.js';

/** Prints what it sees of itself (pid, allowed CPUs, whether the watchdog's IPC channel is there), then idles until SIGTERM. */
const entry = join(mkdtempSync(join(tmpdir(), 'chat-testing-')), 'report-self.mjs');
writeFileSync(
  entry,
  `import { readFileSync } from 'node:fs';
// The handler first: a SIGTERM may follow the line below at once.
const timer = setInterval(() => {}, 1000);
process.on('SIGTERM', () => { clearInterval(timer); process.exit(0); });
const cpus = /Cpus_allowed_list:\\s*(\\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
console.log(JSON.stringify({ pid: process.pid, cpus, channel: process.channel !== undefined }));
`,
);

const cpusAllowed = (statusPath: string): string | undefined => /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(statusPath, 'utf8'))?.[1];
const hasTaskset = process.platform === 'linux' && spawnSync('taskset', ['--version']).status === 0;

async function firstLine(proc: ReturnType<typeof spawnNode>): Promise<string> {
  for (let i = 0; i < 100 && !proc.logs.toString().includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
  return proc.logs.toString().split('\n')[0] ?? '';
}

describe('spawnNode', () => {
  it.skipIf(!hasTaskset)('pins the process and all its threads with cpus, and its pid is node itself, not taskset', async () => {
    // One CPU we may use: the first of ours (CPU 0 may be outside a container's set).
    const cpu = (cpusAllowed('/proc/self/status') ?? '0').split(/[,-]/)[0] ?? '0';
    const proc = spawnNode(entry, { ...process.env }, [], { cpus: cpu });
    try {
      const seen = JSON.parse(await firstLine(proc)) as { pid: number; cpus: string; channel: boolean };
      expect(seen).toEqual({ pid: proc.child.pid, cpus: cpu, channel: true });
      // taskset exec'd node: the pid's program is node, and every thread of it (V8's, libuv's) is pinned.
      const pid = proc.child.pid ?? -1;
      expect(readlinkSync(`/proc/${pid}/exe`)).toBe(realpathSync(process.execPath));
      const threads = readdirSync(`/proc/${pid}/task`);
      expect(threads.length).toBeGreaterThan(1);
      for (const tid of threads) expect(cpusAllowed(`/proc/${pid}/task/${tid}/status`)).toBe(cpu);
    } finally {
      expect(await proc.stop()).toBe(0);
    }
  });

  it('starts node directly without cpus', async () => {
    const proc = spawnNode(entry, { ...process.env });
    try {
      const seen = JSON.parse(await firstLine(proc)) as { pid: number; channel: boolean };
      expect(seen).toMatchObject({ pid: proc.child.pid, channel: true });
    } finally {
      expect(await proc.stop()).toBe(0);
    }
  });

  it('refuses a CPU list taskset would not read', () => {
    expect(() => spawnNode(entry, {}, [], { cpus: '1; rm -rf /' })).toThrow(/cpus must be a CPU list/);
    expect(() => spawnNode(entry, {}, [], { cpus: '' })).toThrow(/cpus must be a CPU list/);
  });
});
