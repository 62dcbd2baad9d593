import { histogramSeries, parsePrometheusText, sample, type PrometheusFamilies, type PrometheusFamily } from '@chat/testing';
import { describe, expect, it } from 'vitest';
import type { QuerySample } from '../queries/query-sample.js';
import { MonitorMetrics, OTHER_LABEL } from './monitor-metrics.js';

/** What `/metrics` serves, through a strict text-format parser: invalid output fails the test here. */
async function scrape(metrics: MonitorMetrics): Promise<PrometheusFamilies> {
  return parsePrometheusText(await metrics.text());
}

function get(families: PrometheusFamilies, name: string): PrometheusFamily {
  const family = families.get(name);
  if (!family) throw new Error(`no metric family ${name} in the exposition`);
  return family;
}

function query(over: Partial<QuerySample & { tables: string[] }> = {}): QuerySample & { tables: string[] } {
  return {
    sql: 'SELECT * FROM items WHERE id = $1',
    parameters: [1],
    fingerprint: 'abc',
    durationMs: 2,
    rows: 1,
    operation: 'SELECT',
    route: 'GET /v1/items/:id',
    startedAt: 0,
    tables: ['items'],
    ...over,
  };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
/** A path segment that is an id: digits, a long hex string or a UUID (`/v1/items/42`, `/c/6f1c…`). */
const PATH_WITH_ID = /\/(?:\d+|[0-9a-f]{8,}|[0-9a-f]{8}-[0-9a-f-]{27})(?:[/?#]|$)/i;

describe('MonitorMetrics', () => {
  it('exposes the OpenTelemetry-named families, parsed by a strict Prometheus text parser', async () => {
    const m = new MonitorMetrics({ defaultMetrics: false });
    m.recordRequest({ method: 'GET', route: '/v1/items/:id', status: 200, durationMs: 12 });
    m.recordRequest({ method: 'GET', route: '/v1/items/:id', status: 500, durationMs: 3_000 });
    m.recordQuery(query(), false, 100);
    m.recordQuery(query({ durationMs: 250 }), false, 100);
    m.recordQuery(query({ operation: 'UPDATE' }), true, 100);
    m.recordNPlusOne('GET /v1/items');
    m.recordCache({ cache: 'conversation', outcome: 'hit', tier: 'l1' });
    m.recordCache({ cache: 'conversation', outcome: 'miss' });
    m.recordQueue({ kind: 'submitted', type: 'chat.reply', priority: 'high', count: 3 });
    m.recordQueue({ kind: 'started', type: 'chat.reply', priority: 'high', waitMs: 40 });
    m.recordQueue({ kind: 'completed', type: 'chat.reply', priority: 'high', runMs: 900 });
    m.recordQueue({ kind: 'failed', type: 'chat.reply', priority: 'high', runMs: 100, final: false });
    m.setTasksPending(7);
    m.setAlertsFiring({ info: 0, warning: 2, critical: 1 });

    const f = await scrape(m);
    const http = get(f, 'http_server_request_duration_seconds');
    expect(http.type).toBe('histogram');
    const httpSeries = histogramSeries(http);
    expect(httpSeries.map((s) => s.labels)).toEqual([
      { http_request_method: 'GET', http_route: '/v1/items/:id', http_response_status_code: '200' },
      { http_request_method: 'GET', http_route: '/v1/items/:id', http_response_status_code: '500' },
    ]);
    const ok = httpSeries.find((s) => s.labels['http_response_status_code'] === '200');
    expect(ok?.count).toBe(1);
    expect(ok?.sum).toBeCloseTo(0.012, 6);
    expect(ok?.buckets.get(0.01)).toBe(0);
    expect(ok?.buckets.get(0.025)).toBe(1);
    expect(ok?.buckets.get(Infinity)).toBe(1);
    expect([...(ok?.buckets.keys() ?? [])]).toEqual([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, Infinity]);
    const failed = httpSeries.find((s) => s.labels['http_response_status_code'] === '500');
    expect(failed).toMatchObject({ count: 1, sum: 3 });
    expect(failed?.buckets.get(2.5)).toBe(0);
    expect(failed?.buckets.get(5)).toBe(1);

    const db = histogramSeries(get(f, 'db_client_operation_duration_seconds'));
    expect(db.map((s) => s.labels)).toEqual([
      { db_operation_name: 'SELECT', db_collection_name: 'items', error_type: '' },
      { db_operation_name: 'UPDATE', db_collection_name: 'items', error_type: 'error' },
    ]);
    const select = db.find((s) => s.labels['db_operation_name'] === 'SELECT');
    expect(select?.count).toBe(2);
    expect(select?.sum).toBeCloseTo(0.252, 6);
    expect(select?.buckets.get(0.005)).toBe(1);
    expect(select?.buckets.get(0.25)).toBe(2);
    expect(db.find((s) => s.labels['db_operation_name'] === 'UPDATE')?.count).toBe(1);

    const slow = get(f, 'db_client_slow_operations_total');
    expect(slow.type).toBe('counter');
    expect(slow.samples.map((s) => [s.labels, s.value])).toEqual([[{ db_operation_name: 'SELECT' }, 1]]);
    const nPlusOne = get(f, 'db_client_n_plus_one_total');
    expect(nPlusOne.samples.map((s) => [s.labels, s.value])).toEqual([[{ http_request_method: 'GET', http_route: '/v1/items' }, 1]]);

    const cache = get(f, 'cache_operations_total');
    expect(cache.type).toBe('counter');
    expect(sample(cache, { cache: 'conversation', result: 'hit', tier: 'l1' })?.value).toBe(1);
    expect(sample(cache, { cache: 'conversation', result: 'miss' })?.value).toBe(1);
    expect(cache.samples).toHaveLength(2);

    const tasks = get(f, 'queue_tasks_total');
    const taskEvents = Object.fromEntries(tasks.samples.map((s) => [s.labels['event'], s.value]));
    expect(taskEvents).toEqual({ submitted: 3, started: 1, completed: 1, retried: 1 });
    expect(tasks.samples.every((s) => s.labels['task_type'] === 'chat.reply' && s.labels['priority'] === 'high')).toBe(true);

    const wait = histogramSeries(get(f, 'queue_task_wait_duration_seconds'));
    expect(wait).toHaveLength(1);
    expect(wait[0]).toMatchObject({ labels: { task_type: 'chat.reply', priority: 'high' }, count: 1, sum: 0.04 });
    expect(wait[0]?.buckets.get(0.01)).toBe(0);
    expect(wait[0]?.buckets.get(0.05)).toBe(1);
    const run = histogramSeries(get(f, 'queue_task_run_duration_seconds'));
    expect(run.map((s) => s.labels['outcome']).sort()).toEqual(['completed', 'failed']);
    expect(run.find((s) => s.labels['outcome'] === 'completed')).toMatchObject({ count: 1, sum: 0.9 });
    expect(run.find((s) => s.labels['outcome'] === 'failed')).toMatchObject({ count: 1, sum: 0.1 });

    const pending = get(f, 'queue_tasks_pending');
    expect(pending.type).toBe('gauge');
    expect(sample(pending)?.value).toBe(7);
    const alerts = get(f, 'alerts_firing');
    expect(alerts.type).toBe('gauge');
    expect(Object.fromEntries(alerts.samples.map((s) => [s.labels['severity'], s.value]))).toEqual({ info: 0, warning: 2, critical: 1 });
  });

  it('starts with empty histograms and all three alert severities at zero', async () => {
    const f = await scrape(new MonitorMetrics({ defaultMetrics: false }));
    expect(get(f, 'http_server_request_duration_seconds')).toMatchObject({ type: 'histogram', samples: [] });
    expect(Object.fromEntries(get(f, 'alerts_firing').samples.map((s) => [s.labels['severity'], s.value]))).toEqual({
      info: 0,
      warning: 0,
      critical: 0,
    });
  });

  it('keeps every label bounded: values past the cap become (other)', async () => {
    const m = new MonitorMetrics({ defaultMetrics: false, maxLabelValues: 3 });
    for (let i = 0; i < 50; i++) m.recordRequest({ method: 'GET', route: `/r${i}`, status: 200, durationMs: 1 });
    for (let i = 0; i < 50; i++) m.recordCache({ cache: `c${i}`, outcome: 'hit' });
    for (let i = 0; i < 50; i++) m.recordQuery(query({ tables: [`t${i}`] }));
    for (let i = 0; i < 50; i++) m.recordQueue({ kind: 'submitted', type: `type${i}` });
    const f = await scrape(m);

    const http = histogramSeries(get(f, 'http_server_request_duration_seconds'));
    expect(http.map((s) => s.labels['http_route']).sort()).toEqual([OTHER_LABEL, '/r0', '/r1', '/r2'].sort());
    const other = http.find((s) => s.labels['http_route'] === OTHER_LABEL);
    expect(other?.count).toBe(47);
    expect(other?.buckets.get(Infinity)).toBe(47);

    const caches = get(f, 'cache_operations_total').samples;
    expect(caches.map((s) => s.labels['cache']).sort()).toEqual([OTHER_LABEL, 'c0', 'c1', 'c2'].sort());
    expect(sample(get(f, 'cache_operations_total'), { cache: OTHER_LABEL, result: 'hit' })?.value).toBe(47);

    const tables = histogramSeries(get(f, 'db_client_operation_duration_seconds')).map((s) => s.labels['db_collection_name']);
    expect(tables.sort()).toEqual([OTHER_LABEL, 't0', 't1', 't2'].sort());
    const types = get(f, 'queue_tasks_total').samples.map((s) => s.labels['task_type']);
    expect(types.sort()).toEqual([OTHER_LABEL, 'type0', 'type1', 'type2'].sort());
  });

  it('never puts an id in a label: no UUID, no raw path with an id', async () => {
    const id = '6f1c2b9e-8d3a-4c5f-9e7b-0a1b2c3d4e5f';
    const m = new MonitorMetrics();
    m.recordRequest({ method: 'POST', route: '/v1/conversations/:id/messages', status: 201, durationMs: 40 });
    m.recordRequest({ method: 'GET', route: '/v1/users/:userId', status: 404, durationMs: 3 });
    m.recordQuery(
      query({
        sql: `SELECT * FROM "messages" WHERE conversation_id = '${id}' AND id = $1`,
        parameters: [id, 42],
        route: `GET /v1/conversations/${id}`,
        tables: ['messages'],
      }),
      false,
      1,
    );
    m.recordQuery(query({ sql: `UPDATE conversations SET title = $1 WHERE id = $2`, parameters: ['t', id], operation: 'UPDATE', tables: ['conversations'] }), true);
    m.recordNPlusOne('GET /v1/conversations/:id');
    m.recordCache({ cache: 'conversation', outcome: 'hit', tier: 'l2' });
    m.recordQueue({ kind: 'started', type: 'chat.reply', priority: 'normal', waitMs: 5 });
    m.recordQueue({ kind: 'failed', type: 'chat.reply', runMs: 5, final: true });

    const f = await scrape(m);
    const values = [...f.values()].flatMap((family) => family.samples.flatMap((s) => Object.values(s.labels)));
    expect(values.length).toBeGreaterThan(50);
    expect(values.filter((v) => UUID.test(v) || PATH_WITH_ID.test(v))).toEqual([]);
    // The checks do catch what they are for.
    expect(UUID.test(id) && PATH_WITH_ID.test(`/v1/conversations/${id}`) && PATH_WITH_ID.test('/v1/items/42')).toBe(true);
    expect(PATH_WITH_ID.test('/v1/conversations/:id/messages')).toBe(false);
  });

  it('adds Node’s process metrics unless turned off, in its own registry, and the whole exposition parses', async () => {
    const m = new MonitorMetrics();
    m.recordRequest({ method: 'GET', route: '/health', status: 200, durationMs: 1 });
    const text = await m.text();
    const on = parsePrometheusText(text);
    expect(get(on, 'process_resident_memory_bytes').type).toBe('gauge');
    expect(get(on, 'process_cpu_seconds_total').type).toBe('counter');
    expect(get(on, 'nodejs_eventloop_lag_p99_seconds').type).toBe('gauge');
    expect(get(on, 'nodejs_gc_duration_seconds').type).toBe('histogram');
    expect(get(on, 'nodejs_version_info').samples[0]?.labels['version']).toBe(process.version);
    expect(histogramSeries(get(on, 'http_server_request_duration_seconds'))).toHaveLength(1);
    // Every family has its HELP and TYPE.
    expect([...on.values()].filter((family) => family.help === undefined || family.type === 'untyped').map((x) => x.name)).toEqual([]);

    const off = await scrape(new MonitorMetrics({ defaultMetrics: false }));
    expect(off.has('process_resident_memory_bytes')).toBe(false);
    expect([...off.keys()].some((name) => name.startsWith('nodejs_') || name.startsWith('process_'))).toBe(false);
  });

  it('keeps counting into a resolved series, and into a new one after the registry was reset', async () => {
    const m = new MonitorMetrics({ defaultMetrics: false });
    const series = m.requestSeries('get', '/v1/items/:id', 200);
    for (let i = 0; i < 3; i++) m.observeRequest(series, 2);
    for (let i = 0; i < 2; i++) m.recordCache({ cache: 'conversation', outcome: 'hit', tier: 'l1' });
    m.recordCache({ cache: 'conversation', outcome: 'miss' });
    let families = await scrape(m);
    const http = histogramSeries(get(families, 'http_server_request_duration_seconds'));
    expect(http.map((s) => [s.labels, s.count])).toEqual([[{ http_request_method: 'GET', http_route: '/v1/items/:id', http_response_status_code: '200' }, 3]]);
    expect(sample(get(families, 'cache_operations_total'), { cache: 'conversation', result: 'hit', tier: 'l1' })?.value).toBe(2);

    m.registry.resetMetrics();
    expect(series.live).toBe(false);
    m.recordCache({ cache: 'conversation', outcome: 'hit', tier: 'l1' });
    m.observeRequest(m.requestSeries('GET', '/v1/items/:id', 200), 2);
    families = await scrape(m);
    expect(sample(get(families, 'cache_operations_total'), { cache: 'conversation', result: 'hit', tier: 'l1' })?.value).toBe(1);
    expect(sample(get(families, 'cache_operations_total'), { cache: 'conversation', result: 'miss', tier: '' })).toBeUndefined();
    expect(histogramSeries(get(families, 'http_server_request_duration_seconds')).map((s) => s.count)).toEqual([1]);
  });

  it('recordCache(event, n) adds n lookups to the series (default one)', async () => {
    const m = new MonitorMetrics({ defaultMetrics: false });
    m.recordCache({ cache: 'conversation', outcome: 'hit', tier: 'l1' }, 5);
    m.recordCache({ cache: 'conversation', outcome: 'hit', tier: 'l1' });
    m.recordCache({ cache: 'conversation', outcome: 'hit', tier: 'l2' }, 3);
    m.recordCache({ cache: 'conversation', outcome: 'hit' }, 2);
    m.recordCache({ cache: 'conversation', outcome: 'miss' }, 7);
    m.recordCache({ cache: 'conversation', outcome: 'error' }, 4);
    m.recordCache({ cache: 'tool-result', outcome: 'miss' }, 1_000);
    const cache = get(await scrape(m), 'cache_operations_total');
    expect(sample(cache, { cache: 'conversation', result: 'hit', tier: 'l1' })?.value).toBe(6);
    expect(sample(cache, { cache: 'conversation', result: 'hit', tier: 'l2' })?.value).toBe(3);
    expect(sample(cache, { cache: 'conversation', result: 'hit', tier: '' })?.value).toBe(2);
    expect(sample(cache, { cache: 'conversation', result: 'miss', tier: '' })?.value).toBe(7);
    expect(sample(cache, { cache: 'conversation', result: 'error', tier: '' })?.value).toBe(4);
    expect(sample(cache, { cache: 'tool-result', result: 'miss', tier: '' })?.value).toBe(1_000);
    expect(cache.samples).toHaveLength(6);
  });

  it('runs a beforeCacheScrape callback at each scrape, before the cache counters are read', async () => {
    const m = new MonitorMetrics({ defaultMetrics: false });
    let calls = 0;
    m.beforeCacheScrape(() => {
      calls++;
      // What the callback records is already in this scrape.
      m.recordCache({ cache: 'conversation', outcome: 'hit', tier: 'l1' }, 10);
    });
    expect(calls).toBe(0);
    let cache = get(await scrape(m), 'cache_operations_total');
    expect(calls).toBe(1);
    expect(sample(cache, { cache: 'conversation', result: 'hit', tier: 'l1' })?.value).toBe(10);

    // Through the registry directly too (what a /metrics handler may call).
    cache = get(parsePrometheusText(await m.registry.metrics()), 'cache_operations_total');
    expect(calls).toBe(2);
    expect(sample(cache, { cache: 'conversation', result: 'hit', tier: 'l1' })?.value).toBe(20);
  });

  it('runs every beforeCacheScrape callback; its removal stops it and leaves the others', async () => {
    const m = new MonitorMetrics({ defaultMetrics: false });
    const seen: string[] = [];
    const removeA = m.beforeCacheScrape(() => {
      seen.push('a');
      m.recordCache({ cache: 'a', outcome: 'miss' });
    });
    m.beforeCacheScrape(() => {
      seen.push('b');
      m.recordCache({ cache: 'b', outcome: 'miss' });
    });
    await scrape(m);
    expect(seen.sort()).toEqual(['a', 'b']);

    removeA();
    expect(() => removeA()).not.toThrow();
    seen.length = 0;
    const cache = get(await scrape(m), 'cache_operations_total');
    expect(seen).toEqual(['b']);
    expect(sample(cache, { cache: 'a', result: 'miss', tier: '' })?.value).toBe(1);
    expect(sample(cache, { cache: 'b', result: 'miss', tier: '' })?.value).toBe(2);
  });

  it('a throwing beforeCacheScrape callback does not fail the scrape nor stop the other callbacks', async () => {
    const m = new MonitorMetrics({ defaultMetrics: false });
    m.recordCache({ cache: 'conversation', outcome: 'miss' });
    m.recordRequest({ method: 'GET', route: '/x', status: 200, durationMs: 1 });
    m.beforeCacheScrape(() => {
      throw new Error('cache engine closed');
    });
    m.beforeCacheScrape(() => m.recordCache({ cache: 'conversation', outcome: 'hit', tier: 'l2' }, 2));
    const families = await scrape(m);
    const cache = get(families, 'cache_operations_total');
    expect(sample(cache, { cache: 'conversation', result: 'miss', tier: '' })?.value).toBe(1);
    expect(sample(cache, { cache: 'conversation', result: 'hit', tier: 'l2' })?.value).toBe(2);
    expect(histogramSeries(get(families, 'http_server_request_duration_seconds'))).toHaveLength(1);
    // And again at the next scrape.
    await expect(m.text()).resolves.toContain('cache_operations_total');
  });

  it('cache_l2_pending: one gauge series per cache, set by a beforeCacheScrape callback in time for that scrape; none past the label cap', async () => {
    const m = new MonitorMetrics({ defaultMetrics: false, maxLabelValues: 2 });
    let level = 4;
    m.beforeCacheScrape(() => {
      m.setCachePending('conversation', level);
      m.setCachePending('tool-result', 0);
      m.setCachePending('past-the-cap', 9);
    });
    let pending = get(await scrape(m), 'cache_l2_pending');
    expect(pending.type).toBe('gauge');
    expect(pending.samples.map((s) => [s.labels, s.value])).toEqual([
      [{ cache: 'conversation' }, 4],
      [{ cache: 'tool-result' }, 0],
    ]);
    level = 1;
    pending = get(await scrape(m), 'cache_l2_pending');
    expect(sample(pending, { cache: 'conversation' })?.value).toBe(1);
  });

  it('labels cache events past the cap (other), without remembering their names', async () => {
    const m = new MonitorMetrics({ defaultMetrics: false, maxLabelValues: 1 });
    m.recordCache({ cache: 'a', outcome: 'hit', tier: 'l2' });
    for (let i = 0; i < 3; i++) m.recordCache({ cache: `b${i}`, outcome: 'error' });
    const cache = get(await scrape(m), 'cache_operations_total');
    expect(sample(cache, { cache: 'a', result: 'hit', tier: 'l2' })?.value).toBe(1);
    expect(sample(cache, { cache: OTHER_LABEL, result: 'error', tier: '' })?.value).toBe(3);
  });
});
