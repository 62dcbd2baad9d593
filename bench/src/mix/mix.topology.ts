import { createUser, startApi, type StartedApi } from '@chat/testing';
import { BENCH_API_ENTRY, BENCH_API_ENV, migratedDatabase } from '../api/api.fixture.js';
import { startUpstreamProcess, type UpstreamProcess } from '../upstream/upstream.process.js';
import { snapshotOf, type ProcessSnapshot } from './process.metrics.js';

export type Topology = 'single' | 'cluster';

export interface DeployedProcess {
  /** `api` (ROLE=all in the single topology), `api-a`, `api-b`, `worker`. */
  label: string;
  role: 'all' | 'api' | 'worker';
  api: StartedApi;
}

export interface Deployment {
  topology: Topology;
  upstream: UpstreamProcess;
  processes: DeployedProcess[];
  /** The processes that take HTTP load (not the worker). */
  httpProcesses: DeployedProcess[];
  databaseUrl: string;
  /** Every process's `/metrics`, in `processes` order. */
  snapshot(): Promise<ProcessSnapshot[]>;
  /** GET on the first HTTP process with its admin token. */
  adminGet(path: string): Promise<unknown>;
  /** A user created through the admin API of the first HTTP process (the key works on every process: same database). */
  createUser(name: string): Promise<{ id: string; authorization: string }>;
  stop(): Promise<void>;
}

export interface DeployOptions {
  topology: Topology;
  /** The fake model's behaviour. */
  upstream: { latencyMs: number; timeToFirstTokenMs: number; tokensPerSecond: number; replyTokens: number };
  /** Attempts run at once per worker process (TASK_CONCURRENCY). */
  taskConcurrency: number;
}

async function adminFetch(api: StartedApi, path: string): Promise<Response> {
  return fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${api.adminToken}` }, signal: AbortSignal.timeout(10_000) });
}

/** Scrapes one process's `/metrics` (admin token). */
export async function scrape(api: StartedApi): Promise<ProcessSnapshot> {
  const res = await adminFetch(api, '/metrics');
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${api.url}/metrics answered ${res.status}: ${text.slice(0, 300)}`);
  return snapshotOf(text);
}

/**
 * The API as deployed for the load scenarios, with the fake model in its own process:
 * - `single`: one process (ROLE=all) serving HTTP and running tasks;
 * - `cluster`: two HTTP processes (ROLE=api) and one worker (ROLE=worker).
 * Both on one fresh PostgreSQL database (migrated by a short-lived process, so that the measured
 * ones start alike) and the shared Redis (L2 cache, BullMQ, invalidation bus, rate-limit store).
 * The rate limit is raised far above what the bench sends, so that its cost is paid but it never answers 429.
 */
export async function deploy(options: DeployOptions): Promise<Deployment> {
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async (): Promise<void> => {
    const errors: string[] = [];
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length > 0) throw new Error(errors.join('\n'));
  };
  try {
    const upstream = await startUpstreamProcess({ ...options.upstream, paceNonStreaming: true });
    stops.push(() => upstream.stop());
    const database = await migratedDatabase();
    stops.push(() => database.drop());
    const roles: Array<{ label: string; role: DeployedProcess['role'] }> =
      options.topology === 'single'
        ? [{ label: 'api', role: 'all' }]
        : [
            { label: 'api-a', role: 'api' },
            { label: 'api-b', role: 'api' },
            { label: 'worker', role: 'worker' },
          ];
    const processes: DeployedProcess[] = [];
    for (const { label, role } of roles) {
      const api = await startApi({
        ...(BENCH_API_ENTRY === undefined ? {} : { entry: BENCH_API_ENTRY }),
        database: { url: database.url },
        redis: true,
        rateLimitPerMinute: 1_000_000,
        env: {
          ROLE: role,
          AI_BASE_URL: upstream.baseUrl,
          AI_MODEL: 'fake-model',
          LOG_LEVEL: 'warn',
          TASK_CONCURRENCY: String(options.taskConcurrency),
          ...BENCH_API_ENV,
        },
      });
      stops.push(async () => {
        const code = await api.stop();
        if (code !== 0) throw new Error(`${label} exited with code ${code} on SIGTERM\n${api.logs().slice(-3000)}`);
      });
      processes.push({ label, role, api });
    }
    const httpProcesses = processes.filter((p) => p.role !== 'worker');
    const first = httpProcesses[0];
    if (first === undefined) throw new Error('no HTTP process');
    return {
      topology: options.topology,
      upstream,
      processes,
      httpProcesses,
      databaseUrl: database.url,
      snapshot: () => Promise.all(processes.map((p) => scrape(p.api))),
      async adminGet(path) {
        const res = await adminFetch(first.api, path);
        const text = await res.text();
        if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 300)}`);
        return JSON.parse(text) as unknown;
      },
      async createUser(name) {
        const user = await createUser(first.api, name);
        return { id: user.id, authorization: `Bearer ${user.apiKey}` };
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}
