/**
 * The module end to end in a real Nest app on Fastify (TypeORM on a fresh PostgreSQL database,
 * real HTTP): N+1 per request with its route template, `/metrics` as strict Prometheus text with
 * route templates only, unmatched requests and 5xx responses.
 *
 * One app per file: prom-client's global registry (what `/metrics` serves) is per process.
 */
import { createTestDatabase, histogramSeries, parsePrometheusText, sample, type PrometheusFamilies, type PrometheusFamily, type TestDatabase } from '@chat/testing';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_CLOSED_REQUEST, UNMATCHED_ROUTE } from './performance-monitor.service.js';
import { hangingRoute, seedItems, startTestApp, type TestApp } from './test-app.fixture.js';

let database: TestDatabase;
let t: TestApp;

function family(families: PrometheusFamilies, name: string): PrometheusFamily {
  const f = families.get(name);
  if (f === undefined) throw new Error(`no family ${name} in /metrics`);
  return f;
}

async function metrics(): Promise<PrometheusFamilies> {
  const res = await t.request('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(res.text);
}

/** The response reaches the client before Fastify's onResponse hook has run: wait for the monitor to count it. */
async function settled(route: string, count: number): Promise<void> {
  await expect.poll(() => t.service.report().routes.filter((r) => r.route === route).reduce((n, r) => n + r.count, 0)).toBeGreaterThanOrEqual(count);
}

beforeAll(async () => {
  database = await createTestDatabase('monitor_nest_requests');
  await seedItems(database.url, 200);
  t = await startTestApp(database.url);
});

afterAll(async () => {
  // A request still held in /probe/hang (a failed test) would hold up the close.
  hangingRoute.release();
  await t?.app.close();
  await database?.drop();
});

describe('N+1 through the module', () => {
  it('reports a route that loads 10 items one by one, with its route template and count 10; 3 lookups are not an N+1', async () => {
    expect((await t.request('/items/1/children-one-by-one')).status).toBe(200);
    expect((await t.request('/items/1/three')).status).toBe(200);
    await settled('/items/:id/children-one-by-one', 1);
    await settled('/items/:id/three', 1);

    const findings = t.service.report().nPlusOne;
    const nPlusOne = findings.find((f) => f.route === 'GET /items/:id/children-one-by-one');
    expect(nPlusOne).toMatchObject({ operation: 'SELECT', occurrences: 1, maxCount: 10, lastCount: 10, totalCount: 10 });
    expect(nPlusOne?.exampleSql).toMatch(/FROM "items"/);
    expect(findings.some((f) => f.route.includes('/three'))).toBe(false);
    // Every finding carries a route template, never a raw path.
    expect(findings.every((f) => !/\/\d/.test(f.route))).toBe(true);

    const counter = family(await metrics(), 'db_client_n_plus_one_total');
    expect(counter.type).toBe('counter');
    expect(sample(counter, { http_request_method: 'GET', http_route: '/items/:id/children-one-by-one' })?.value).toBe(1);
    expect(counter.samples.some((s) => s.labels['http_route']?.includes('/three'))).toBe(false);

    // Another request of the same route (another id) is a second occurrence of the same finding.
    expect((await t.request('/items/50/children-one-by-one')).status).toBe(200);
    await settled('/items/:id/children-one-by-one', 2);
    expect(t.service.report().nPlusOne.find((f) => f.route === 'GET /items/:id/children-one-by-one')).toMatchObject({
      occurrences: 2,
      totalCount: 20,
      lastCount: 10,
    });
    const again = family(await metrics(), 'db_client_n_plus_one_total');
    expect(sample(again, { http_request_method: 'GET', http_route: '/items/:id/children-one-by-one' })?.value).toBe(2);
  });

  it('attributes the queries of a route with a JSON body (after body parsing) to its request', async () => {
    const res = await t.request('/items/lookup', { ids: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toHaveLength(10);
    await settled('/items/lookup', 1);
    const nPlusOne = t.service.report().nPlusOne.find((f) => f.route === 'POST /items/lookup');
    expect(nPlusOne).toMatchObject({ operation: 'SELECT', occurrences: 1, maxCount: 10 });
    const counter = family(await metrics(), 'db_client_n_plus_one_total');
    expect(sample(counter, { http_request_method: 'POST', http_route: '/items/lookup' })?.value).toBe(1);
  });
});

describe('/metrics through the module', () => {
  it('is valid Prometheus text: request durations by route template only, query durations by operation, Node default metrics', async () => {
    expect((await t.request('/items/123')).status).toBe(200);
    expect((await t.request('/items/by-code/code-123')).status).toBe(200);
    await settled('/items/:id', 1);
    await settled('/items/by-code/:code', 1);

    const res = await t.request('/metrics');
    // Strict: throws on anything the text format forbids.
    const families = parsePrometheusText(res.text);

    const http = histogramSeries(family(families, 'http_server_request_duration_seconds'));
    const routes = new Set(http.map((s) => s.labels['http_route']));
    expect(routes).toContain('/items/:id');
    expect(routes).toContain('/items/by-code/:code');
    for (const route of routes) expect(route === UNMATCHED_ROUTE || route === '/metrics' || route?.startsWith('/items/')).toBe(true);
    const one = http.find((s) => s.labels['http_route'] === '/items/:id' && s.labels['http_request_method'] === 'GET' && s.labels['http_response_status_code'] === '200');
    expect(one?.count).toBe(1);
    expect(one?.sum).toBeGreaterThan(0);

    // No label anywhere carries the id or the code that was requested.
    for (const f of families.values()) {
      for (const s of f.samples) for (const value of Object.values(s.labels)) expect(value).not.toContain('123');
    }

    const db = histogramSeries(family(families, 'db_client_operation_duration_seconds'));
    const select = db.find((s) => s.labels['db_operation_name'] === 'SELECT' && s.labels['db_collection_name'] === 'items' && (s.labels['error_type'] ?? '') === '');
    expect(select?.count).toBeGreaterThanOrEqual(2);
    for (const s of db) expect(s.labels['db_operation_name']).toMatch(/^[A-Z_]+$/);

    // Node's default metrics, on the same registry.
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(families.has(name), name).toBe(true);
    }
    const firing = family(families, 'alerts_firing');
    expect(firing.type).toBe('gauge');
    for (const severity of ['info', 'warning', 'critical']) expect(sample(firing, { severity })).toBeDefined();
  });
});

describe('unmatched requests and errors', () => {
  it('times a request that matches no route under (unmatched), never its path', async () => {
    expect((await t.request('/no/such/path/9876')).status).toBe(404);
    await settled(UNMATCHED_ROUTE, 1);
    expect(t.service.report().routes.find((r) => r.route === UNMATCHED_ROUTE)).toMatchObject({ method: 'GET', errors: 0 });
    expect(t.service.report().routes.some((r) => r.route.includes('9876'))).toBe(false);

    const http = histogramSeries(family(await metrics(), 'http_server_request_duration_seconds'));
    const unmatched = http.find((s) => s.labels['http_route'] === UNMATCHED_ROUTE && s.labels['http_response_status_code'] === '404');
    expect(unmatched?.count).toBe(1);
    expect(http.some((s) => Object.values(s.labels).some((v) => v.includes('9876') || v.includes('/no/')))).toBe(false);
  });

  it('times a request the client abandons before its response under its route, as 499 (not a server error), once', async () => {
    const controller = new AbortController();
    const abandoned = fetch(`${t.url}/probe/hang`, { signal: controller.signal }).then(
      () => 'answered',
      (error: unknown) => (error instanceof Error ? error.name : String(error)),
    );
    // The request is in the handler: the client gives up.
    await expect.poll(() => hangingRoute.waiting).toBe(1);
    controller.abort();
    expect(await abandoned).toBe('AbortError');
    await settled('/probe/hang', 1);
    expect(t.service.report().routes.find((r) => r.route === '/probe/hang')).toMatchObject({ method: 'GET', count: 1, errors: 0 });

    // The handler ends later and its reply goes nowhere: the request is not counted twice.
    hangingRoute.release();
    await expect.poll(() => hangingRoute.finished).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(t.service.report().routes.find((r) => r.route === '/probe/hang')?.count).toBe(1);
    const http = histogramSeries(family(await metrics(), 'http_server_request_duration_seconds'));
    const hang = http.filter((s) => s.labels['http_route'] === '/probe/hang');
    expect(hang.map((s) => [s.labels['http_response_status_code'], s.count])).toEqual([[String(CLIENT_CLOSED_REQUEST), 1]]);
  });

  it('times abandoned requests on a kept-alive, pipelining connection: each one in flight once, as 499; answered ones keep their status', async () => {
    const statuses = async (route: string): Promise<Record<string, number>> =>
      Object.fromEntries(
        histogramSeries(family(await metrics(), 'http_server_request_duration_seconds'))
          .filter((s) => s.labels['http_route'] === route)
          .map((s) => [s.labels['http_response_status_code'] ?? '', s.count]),
      );
    const count = (route: string): number => t.service.report().routes.filter((r) => r.route === route).reduce((n, r) => n + r.count, 0);
    const [fastBefore, hangBefore] = [await statuses('/probe/fast'), await statuses('/probe/hang')];
    const [fastCount, hangCount] = [count('/probe/fast'), count('/probe/hang')];
    const { hostname: host, port } = new URL(t.url);
    const socket = connect({ host, port: Number(port) });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    // One answered request first: the connection is watched from then on, and lets go of it.
    socket.write(get('/probe/fast'));
    await expect.poll(() => received.match(/HTTP\/1\.1 200/g)?.length ?? 0).toBe(1);
    await settled('/probe/fast', fastCount + 1);
    // Then two pipelined ones: the first hangs, the second is answered behind it (its answer cannot
    // go out before the first's). The client closes the connection with both in flight.
    socket.write(get('/probe/hang') + get('/probe/fast'));
    await expect.poll(() => hangingRoute.waiting).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await settled('/probe/hang', hangCount + 1);
    await settled('/probe/fast', fastCount + 2);
    // The hung handler ends later: its reply goes nowhere and is not counted again.
    hangingRoute.release();
    await expect.poll(() => hangingRoute.waiting).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const grown = (after: Record<string, number>, prior: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(after).flatMap(([status, n]) => (n - (prior[status] ?? 0) > 0 ? [[status, n - (prior[status] ?? 0)]] : [])));
    const abandoned = String(CLIENT_CLOSED_REQUEST);
    expect(grown(await statuses('/probe/hang'), hangBefore)).toEqual({ [abandoned]: 1 });
    expect(grown(await statuses('/probe/fast'), fastBefore)).toEqual({ '200': 1, [abandoned]: 1 });
    expect(count('/probe/hang')).toBe(hangCount + 1);
    expect(count('/probe/fast')).toBe(fastCount + 2);
  });

  it('counts a 500 from a route in http.error_rate', async () => {
    // The monitor hands ratios to the alert rules only over enough requests (see PerformanceMonitor's minSamples).
    for (let i = 0; i < 30; i++) expect((await t.request('/probe/fast')).status).toBe(200);
    expect((await t.request('/probe/fail')).status).toBe(500);
    await settled('/probe/fast', 30);
    await settled('/probe/fail', 1);
    const routes = t.service.report().routes;
    expect(routes.find((r) => r.route === '/probe/fail')).toMatchObject({ method: 'GET', count: 1, errors: 1 });
    const total = routes.reduce((n, r) => n + r.count, 0);
    const errors = routes.reduce((n, r) => n + r.errors, 0);
    expect(errors).toBe(1);

    const rate = t.service.monitor.alertSamples().find((s) => s.metric === 'http.error_rate');
    expect(rate?.value).toBeCloseTo(errors / total, 10);
    expect(rate?.value).toBeGreaterThan(0);

    // The default 5xx rule (> 1 % for 1 minute) sees it: pending, not firing yet.
    t.service.tick();
    expect(t.service.report().alerts.active.find((a) => a.rule === 'http-5xx-rate')).toMatchObject({ state: 'pending' });

    const http = histogramSeries(family(await metrics(), 'http_server_request_duration_seconds'));
    expect(http.find((s) => s.labels['http_route'] === '/probe/fail' && s.labels['http_response_status_code'] === '500')?.count).toBe(1);
  });
});
