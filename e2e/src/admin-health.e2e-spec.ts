/**
 * `GET /v1/admin/health`, the dashboard's JSON (api-contract.md, "Dashboard JSON"), on the running
 * API: real figures from the cache, the queue and the monitor after real traffic, the same figures
 * `/metrics` shows, a firing alert, and what it says with the monitor off.
 */
import { histogramSeries, parsePrometheusText, startApi, startFakeUpstream, type FakeUpstream, type StartedApi } from '@chat/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, anonymousClient, createConversation, newUser, say, upstreamEnv, waitFor, type TestUser } from './support/api.js';
import { acceptAsync, waitForCompleted, waitForIdleQueue } from './support/tasks.js';

interface CacheStatsBody {
  hits: number;
  misses: number;
  hitRate: number;
  l1: { hits: number; size: number; bytes: number };
  l2: { hits: number; errors: number };
  evictions: number;
  stampedesCoalesced: number;
}

interface AlertBody {
  id: string;
  rule: string;
  severity: 'info' | 'warning' | 'critical';
  state: 'pending' | 'firing' | 'resolved';
  value: number;
  threshold: number;
  since: string;
  resolvedAt: string | null;
}

interface HealthBody {
  status: 'ok' | 'degraded' | 'down';
  uptimeSeconds: number;
  version: string;
  components: {
    database: { status: string; latencyMs: number | null };
    redis: { status: string; latencyMs: number | null } | null;
    queue: { status: string; driver: string | null };
  };
  caches: { conversation: CacheStatsBody | null; aiResponse: CacheStatsBody | null; toolResult: CacheStatsBody | null };
  queue: {
    waiting: number;
    active: number;
    completed: number;
    failed: number;
    delayed: number;
    byPriority: Record<string, { completed: number }>;
    throughputPerMin: number;
    p95WaitMs: number | null;
    p95RunMs: number | null;
  } | null;
  requests: {
    total: number;
    ratePerSec: number;
    errorRate: number;
    p50Ms: number | null;
    p95Ms: number | null;
    p99Ms: number | null;
    byRoute: Array<{ method: string; route: string; count: number }>;
  } | null;
  database: { queries: number; p95Ms: number | null; slowQueries: unknown[]; nPlusOne: unknown[]; indexSuggestions: unknown[] } | null;
  alerts: { active: AlertBody[]; recent: AlertBody[] };
  process: { rssBytes: number; heapUsedBytes: number; eventLoopLagP99Ms: number | null; cpuPercent: number | null };
  score: { value: number; grade: string; findings: Array<{ rule: string; penalty: number }>; recommendations: string[] };
  series: { minutes: number[]; requests: { count: number[] } } | null;
}

describe('GET /v1/admin/health on ROLE=all with Redis and BullMQ', () => {
  let upstream: FakeUpstream;
  let api: StartedApi;
  let user: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    api = await startApi({ redis: true, env: upstreamEnv(upstream) });
    user = await newUser(api);
    conversationId = (await createConversation(user.client)).id;
    for (let i = 0; i < 3; i++) expect((await user.client.get(`/v1/conversations/${conversationId}`)).status).toBe(200);
    await say(user.client, conversationId, { content: 'hello there' });
    const { task } = await acceptAsync(user.client, conversationId, { content: 'and again, later' });
    await waitForCompleted(user.client, task.id);
    // Tool results are shared across users (and Redis across test files): an expression of this run only.
    const expression = `${Date.now() % 1_000_000}*7`;
    for (let i = 0; i < 2; i++) {
      const res = await user.client.post('/v1/tools/calculator/invoke', { arguments: { expression } });
      expect(res.status).toBe(200);
    }
    expect((await user.client.get('/no/such/route')).status).toBe(404);
    await waitForIdleQueue(adminClient(api));
  });

  afterAll(async () => {
    await api?.stop();
    await upstream?.close();
  });

  it('answers the admin token only, and checks its window', async () => {
    expect((await anonymousClient(api).get('/v1/admin/health')).status).toBe(401);
    expect((await user.client.get('/v1/admin/health')).status).toBe(403);
    expect((await adminClient(api).get('/v1/admin/health', { minutes: 0 })).status).toBe(400);
    expect((await adminClient(api).get('/v1/admin/health', { minutes: 1_441 })).status).toBe(400);
    const five = await adminClient(api).get<HealthBody>('/v1/admin/health', { minutes: 5 });
    expect(five.status).toBe(200);
    expect(five.body.series?.minutes).toHaveLength(5);
  });

  it('reports every component up, with measured ping latencies', async () => {
    const { body } = await adminClient(api).get<HealthBody>('/v1/admin/health');
    expect(body.status).toBe('ok');
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(body.components.database.status).toBe('up');
    expect(body.components.database.latencyMs).toBeGreaterThan(0);
    expect(body.components.redis?.status).toBe('up');
    expect(body.components.redis?.latencyMs).toBeGreaterThan(0);
    expect(body.components.queue).toEqual({ status: 'up', driver: 'bullmq' });
  });

  it('shows the traffic just made: cache hits, tasks, requests, queries, process', async () => {
    const { body } = await adminClient(api).get<HealthBody>('/v1/admin/health');
    // Two of the three reads were hits (the first loaded the row); the calculator's second call too.
    expect(body.caches.conversation?.hits).toBeGreaterThanOrEqual(2);
    expect(body.caches.conversation?.hitRate).toBeGreaterThan(0);
    expect(body.caches.toolResult?.hits).toBe(1);
    expect(body.caches.toolResult?.misses).toBe(1);
    expect(body.caches.aiResponse?.misses).toBeGreaterThanOrEqual(2);
    // The async reply (the conversation has a title: no title task).
    expect(body.queue?.completed).toBe(1);
    expect(body.queue?.failed).toBe(0);
    expect(body.queue?.waiting).toBe(0);
    expect(body.queue?.byPriority['normal']?.completed).toBeGreaterThanOrEqual(1);
    expect(body.queue?.p95RunMs).not.toBeNull();

    const routes = new Map(body.requests?.byRoute.map((r) => [`${r.method} ${r.route}`, r.count]));
    expect(routes.get('GET /v1/conversations/:id')).toBe(3);
    expect(routes.get('POST /v1/tools/:name/invoke')).toBe(2);
    expect(body.requests?.total).toBeGreaterThanOrEqual(10);
    expect(body.requests?.errorRate).toBe(0);
    expect(body.requests?.p50Ms).toBeGreaterThan(0);
    expect(body.requests?.p99Ms).toBeGreaterThanOrEqual(body.requests?.p50Ms ?? Infinity);
    expect(body.series?.requests.count.reduce((a, b) => a + b, 0)).toBe(body.requests?.total);
    expect(body.database?.queries).toBeGreaterThan(0);
    expect(body.database?.nPlusOne).toEqual([]);
    expect(body.process.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(body.score.value).toBeGreaterThanOrEqual(0);
    expect(body.score.value).toBeLessThanOrEqual(100);
  });

  it('agrees with /metrics on request counts per route', async () => {
    const families = parsePrometheusText((await adminClient(api).get('/metrics')).text);
    const http = families.get('http_server_request_duration_seconds');
    if (http === undefined) throw new Error('no request histogram');
    const prometheus = histogramSeries(http)
      .filter((s) => s.labels['http_route'] === '/v1/conversations/:id' && s.labels['http_request_method'] === 'GET')
      .reduce((n, s) => n + s.count, 0);
    const { body } = await adminClient(api).get<HealthBody>('/v1/admin/health');
    const route = body.requests?.byRoute.find((r) => r.method === 'GET' && r.route === '/v1/conversations/:id');
    expect(route?.count).toBe(prometheus);
  });
});

describe('GET /v1/admin/health: alerts and the monitor off', () => {
  it('a rule past its threshold shows as a firing alert, lowers the score and degrades the status when critical', async () => {
    // Any process is over 1 byte of RSS: the built-in rule, made to fire at once.
    const rules = [{ name: 'process-rss', levels: [{ severity: 'critical', threshold: 1, clearThreshold: 0 }], forMs: 0 }];
    const api = await startApi({ env: { ALERT_RULES: JSON.stringify(rules) } });
    try {
      let body: HealthBody | undefined;
      await waitFor(async () => {
        body = (await adminClient(api).get<HealthBody>('/v1/admin/health')).body;
        return body.alerts.active.some((a) => a.rule === 'process-rss' && a.state === 'firing');
      }, 'the process-rss alert to fire', 40_000);
      const alert = body?.alerts.active.find((a) => a.rule === 'process-rss');
      expect(alert).toMatchObject({ severity: 'critical', state: 'firing', threshold: 1, resolvedAt: null });
      expect(alert?.value).toBeGreaterThan(1);
      expect(Number.isNaN(Date.parse(alert?.since ?? ''))).toBe(false);
      expect(body?.alerts.recent.some((a) => a.id === alert?.id)).toBe(true);
      expect(body?.status).toBe('degraded');
      expect(body?.score.findings.some((f) => f.rule === 'alerts-firing' && f.penalty === 15)).toBe(true);
      expect(body?.score.value).toBeLessThanOrEqual(85);
    } finally {
      await api.stop();
    }
  });

  it('MONITOR=off: still answers, with components, caches and the queue, and null timings', async () => {
    const api = await startApi({ env: { MONITOR: 'off' } });
    try {
      const user = await newUser(api);
      const id = (await createConversation(user.client)).id;
      await user.client.get(`/v1/conversations/${id}`);
      await user.client.get(`/v1/conversations/${id}`);
      const res = await adminClient(api).get<HealthBody>('/v1/admin/health');
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ok');
      expect(res.body.components.database.status).toBe('up');
      expect(res.body.components.redis).toBeNull();
      expect(res.body.components.queue).toEqual({ status: 'up', driver: 'in-process' });
      expect(res.body.caches.conversation?.hits).toBeGreaterThanOrEqual(1);
      expect(res.body.requests).toBeNull();
      expect(res.body.database).toBeNull();
      expect(res.body.series).toBeNull();
      expect(res.body.alerts).toEqual({ active: [], recent: [] });
      expect(res.body.process.rssBytes).toBeGreaterThan(0);
    } finally {
      await api.stop();
    }
  });
});
