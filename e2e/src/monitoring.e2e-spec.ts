/**
 * The performance monitor as operators reach it on the running API: `/metrics` (admin token only,
 * valid Prometheus text, route templates and never ids in labels), `GET /v1/admin/monitor`, the
 * worker role's `/metrics`, and `MONITOR=off`.
 */
import { histogramSeries, parsePrometheusText, startApi, type PrometheusFamily, type StartedApi } from '@chat/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, anonymousClient, createConversation, newUser, type TestUser } from './support/api.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

interface MonitorReportBody {
  routes: Array<{ method: string; route: string; count: number }>;
  queries: { top: Array<{ fingerprint: string; calls: number; exampleSql: string }>; totals: { calls: number } };
  nPlusOne: unknown[];
  series: { http: Array<{ count: number }>; db: Array<{ count: number }> };
  alerts: { active: unknown[]; recent: unknown[] };
}

function family(families: Map<string, PrometheusFamily>, name: string): PrometheusFamily {
  const f = families.get(name);
  if (f === undefined) throw new Error(`no family ${name} in /metrics`);
  return f;
}

describe('monitor on the API (ROLE=all)', () => {
  let api: StartedApi;
  let user: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    api = await startApi();
    user = await newUser(api);
    conversationId = (await createConversation(user.client)).id;
    for (let i = 0; i < 3; i++) expect((await user.client.get(`/v1/conversations/${conversationId}`)).status).toBe(200);
    expect((await user.client.post(`/v1/conversations/${conversationId}/messages`, { content: 'What is 6*7?' })).status).toBe(201);
    expect((await user.client.get(`/v1/conversations/${conversationId}/messages`, { limit: 10 })).status).toBe(200);
    expect((await user.client.get('/no/such/route')).status).toBe(404);
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('/metrics answers the admin token only', async () => {
    expect((await anonymousClient(api).get('/metrics')).status).toBe(401);
    expect((await user.client.get('/metrics')).status).toBe(403);
    const res = await adminClient(api).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('/metrics is valid Prometheus text: request durations by route template, query durations, process metrics', async () => {
    const families = parsePrometheusText((await adminClient(api).get('/metrics')).text);
    const http = histogramSeries(family(families, 'http_server_request_duration_seconds'));
    const byRoute = new Map(http.map((s) => [`${s.labels['http_request_method']} ${s.labels['http_route']} ${s.labels['http_response_status_code']}`, s.count]));
    expect(byRoute.get('GET /v1/conversations/:id 200')).toBe(3);
    expect(byRoute.get('POST /v1/conversations/:id/messages 201')).toBe(1);
    expect(byRoute.get('GET (unmatched) 404')).toBe(1);
    const db = histogramSeries(family(families, 'db_client_operation_duration_seconds'));
    expect(db.find((s) => s.labels['db_operation_name'] === 'SELECT')?.count ?? 0).toBeGreaterThan(0);
    expect(db.find((s) => s.labels['db_operation_name'] === 'INSERT')?.count ?? 0).toBeGreaterThan(0);
    expect(families.has('process_resident_memory_bytes')).toBe(true);
    expect(families.has('alerts_firing')).toBe(true);
    const cache = family(families, 'cache_operations_total').samples;
    expect(cache.some((s) => s.labels['cache'] === 'conversation' && s.labels['result'] === 'hit' && s.value > 0)).toBe(true);
    // No id, raw path or user in any label of any family.
    for (const f of families.values()) {
      for (const s of f.samples) {
        for (const value of Object.values(s.labels)) expect(value, `${s.name} ${JSON.stringify(s.labels)}`).not.toMatch(UUID);
      }
    }
  });

  it('GET /v1/admin/monitor reports routes, query shapes and series; the API itself has no N+1', async () => {
    expect((await user.client.get('/v1/admin/monitor')).status).toBe(403);
    const res = await adminClient(api).get<MonitorReportBody>('/v1/admin/monitor', { minutes: 60 });
    expect(res.status).toBe(200);
    const routes = new Map(res.body.routes.map((r) => [`${r.method} ${r.route}`, r.count]));
    expect(routes.get('GET /v1/conversations/:id')).toBe(3);
    expect(res.body.queries.totals.calls).toBeGreaterThan(0);
    expect(res.body.queries.top.every((q) => !q.exampleSql.includes(conversationId))).toBe(true);
    expect(res.body.series.http.reduce((n, p) => n + p.count, 0)).toBeGreaterThanOrEqual(6);
    expect(res.body.nPlusOne).toEqual([]);
    expect((await adminClient(api).get('/v1/admin/monitor', { minutes: 0 })).status).toBe(400);
  });
});

describe('monitor in other roles and when off', () => {
  it('MONITOR=off: no /metrics and no /v1/admin/monitor, the API works', async () => {
    const api = await startApi({ env: { MONITOR: 'off' } });
    try {
      expect((await adminClient(api).get('/metrics')).status).toBe(404);
      expect((await adminClient(api).get('/v1/admin/monitor')).status).toBe(404);
      const user = await newUser(api);
      expect((await user.client.get('/v1/conversations')).status).toBe(200);
    } finally {
      await api.stop();
    }
  });

  it('ROLE=worker serves /metrics (admin token) beside health, and nothing else', async () => {
    const api = await startApi({ redis: true, env: { ROLE: 'worker' } });
    try {
      const res = await adminClient(api).get('/metrics');
      expect(res.status).toBe(200);
      expect(parsePrometheusText(res.text).has('queue_tasks_total')).toBe(true);
      expect((await anonymousClient(api).get('/metrics')).status).toBe(401);
      expect((await adminClient(api).get('/v1/admin/monitor')).status).toBe(404);
    } finally {
      await api.stop();
    }
  });
});
