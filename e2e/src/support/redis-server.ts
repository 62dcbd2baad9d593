/**
 * A private `redis-server` child for tests that stop and restart Redis under a running API
 * (the shared one on 6379 must never be touched). No persistence: a restart starts empty.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@chat/testing';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A normal exit of the test process kills any server still running (afterAll normally stops it first). */
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Sends PING over a raw socket; true when the server answers +PONG. */
export function redisAnswers(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export interface PrivateRedis {
  port: number;
  url: string;
  /** True while the current server process runs. */
  readonly running: boolean;
  /** Kills the server with SIGKILL (no shutdown, no save) and waits until it has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port and waits until it answers PING. */
  start(): Promise<void>;
  /** Kills it for good (idempotent). */
  stop(): Promise<void>;
  /** The server's output so far (for failure messages). */
  logs(): string;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  const start = async (): Promise<void> => {
    if (child !== null) throw new Error('private redis-server is already running');
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(proc);
    child = proc;
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-20_000)));
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-20_000)));
    let hasExited = false;
    exited = new Promise<void>((resolve) => {
      proc.once('error', (err) => {
        output += `\n[spawn error] ${err.message}\n`;
        hasExited = true;
        resolve();
      });
      proc.once('exit', () => {
        hasExited = true;
        resolve();
      });
    });
    const deadline = Date.now() + 10_000;
    while (!(await redisAnswers(port))) {
      if (hasExited || Date.now() > deadline) {
        child = null;
        proc.kill('SIGKILL');
        throw new Error(`redis-server on port ${port} did not start\n--- output ---\n${output}`);
      }
      await sleep(25);
    }
  };

  const kill = async (): Promise<void> => {
    if (child === null) return;
    const proc = child;
    proc.kill('SIGKILL');
    await exited;
    child = null;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== null;
    },
    kill,
    start,
    stop: kill,
    logs: () => output,
  };
}
