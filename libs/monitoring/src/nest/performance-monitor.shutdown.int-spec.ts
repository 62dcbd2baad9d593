/**
 * Shutdown: after `app.close()` the monitor leaves nothing running. Proven in a process of its own
 * (`shutdown-child.fixture.ts`), which never calls `process.exit`: it must end by itself once the
 * app is closed. The child also reports the monitor's state after close: capture uninstrumented,
 * explain connection closed, timers cleared, no session left on the database.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@chat/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedItems } from './test-app.fixture.js';

/** How long the child may take to start, work, close and exit before it is deemed hung (it takes a few seconds). */
const CHILD_PATIENCE_MS = 60_000;

/**
 * Node loader hooks that run the lib's TypeScript sources as they are (`./x.js` → `./x.ts`),
 * transpiled by the workspace's TypeScript with decorator metadata, as Vitest does for the tests.
 */
function loaderHooks(typescriptPath: string): string {
  return `
import { readFile, access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
const ts = createRequire(import.meta.url)(${JSON.stringify(typescriptPath)});
export async function resolve(specifier, context, next) {
  if (/^\\.\\.?\\//.test(specifier) && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const url = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
    try {
      await access(fileURLToPath(url));
      return { url: url.href, shortCircuit: true };
    } catch {}
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const fileName = fileURLToPath(url);
  const { outputText } = ts.transpileModule(await readFile(fileName, 'utf8'), {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      useDefineForClassFields: false,
      inlineSourceMap: true,
    },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
`;
}

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Killed by the test after CHILD_PATIENCE_MS. */
  hung: boolean;
  stdout: string;
  stderr: string;
}

function runChild(entry: string, registerUrl: string, env: NodeJS.ProcessEnv): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', registerUrl, entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const watchdog = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, CHILD_PATIENCE_MS);
    child.on('error', (error) => {
      clearTimeout(watchdog);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      resolve({ code, signal, hung, stdout, stderr });
    });
  });
}

let database: TestDatabase;
let dir: string;

beforeAll(async () => {
  database = await createTestDatabase('monitor_nest_shutdown');
  await seedItems(database.url, 100);
  dir = await mkdtemp(join(tmpdir(), 'monitor-shutdown-'));
});

afterAll(async () => {
  await database?.drop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('shutdown', () => {
  it('app.close() leaves nothing running: the process exits on its own, capture uninstrumented, explain connection closed', async () => {
    const hooks = join(dir, 'hooks.mjs');
    await writeFile(hooks, loaderHooks(createRequire(import.meta.url).resolve('typescript')));
    const register = join(dir, 'register.mjs');
    await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const entry = fileURLToPath(new URL('./shutdown-child.fixture.ts', import.meta.url));

    const run = await runChild(entry, pathToFileURL(register).href, { ...process.env, MONITOR_TEST_DATABASE_URL: database.url });
    const output = `exit ${run.code} ${run.signal ?? ''}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
    expect(run.hung, output).toBe(false);
    expect(run.code, output).toBe(0);
    expect(run.stdout, output).not.toContain('STILL RUNNING');

    const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, output).toBeDefined();
    const { before, after } = JSON.parse(line!.slice('RESULT '.length));

    // It was all in use before close.
    expect(before).toMatchObject({ instrumented: true, nPlusOne: ['GET /items/:id/children-one-by-one'], explainSessions: 1 });
    expect(before.planned).toBeGreaterThanOrEqual(1);
    expect(before.sessions).toBeGreaterThanOrEqual(2);

    // And nothing after.
    expect(after).toEqual({
      instrumented: false,
      capturedClients: 0,
      capturedPools: 0,
      recaptured: true,
      explainClosed: 'explain connection closed',
      serviceTimer: true,
      probeTimer: true,
      dataSourceInitialized: false,
      sessions: [],
    });
  }, CHILD_PATIENCE_MS + 15_000);
});
