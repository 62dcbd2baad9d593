/**
 * Reuse from another Nest app: the quotes app (`e2e/src/reuse-app/`) imports `@chat/integration`,
 * `@chat/cache`, `@chat/async` and `@chat/monitoring` by their package names only, configures them
 * with `PerformanceIntegrationModule.forRootAsync`, and gets from that:
 * - a cache (second read cached, loader once, on /metrics),
 * - a task queue (BullMQ on real Redis; the task's effect in its own database),
 * - an alert (a rule of its own, fired by the monitor's evaluation),
 * - `/metrics` (its routes, the cache and queue counters, its own counters),
 * and each subsystem can be turned off with the rest still serving. The app runs in-process on the
 * shared Redis under a key prefix of this run (removed afterwards), and once as a process of its
 * own, which SIGTERM must end cleanly: running tasks finished or given back, nothing left open.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { QueueUnavailableError } from '@chat/async';
import { PerformanceIntegrationService } from '@chat/integration';
import {
  createTestDatabase,
  histogramSeries,
  parsePrometheusText,
  sample,
  spawnNode,
  startPrivateRedis,
  TEST_REDIS_URL,
  type PrometheusFamilies,
  type PrivateRedis,
  type SpawnedNode,
  type TestDatabase,
} from '@chat/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/api.js';
import { ApiClient } from './support/http.js';
import { startQuotesApp, type StartedQuotesApp } from './reuse-app/quotes.app.js';
import { quotesConfigFromEnv, type QuotesConfig } from './reuse-app/quotes.config.js';

const run = `reuse-${randomBytes(5).toString('hex')}`;

/** The quotes app's own rule, as configuration: fires at once (no `for`) when most quote reads miss. */
const COLD_CACHE_RULES = JSON.stringify({
  mode: 'replace',
  rules: [
    {
      name: 'quotes-cache-cold',
      description: 'Most quote reads miss the cache',
      metric: 'cache.hit_rate',
      comparison: '<',
      levels: [{ severity: 'warning', threshold: 0.5, clearThreshold: 0.6 }],
      forMs: 0,
      match: { cache: 'quotes' },
    },
  ],
});

interface QuoteView {
  id: number;
  text: string;
  author: string;
  wordCount: number | null;
}
interface TaskView {
  id: string;
  type: string;
  status: string;
  attempts: number;
  result: unknown;
}

let database: TestDatabase;
let db: pg.Pool;

function config(extra: Record<string, string> = {}): QuotesConfig {
  return quotesConfigFromEnv({
    QUOTES_DATABASE_URL: database.url,
    QUOTES_REDIS_URL: TEST_REDIS_URL,
    QUOTES_KEY_PREFIX: run,
    QUOTES_EVALUATE_EVERY_MS: '100',
    QUOTES_ALERT_RULES: COLD_CACHE_RULES,
    QUOTES_SHUTDOWN_TIMEOUT_MS: '2000',
    ...extra,
  });
}

const redisCli = async (url: string, ...args: string[]): Promise<string> =>
  (await promisify(execFile)('redis-cli', ['-u', url, ...args], { encoding: 'utf8' })).stdout;

/** Every key of this run on the shared Redis (cache entries, BullMQ's keys). */
async function keysOfRun(): Promise<string[]> {
  return (await redisCli(TEST_REDIS_URL, '--scan', '--pattern', `${run}*`)).split('\n').filter(Boolean);
}

async function createQuote(client: ApiClient, text = `a quote of ${randomBytes(3).toString('hex')} words`, author = 'someone'): Promise<QuoteView> {
  const res = await client.post<QuoteView>('/quotes', { text, author });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

async function metrics(client: ApiClient): Promise<PrometheusFamilies> {
  const res = await client.get('/metrics');
  expect(res.status, res.text).toBe(200);
  return parsePrometheusText(res.text);
}

/** A sample's value (0 when the series does not exist yet). */
function value(families: PrometheusFamilies, name: string, labels: Record<string, string> = {}): number {
  return sample(families.get(name), labels)?.value ?? 0;
}

async function taskWhen(client: ApiClient, id: string, done: (task: TaskView) => boolean, what: string): Promise<TaskView> {
  let last: TaskView | undefined;
  await waitFor(async () => {
    const res = await client.get<TaskView>(`/tasks/${id}`);
    expect(res.status, res.text).toBe(200);
    last = res.body;
    return done(res.body);
  }, what);
  return last!;
}

beforeAll(async () => {
  database = await createTestDatabase('reuse_app');
  db = new pg.Pool({ connectionString: database.url, max: 2 });
});

afterAll(async () => {
  await db?.end();
  await database?.drop();
  const keys = await keysOfRun();
  for (let i = 0; i < keys.length; i += 500) await redisCli(TEST_REDIS_URL, 'UNLINK', ...keys.slice(i, i + 500));
  expect(await keysOfRun()).toEqual([]);
});

describe('the quotes app with cache, queue and monitor on (Redis, PostgreSQL)', () => {
  let quotes: StartedQuotesApp;
  let client: ApiClient;
  let integration: PerformanceIntegrationService;

  beforeAll(async () => {
    quotes = await startQuotesApp(config());
    client = new ApiClient(quotes.url, null);
    integration = quotes.app.get(PerformanceIntegrationService);
  });

  afterAll(async () => {
    await quotes?.app.close();
  });

  it('the service it injects has every subsystem the module turned on: all up, on BullMQ and a Redis L2', async () => {
    const res = await client.get<{ status: string; components: Record<string, { status: string; driver?: string; l2?: string }> }>('/health');
    expect(res.status, res.text).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.components).toMatchObject({
      database: { status: 'up' },
      redis: { status: 'up' },
      queue: { status: 'up', driver: 'bullmq' },
      cache: { status: 'up', l2: 'closed' },
      monitor: { status: 'up' },
    });
  });

  it('cache hit: the second read comes from the cache, the loader ran once, and /metrics counts the hit', async () => {
    const quote = await createQuote(client);
    const before = await metrics(client);

    const first = await client.get<{ quote: QuoteView; cached: boolean }>(`/quotes/${quote.id}`);
    const second = await client.get<{ quote: QuoteView; cached: boolean }>(`/quotes/${quote.id}`);
    expect(first.status, first.text).toBe(200);
    expect(second.status, second.text).toBe(200);
    expect(first.body).toMatchObject({ cached: false, quote: { id: quote.id, text: quote.text } });
    expect(second.body).toEqual({ cached: true, quote: first.body.quote });

    const after = await metrics(client);
    expect(value(after, 'quotes_loads_total') - value(before, 'quotes_loads_total'), 'loader runs').toBe(1);
    expect(value(after, 'quotes_reads_total', { cached: 'true' }) - value(before, 'quotes_reads_total', { cached: 'true' })).toBe(1);
    const hits = { cache: 'quotes', result: 'hit', tier: 'l1' };
    const misses = { cache: 'quotes', result: 'miss' };
    expect(value(after, 'cache_operations_total', hits) - value(before, 'cache_operations_total', hits), 'cache hits').toBe(1);
    expect(value(after, 'cache_operations_total', misses) - value(before, 'cache_operations_total', misses), 'cache misses').toBe(1);
    // The service's own figures agree.
    expect(integration.cacheStats()['quotes']?.hits).toBeGreaterThanOrEqual(1);
    expect(integration.cacheStats()['quotes']?.loads).toBeGreaterThanOrEqual(1);
  });

  it('task: submitted, run by a worker through BullMQ, completed with its effect in the database', async () => {
    const quote = await createQuote(client, 'brevity is the soul of wit', 'Polonius');
    await client.get(`/quotes/${quote.id}`); // cached now, without a word count
    const before = await metrics(client);

    const submitted = await client.post<TaskView>(`/quotes/${quote.id}/analyses`, {});
    expect(submitted.status, submitted.text).toBe(202);
    expect(submitted.body).toMatchObject({ type: 'quote.analyse', status: 'pending' });

    const done = await taskWhen(client, submitted.body.id, (t) => t.status === 'completed' || t.status === 'failed', 'the analysis to finish');
    expect(done).toMatchObject({ status: 'completed', attempts: 1, result: { words: 6 } });
    const { rows } = await db.query<{ word_count: number | null }>('SELECT word_count FROM quotes WHERE id = $1', [quote.id]);
    expect(rows).toEqual([{ word_count: 6 }]);
    // The handler dropped the cached quote: the next read sees the analysis.
    const read = await client.get<{ quote: QuoteView; cached: boolean }>(`/quotes/${quote.id}`);
    expect(read.body).toMatchObject({ cached: false, quote: { wordCount: 6 } });

    const after = await metrics(client);
    const completed = { event: 'completed', task_type: 'quote.analyse', priority: 'normal' };
    expect(value(after, 'queue_tasks_total', completed) - value(before, 'queue_tasks_total', completed)).toBe(1);
    // The job went through this run's BullMQ keys on the shared Redis.
    expect((await keysOfRun()).some((key) => key.startsWith(`${run}-bull:quotes-tasks:`))).toBe(true);
    expect(await integration.task(submitted.body.id)).toMatchObject({ status: 'completed' });
  });

  it('alert: mostly cold reads fire the app’s own rule, on the dashboard, in the monitor report and on /metrics', async () => {
    // 20 lookups is the monitor's floor for a hit rate; each of these is a miss.
    for (let i = 0; i < 22; i++) {
      const quote = await createQuote(client);
      const res = await client.get<{ cached: boolean }>(`/quotes/${quote.id}`);
      expect(res.body.cached).toBe(false);
    }

    await waitFor(async () => {
      const dashboard = await integration.dashboard(5);
      return dashboard.alerts.active.some((a) => a.rule === 'quotes-cache-cold' && a.state === 'firing');
    }, 'the quotes-cache-cold alert to fire');

    const dashboard = await integration.dashboard(5);
    const alert = dashboard.alerts.active.find((a) => a.rule === 'quotes-cache-cold');
    expect(alert).toMatchObject({ severity: 'warning', state: 'firing', metric: 'cache.hit_rate', labels: { cache: 'quotes' }, threshold: 0.5 });
    expect(alert!.value).toBeLessThan(0.5);
    expect(integration.monitorReport(5)?.alerts.active).toContainEqual(expect.objectContaining({ rule: 'quotes-cache-cold', state: 'firing' }));
    await waitFor(async () => value(await metrics(client), 'alerts_firing', { severity: 'warning' }) >= 1, 'alerts_firing{severity="warning"} on /metrics');
    // The app's own route shows it too.
    const page = await client.get<{ alerts: { active: Array<{ rule: string }> } }>('/dashboard');
    expect(page.body.alerts.active.map((a) => a.rule)).toContain('quotes-cache-cold');
  });

  it('/metrics: valid exposition with its routes timed, the cache and queue counters and its own counters', async () => {
    const quote = await createQuote(client);
    await client.get(`/quotes/${quote.id}`);
    await client.get(`/quotes/${quote.id}`);
    const families = await metrics(client);

    const durations = families.get('http_server_request_duration_seconds');
    expect(durations?.type).toBe('histogram');
    const series = histogramSeries(durations!);
    const route = (method: string, path: string, status: string) =>
      series.find((s) => s.labels['http_request_method'] === method && s.labels['http_route'] === path && s.labels['http_response_status_code'] === status);
    expect(route('GET', '/quotes/:id', '200')?.count).toBeGreaterThanOrEqual(2);
    expect(route('POST', '/quotes', '201')?.count).toBeGreaterThanOrEqual(1);
    // Route templates only, never raw paths.
    expect(series.some((s) => /\/quotes\/\d/.test(s.labels['http_route'] ?? ''))).toBe(false);

    expect(families.get('cache_operations_total')?.type).toBe('counter');
    expect(value(families, 'cache_operations_total', { cache: 'quotes', result: 'hit', tier: 'l1' })).toBeGreaterThanOrEqual(1);
    expect(families.get('queue_tasks_total')?.type).toBe('counter');
    expect(value(families, 'queue_tasks_total', { event: 'submitted', task_type: 'quote.analyse', priority: 'normal' })).toBeGreaterThanOrEqual(1);
    expect(families.get('queue_tasks_pending')?.type).toBe('gauge');
    expect(families.get('alerts_firing')?.type).toBe('gauge');

    expect(families.get('quotes_loads_total')).toMatchObject({ type: 'counter', help: expect.stringContaining('Quotes read from the database') });
    expect(value(families, 'quotes_reads_total', { cached: 'true' })).toBeGreaterThanOrEqual(1);
    expect(value(families, 'quotes_reads_total', { cached: 'false' })).toBeGreaterThanOrEqual(1);
  });
});

describe('the quotes app with a subsystem turned off', () => {
  it('cache: false: reads still work, every one runs the loader and says cached: false', async () => {
    const quotes = await startQuotesApp(config({ QUOTES_CACHE: 'off' }));
    try {
      const client = new ApiClient(quotes.url, null);
      const quote = await createQuote(client);
      const before = await metrics(client);
      for (let i = 0; i < 3; i++) {
        const res = await client.get<{ quote: QuoteView; cached: boolean }>(`/quotes/${quote.id}`);
        expect(res.status, res.text).toBe(200);
        expect(res.body).toMatchObject({ cached: false, quote: { id: quote.id } });
      }
      const after = await metrics(client);
      expect(value(after, 'quotes_loads_total') - value(before, 'quotes_loads_total'), 'loader runs').toBe(3);
      const health = await client.get<{ components: Record<string, { status: string }> }>('/health');
      expect(health.body.components).toMatchObject({ cache: { status: 'disabled' }, queue: { status: 'up' }, monitor: { status: 'up' } });
    } finally {
      await quotes.app.close();
    }
  });

  it('queue: false: submitting answers 503 with Retry-After (QueueUnavailableError), reads are still cached', async () => {
    const quotes = await startQuotesApp(config({ QUOTES_QUEUE: 'off' }));
    try {
      const client = new ApiClient(quotes.url, null);
      const quote = await createQuote(client);
      const res = await client.post<{ error: string }>(`/quotes/${quote.id}/analyses`, {});
      expect(res.status, res.text).toBe(503);
      expect(res.body.error).toBe('QueueUnavailableError');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      // The service's other task calls refuse the same way: a rejection, never a synchronous throw.
      const integration = quotes.app.get(PerformanceIntegrationService);
      await expect(integration.taskStats()).rejects.toBeInstanceOf(QueueUnavailableError);
      await expect(integration.submitTask('quote.analyse', { quoteId: quote.id })).rejects.toBeInstanceOf(QueueUnavailableError);

      await client.get(`/quotes/${quote.id}`);
      const again = await client.get<{ cached: boolean }>(`/quotes/${quote.id}`);
      expect(again.body.cached).toBe(true);
      const health = await client.get<{ components: Record<string, { status: string }> }>('/health');
      expect(health.body.components).toMatchObject({ cache: { status: 'up' }, queue: { status: 'disabled' }, monitor: { status: 'up' } });
    } finally {
      await quotes.app.close();
    }
  });

  it('monitor: false: no /metrics (404), no monitor report; reads and tasks still work', async () => {
    const quotes = await startQuotesApp(config({ QUOTES_MONITOR: 'off' }));
    try {
      const client = new ApiClient(quotes.url, null);
      expect((await client.get('/metrics')).status).toBe(404);
      const integration = quotes.app.get(PerformanceIntegrationService);
      expect(integration.monitorReport()).toBeNull();

      const quote = await createQuote(client, 'less is more', 'Browning');
      await client.get(`/quotes/${quote.id}`);
      expect((await client.get<{ cached: boolean }>(`/quotes/${quote.id}`)).body.cached).toBe(true);
      const submitted = await client.post<TaskView>(`/quotes/${quote.id}/analyses`, {});
      expect(submitted.status, submitted.text).toBe(202);
      const done = await taskWhen(client, submitted.body.id, (t) => t.status === 'completed' || t.status === 'failed', 'the analysis to finish');
      expect(done).toMatchObject({ status: 'completed', result: { words: 3 } });

      const dashboard = await integration.dashboard(5);
      expect(dashboard.components.monitor.status).toBe('disabled');
      expect(dashboard.requests).toBeNull();
    } finally {
      await quotes.app.close();
    }
  });
});

describe('the quotes app as a process of its own: SIGTERM', () => {
  const ENTRY = fileURLToPath(new URL('./reuse-app/main.ts', import.meta.url));
  const LOADER = pathToFileURL(fileURLToPath(new URL('./reuse-app/child/register.mjs', import.meta.url))).href;
  /** Running tasks get this long to finish once SIGTERM arrives; then they are given back. */
  const DRAIN_MS = 6_000;
  /** SIGTERM to exit, drain included: far more than it takes (about DRAIN_MS), far less than a hang. */
  const EXIT_DEADLINE_MS = 20_000;

  let childDatabase: TestDatabase;
  let redis: PrivateRedis;
  let child: SpawnedNode | undefined;

  beforeAll(async () => {
    [childDatabase, redis] = await Promise.all([createTestDatabase('reuse_app_child'), startPrivateRedis()]);
  });

  afterAll(async () => {
    await child?.stop('SIGKILL');
    await redis?.stop();
    await childDatabase?.drop();
  });

  /** Redis clients other than the redis-cli asking. */
  async function otherClients(): Promise<string[]> {
    return (await redisCli(redis.url, 'CLIENT', 'LIST')).split('\n').filter((line) => line !== '' && !/ cmd=client(\|list)? /.test(line));
  }

  it('drains: the running task finishes or goes back to pending, connections close, and the process exits 0 by itself', async () => {
    child = spawnNode(ENTRY, {
      ...process.env,
      NODE_OPTIONS: `--import ${LOADER}`,
      QUOTES_DATABASE_URL: childDatabase.url,
      QUOTES_REDIS_URL: redis.url,
      QUOTES_KEY_PREFIX: run,
      QUOTES_SHUTDOWN_TIMEOUT_MS: String(DRAIN_MS),
      QUOTES_EXIT_ON_ITS_OWN: '1',
    });
    const spawned = child;
    const logs = (): string => spawned.logs.toString();
    await waitFor(() => /LISTENING (\S+)/.test(logs()) || spawned.hasExited(), 'the quotes app to listen', 30_000);
    const url = /LISTENING (\S+)/.exec(logs())?.[1];
    expect(url, logs()).toBeDefined();
    const client = new ApiClient(url!, null);

    const quote = await createQuote(client, 'all the world is a stage', 'Jaques');
    // `long` outlives the drain deadline and is given back; `short` finishes within it.
    const long = await client.post<TaskView>(`/quotes/${quote.id}/analyses`, { delayMs: 120_000 });
    const short = await client.post<TaskView>(`/quotes/${quote.id}/analyses`, { delayMs: 3_000 });
    expect([long.status, short.status], long.text + short.text).toEqual([202, 202]);
    await taskWhen(client, long.body.id, (t) => t.status === 'running', 'the long task to run');
    await taskWhen(client, short.body.id, (t) => t.status === 'running', 'the short task to run');
    const connected = await otherClients();
    expect(connected.length, connected.join('\n')).toBeGreaterThanOrEqual(3); // cache L2 + bus, BullMQ queue + worker

    const sent = Date.now();
    spawned.child.kill('SIGTERM');
    const exit = await Promise.race([
      spawned.exited.then((code) => ({ code, signal: spawned.child.signalCode })),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), EXIT_DEADLINE_MS).unref()),
    ]);
    const output = `--- child output\n${logs()}`;
    expect(exit, `no exit within ${EXIT_DEADLINE_MS} ms\n${output}`).not.toBeNull();
    expect(exit, output).toEqual({ code: 0, signal: null });
    expect(Date.now() - sent).toBeLessThan(EXIT_DEADLINE_MS);
    // Nest's shutdown ran to its end, and then nothing was left to keep the process alive.
    expect(logs(), output).toMatch(/SHUTDOWN DONE \d+/);
    expect(logs(), output).not.toContain('STILL RUNNING');
    const shutdownDone = Number(/SHUTDOWN DONE (\d+)/.exec(logs())?.[1]);
    const exited = Number(/EXIT 0 (\d+)/.exec(logs())?.[1]);
    expect(exited - shutdownDone, output).toBeLessThan(1_000);

    // Not lost: the short task completed with its effect, the long one is pending again (attempt not counted).
    const pool = new pg.Pool({ connectionString: childDatabase.url, max: 1 });
    try {
      const { rows } = await pool.query<{ id: string; status: string; attempts: number }>('SELECT id, status, attempts FROM tasks ORDER BY created_at');
      expect(rows).toEqual([
        { id: long.body.id, status: 'pending', attempts: 0 },
        { id: short.body.id, status: 'completed', attempts: 1 },
      ]);
      const analysed = await pool.query<{ word_count: number }>('SELECT word_count FROM quotes WHERE id = $1', [quote.id]);
      expect(analysed.rows).toEqual([{ word_count: 6 }]);
    } finally {
      await pool.end();
    }

    // Its Redis connections are gone.
    await waitFor(async () => (await otherClients()).length === 0, 'the child’s Redis connections to close', 5_000).catch(() => undefined);
    expect(await otherClients()).toEqual([]);
  }, 120_000);
});
