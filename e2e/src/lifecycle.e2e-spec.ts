/**
 * Process lifecycle: SIGTERM drains in-flight requests and exits 0; a bad configuration value
 * stops the process at once with exit code 1 and one line naming the variable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, startApi, startFakeUpstream, type FakeUpstream, type StartedApi } from '@chat/testing';
import { createConversation, newUser, postMessage, upstreamCalls, upstreamEnv, waitFor } from './support/api.js';
import { messageInput } from './support/factories.js';
import { http } from './support/http.js';

const ENTRY = fileURLToPath(new URL('../../apps/api/dist/main.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('graceful shutdown', () => {
  let fake: FakeUpstream;
  let api: StartedApi;
  let stopped = false;

  beforeAll(async () => {
    fake = await startFakeUpstream({ model: 'fake-model', latencyMs: 1500 });
    api = await startApi({ env: upstreamEnv(fake, { AI_MAX_RETRIES: '0' }) });
  });

  afterAll(async () => {
    if (!stopped) await api?.stop();
    await fake?.close();
  });

  it('SIGTERM while a slow request is in flight: the request completes with 201 and the process exits 0', async () => {
    const user = await newUser(api);
    const conversation = await createConversation(user.client);
    const input = messageInput();

    const inFlight = postMessage(user.client, conversation.id, input);
    await waitFor(() => upstreamCalls(fake) >= 1, 'the request to reach the upstream');
    const exit = api.stop('SIGTERM');
    stopped = true;

    const res = await inFlight;
    expect(res.status, res.text).toBe(201);
    expect(res.body.assistantMessage.content).toBe(`echo: ${input.content}`);
    expect(await exit).toBe(0);

    // The process is gone: nothing answers on its port any more.
    await expect(http(api.url, { path: '/health/live' })).rejects.toThrow();
  });
});

interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the built API with `env` on top of a minimal valid environment and waits for it to exit. */
async function runUntilExit(env: Record<string, string>, timeoutMs = 30_000): Promise<ExitResult> {
  const port = await freePort();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRY], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: 'memory',
        ADMIN_TOKEN: 'lifecycle-admin-token-0123456789',
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the API did not exit within ${timeoutMs} ms with ${JSON.stringify(env)}; stderr: ${stderr.slice(0, 500)}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** stderr lines, without Node's own runtime warnings. */
function errorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0 && !/^\(node:\d+\)/.test(l) && !l.startsWith('(Use `node --trace-'));
}

describe('bad configuration', () => {
  // Independent processes: run them side by side to keep the file short.
  it.concurrent.for<[string, string]>([
    ['PORT', 'abc'],
    ['RATE_LIMIT_PER_MINUTE', '-1'],
    ['LOG_LEVEL', 'loud'],
    ['ROLE', 'boss'],
    ['AI_BASE_URL', 'not a url'],
    ['TOOL_MAX_ROUNDS', 'x'],
  ])('%s=%j exits 1 with one stderr line naming the variable', async ([name, value], { expect }) => {
    const result = await runUntilExit({ [name]: value });
    expect(result.code, result.stderr).toBe(1);
    const lines = errorLines(result.stderr);
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${name}\\b`));
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
