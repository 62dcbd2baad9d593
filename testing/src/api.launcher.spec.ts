import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startApi } from './api.launcher.js';

/**
 * A stand-in for apps/api: it prints the environment it got as a log line, serves
 * /health/ready, can be told to crash, and exits 0 on SIGTERM. Only 'embedded' and
 * explicit-URL databases are used here, so no PostgreSQL is needed.
 */
const entry = join(mkdtempSync(join(tmpdir(), 'chat-testing-')), 'fake-api.mjs');
writeFileSync(
  entry,
  `import http from 'node:http';
const e = process.env;
console.log(JSON.stringify({ adminToken: e.ADMIN_TOKEN ?? 'generated-admin-token-0123', env: { DATABASE_URL: e.DATABASE_URL, DATA_DIR: e.DATA_DIR, REDIS_URL: e.REDIS_URL, LOG_LEVEL: e.LOG_LEVEL, RATE_LIMIT_PER_MINUTE: e.RATE_LIMIT_PER_MINUTE, AI_BASE_URL: e.AI_BASE_URL, EXTRA: e.EXTRA } }));
if (e.CRASH) { console.error('Invalid configuration: CRASH set'); process.exit(1); }
http.createServer((req, res) => { res.statusCode = req.url === '/health/ready' ? 200 : 404; res.end(); }).listen(Number(e.PORT), e.HOST);
process.on('SIGTERM', () => process.exit(0));
`,
);

const envOf = (logs: string): Record<string, string | undefined> => JSON.parse(logs.split('\n')[0] ?? '{}').env;

describe('startApi', () => {
  it('starts the entry with the test environment and stops it with SIGTERM', async () => {
    process.env.AI_BASE_URL = 'http://from-the-developer-shell';
    try {
      const api = await startApi({ entry, database: 'embedded', redis: true, env: { EXTRA: 'x', LOG_LEVEL: 'debug' } });
      expect(api.url).toBe(`http://127.0.0.1:${api.port}`);
      expect(api.adminToken.length).toBeGreaterThanOrEqual(16);
      expect(api.databaseUrl).toBeNull();
      expect(envOf(api.logs())).toEqual({
        DATA_DIR: 'memory',
        REDIS_URL: 'redis://127.0.0.1:6379',
        LOG_LEVEL: 'debug',
        RATE_LIMIT_PER_MINUTE: '0',
        EXTRA: 'x',
      });
      expect(await api.stop()).toBe(0);
      expect(await api.stop()).toBe(0);
    } finally {
      delete process.env.AI_BASE_URL;
    }
  });

  it('reads a generated admin token from the log', async () => {
    const api = await startApi({ entry, adminToken: null, database: { url: 'postgres://elsewhere/db' } });
    expect(api.adminToken).toBe('generated-admin-token-0123');
    expect(api.databaseUrl).toBe('postgres://elsewhere/db');
    expect(envOf(api.logs()).DATABASE_URL).toBe('postgres://elsewhere/db');
    expect(await api.stop('SIGKILL')).toBeNull();
  });

  it('rejects with the captured output when the process exits early', async () => {
    await expect(startApi({ entry, database: 'embedded', env: { CRASH: '1' } })).rejects.toThrow(/exited with code 1[\s\S]*Invalid configuration: CRASH set/);
  });

  it.skipIf(process.platform !== 'linux' || spawnSync('taskset', ['--version']).status !== 0)('runs the API on the CPUs it is given', async () => {
    const allowed = (pid: number | 'self'): string | undefined => /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    const cpu = (allowed('self') ?? '0').split(/[,-]/)[0] ?? '0';
    const api = await startApi({ entry, database: 'embedded', cpus: cpu });
    try {
      expect(allowed(api.pid)).toBe(cpu);
    } finally {
      expect(await api.stop()).toBe(0);
    }
  });

  it('rejects when the entry does not exist', async () => {
    await expect(startApi({ entry: join(tmpdir(), 'no-such-entry.js'), database: 'embedded' })).rejects.toThrow(/Cannot find module/);
  });
});
