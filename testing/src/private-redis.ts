import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { registerChild } from './child.registry.js';
import { freePort } from './port.util.js';

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
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/**
 * A `redis-server` of the test's own, on a free port, for tests that stop, hang and restart Redis
 * under running code (the shared server must never be touched). No persistence: a restart is empty.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  /** True while the current server process runs. */
  readonly running: boolean;
  /** SIGKILL (no shutdown, no save), waiting until it has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port and waits until it answers PING. */
  start(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but stops answering (a hung Redis). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
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
    registerChild(proc);
    child = proc;
    const keep = (chunk: string): void => {
      output = (output + chunk).slice(-20_000);
    };
    proc.stdout?.setEncoding('utf8').on('data', keep);
    proc.stderr?.setEncoding('utf8').on('data', keep);
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
    proc.kill('SIGCONT'); // a paused server must not linger
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
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    stop: kill,
    logs: () => output,
  };
}
