/**
 * The admin dashboard (`GET /admin`) in real headless Chromium (Debian's, driven by playwright-core)
 * against the built API with real traffic behind it: the page loads with the admin token and drops
 * it from the address bar, shows the figures of the JSON it fetched, draws its charts, refreshes
 * itself, logs no console error and talks to no other origin. Sections the API's own traffic cannot
 * fill (N+1, index suggestions) and untrusted text (SQL, alert labels) are checked by serving the
 * page a crafted JSON (the real one, amended) through Playwright's request interception.
 */
import type { DashboardData } from '@chat/integration';
import { startApi, startFakeUpstream, type FakeUpstream, type StartedApi } from '@chat/testing';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, anonymousClient, createConversation, newUser, say, upstreamEnv, waitFor, type TestUser } from './support/api.js';
import { expectError, expectOk } from './support/assertions.js';
import { chatText, nonexistentId } from './support/factories.js';
import { waitForCompleted, submitAsync } from './support/tasks.js';

const CHROMIUM = '/usr/bin/chromium';
const CHART_IDS = ['requests', 'latency', 'cache', 'queue', 'database', 'process'] as const;
/** The series colour of the first line of every chart (see COLORS in dashboard.js). */
const FIRST_LINE_RGB = [0x25, 0x63, 0xeb] as const;
/** Makes one alert fire at the monitor's first evaluation: resident memory above 1 byte. */
const ALERT_RULES = JSON.stringify([{ name: 'process-rss', levels: [{ severity: 'warning', threshold: 1, clearThreshold: 0 }], for: '0ms' }]);
const XSS = '<img src=x onerror="globalThis.__xss = 1"><script>globalThis.__xss = 2</script>';

// The page's own formatting (dashboard.js), for the figures compared below.
const formatInt = (n: number): string => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const formatPercent = (x: number): string => `${(x * 100).toFixed(1)}%`;

type Database = NonNullable<DashboardData['database']>;

/** What the page shows, read in one synchronous pass (no refresh can render in between). */
interface Shown {
  generatedAt: string | null;
  /** data-testid → text and data-value of the first element with it. */
  byTestid: Record<string, { text: string; value: string | null; status: string | null }>;
  /** data-testid → number of elements with it. */
  counts: Record<string, number>;
}

interface ChartPixels {
  id: string;
  canvases: number;
  width: number;
  height: number;
  points: number;
  painted: number;
  firstLine: number;
}

/** Runs in the page: every `[data-testid]`'s text, value and status, and the rendered JSON's stamp. */
function readPage(): Shown {
  interface El {
    textContent: string | null;
    getAttribute(name: string): string | null;
  }
  const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<El>; querySelector(s: string): El | null } }).document;
  const byTestid: Shown['byTestid'] = {};
  const counts: Shown['counts'] = {};
  const all = doc.querySelectorAll('[data-testid]');
  for (let i = 0; i < all.length; i++) {
    const node = all[i];
    const id = node.getAttribute('data-testid') ?? '';
    counts[id] = (counts[id] ?? 0) + 1;
    byTestid[id] ??= { text: (node.textContent ?? '').trim(), value: node.getAttribute('data-value'), status: node.getAttribute('data-status') };
  }
  return { generatedAt: doc.querySelector('[data-testid="updated-at"]')?.getAttribute('data-generated-at') ?? null, byTestid, counts };
}

/** Runs in the page: each chart's canvas size, painted pixels, and pixels of its first line's colour. */
function readCharts(args: { ids: readonly string[]; rgb: readonly number[] }): ChartPixels[] {
  interface Canvas {
    width: number;
    height: number;
    getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
  }
  interface Box {
    getAttribute(name: string): string | null;
    querySelectorAll(s: string): ArrayLike<Canvas>;
  }
  const doc = (globalThis as unknown as { document: { querySelector(s: string): Box | null } }).document;
  return args.ids.map((id) => {
    const box = doc.querySelector(`[data-testid="chart-${id}"]`);
    const canvases = box?.querySelectorAll('canvas');
    const canvas = canvases?.[0];
    const result = { id, canvases: canvases?.length ?? 0, width: canvas?.width ?? 0, height: canvas?.height ?? 0, points: Number(box?.getAttribute('data-points') ?? 0), painted: 0, firstLine: 0 };
    const ctx = canvas === undefined || canvas.width === 0 || canvas.height === 0 ? null : canvas.getContext('2d');
    if (canvas === undefined || ctx === null) return result;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] === 0) continue;
      result.painted++;
      const near = Math.abs(data[i] - args.rgb[0]) + Math.abs(data[i + 1] - args.rgb[1]) + Math.abs(data[i + 2] - args.rgb[2]) < 60;
      if (near && data[i + 3] > 128) result.firstLine++;
    }
    return result;
  });
}

/** A page with collectors for console errors, page errors, requests and the dashboard JSON it received. */
interface Watched {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  requests: string[];
  /** Requests that carried a Referer (none should: the page is served with Referrer-Policy: no-referrer). */
  referred: string[];
  /** Reads of the headers each request was sent with (see `referred`). */
  headerReads: Array<Promise<void>>;
  /** Every /v1/admin/health body the page received, by generatedAt. */
  received: Map<string, DashboardData>;
}

async function watchedPage(context: BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  const watched: Watched = { page, consoleErrors: [], pageErrors: [], requests: [], referred: [], headerReads: [], received: new Map() };
  page.on('console', (message) => {
    if (message.type() === 'error') watched.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => watched.pageErrors.push(error.message));
  page.on('request', (request) => {
    watched.requests.push(request.url());
    watched.headerReads.push(
      request.allHeaders().then(
        (headers) => {
          if (headers['referer'] !== undefined) watched.referred.push(`${request.url()} (Referer: ${headers['referer']})`);
        },
        () => undefined,
      ),
    );
  });
  page.on('response', (response) => {
    if (!response.url().includes('/v1/admin/health') || response.status() !== 200) return;
    response.json().then(
      (body: DashboardData) => watched.received.set(body.generatedAt, body),
      () => undefined,
    );
  });
  return watched;
}

/** Waits until the page has rendered a JSON other than `previous` (by generatedAt), and reads it. */
async function rendered(watched: Watched, previous: string | null = null): Promise<{ shown: Shown; data: DashboardData }> {
  await watched.page.waitForFunction(
    (prev) => {
      const stamp = (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } }).document
        .querySelector('[data-testid="updated-at"]')
        ?.getAttribute('data-generated-at');
      return stamp !== undefined && stamp !== null && stamp !== prev;
    },
    previous,
    { timeout: 15_000 },
  );
  const shown = await watched.page.evaluate(readPage);
  expect(shown.generatedAt).not.toBeNull();
  await waitFor(() => watched.received.has(shown.generatedAt ?? ''), 'the JSON the page rendered', 5_000);
  return { shown, data: watched.received.get(shown.generatedAt ?? '') as DashboardData };
}

/** With DASHBOARD_SCREENSHOT_DIR set, a full-page screenshot there (to look at the page). */
async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env['DASHBOARD_SCREENSHOT_DIR'];
  if (dir !== undefined && dir !== '') await page.screenshot({ path: `${dir}/${name}`, fullPage: true });
}

function text(shown: Shown, testid: string): string {
  const entry = shown.byTestid[testid];
  if (entry === undefined) throw new Error(`the page shows no [data-testid="${testid}"]`);
  return entry.text;
}

/** The real JSON, with every section the page has filled with crafted findings (untrusted text included). */
function craftedDashboard(real: DashboardData): DashboardData {
  const data = structuredClone(real);
  const now = Date.now();
  const database: Database = data.database ?? { queries: 0, p95Ms: null, slowQueries: [], nPlusOne: [], indexSuggestions: [] };
  database.slowQueries = [
    {
      fingerprint: 'f-slow',
      exampleSql: `SELECT * FROM "messages" WHERE "content" = '${XSS}'`,
      operation: 'SELECT',
      routes: ['GET /v1/conversations/:id/messages'],
      count: 3,
      maxDurationMs: 412.5,
      meanDurationMs: 250,
      totalDurationMs: 750,
      firstSeenAt: now - 60_000,
      lastSeenAt: now,
      plan: {
        json: [{ Plan: { 'Node Type': 'Seq Scan', 'Relation Name': 'messages', Filter: XSS } }],
        totalCost: 1834.5,
        summary: {
          totalCost: 1834.5,
          startupCost: 0,
          planRows: 12,
          nodeCount: 1,
          nodeTypes: ['Seq Scan'],
          relations: ['public.messages'],
          indexes: [],
          seqScans: [{ schema: 'public', relation: 'messages', alias: 'messages', filter: '(content = $1)', sortKeys: null, planRows: 12, totalCost: 1834.5, parallel: false }],
          sorts: [],
        },
        generic: true,
        capturedAt: now,
      },
      explainError: null,
      lastExplainAttemptAt: now,
    },
  ];
  database.nPlusOne = [
    {
      route: 'GET /v1/conversations/:id/messages',
      fingerprint: 'f-n1',
      operation: 'SELECT',
      exampleSql: 'SELECT * FROM "tool_calls" WHERE "message_id" = $1',
      occurrences: 4,
      maxCount: 17,
      lastCount: 9,
      totalCount: 48,
      totalMs: 96.4,
      firstSeenAt: now - 120_000,
      lastSeenAt: now,
    },
  ];
  database.indexSuggestions = [
    {
      statement: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "messages_content_idx" ON "public"."messages" ("content")',
      indexName: 'messages_content_idx',
      schema: 'public',
      table: 'messages',
      columns: ['content'],
      queries: [{ fingerprint: 'f-slow', sql: 'SELECT * FROM "messages" WHERE "content" = $1', costBefore: 1834.5, costAfter: 8.27 }],
      costBefore: 1834.5,
      costAfter: 8.27,
      verifiedWith: 'transaction',
      createdAt: now,
      updatedAt: now,
    },
  ];
  data.database = database;
  const alert = {
    id: 'a-crafted',
    rule: 'cache-hit-rate',
    severity: 'critical' as const,
    state: 'firing' as const,
    value: 0.12,
    threshold: 0.2,
    since: new Date(now - 300_000).toISOString(),
    firedAt: new Date(now).toISOString(),
    resolvedAt: null,
    metric: 'cache.hit_rate',
    labels: { cache: XSS },
  };
  data.alerts = { active: [alert], recent: [alert] };
  return data;
}

/** The same JSON as a process with MONITOR=off and no Redis would give. */
function monitorOffDashboard(real: DashboardData): DashboardData {
  const data = structuredClone(real);
  data.components = { ...data.components, redis: null, monitor: { status: 'disabled' } };
  data.requests = null;
  data.database = null;
  data.series = null;
  data.alerts = { active: [], recent: [] };
  return data;
}

describe('admin dashboard (GET /admin) in headless Chromium', () => {
  let fake: FakeUpstream;
  let api: StartedApi;
  let user: TestUser;
  let browser: Browser;
  let context: BrowserContext;

  /** Traffic for every section: conversation reads (cache hits), sync and async answers, tool calls, a 404. */
  async function traffic(): Promise<void> {
    const conversation = await createConversation(user.client);
    for (let i = 0; i < 3; i++) expectOk(await user.client.get(`/v1/conversations/${conversation.id}`));
    await say(user.client, conversation.id, { content: chatText() });
    const completion = { model: 'fake-model', messages: [{ role: 'user', content: chatText() }] };
    expectOk(await user.client.post('/v1/chat/completions', completion));
    expectOk(await user.client.post('/v1/chat/completions', completion));
    for (let i = 0; i < 2; i++) expectOk(await user.client.post('/v1/tools/calculator/invoke', { arguments: { expression: '6*(3+4)' } }));
    const accepted = expectOk(await submitAsync(user.client, conversation.id, { content: chatText() }), 202);
    await waitForCompleted(user.client, accepted.task.id);
    expectError(await user.client.get(`/v1/conversations/${nonexistentId()}`), 404);
  }

  beforeAll(async () => {
    fake = await startFakeUpstream();
    [api, browser] = await Promise.all([
      startApi({ redis: true, env: upstreamEnv(fake, { MONITOR_SLOW_QUERY_MS: '1', ALERT_RULES }) }),
      chromium.launch({ executablePath: CHROMIUM, headless: true }),
    ]);
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    user = await newUser(api);
    await traffic();
    // Slow queries (1 ms here) are explained in the background: wait for one with its plan.
    await waitFor(
      async () => {
        const res = await adminClient(api).get<DashboardData>('/v1/admin/health');
        return (res.body.database?.slowQueries ?? []).some((q) => q.plan !== null);
      },
      'a slow query with its plan',
      20_000,
    );
  });

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await fake?.close();
  });

  it('GET /admin: 401 without a token or with a wrong one, 403 with a user key (JSON for API clients, a token form for browsers)', async () => {
    expectError(await anonymousClient(api).get('/admin'), 401, 'admin token');
    expectError(await anonymousClient(api).get('/admin', { token: `${api.adminToken}x` }), 401);
    expectError(await anonymousClient(api).as(`${api.adminToken}x`).get('/admin'), 401);
    expectError(await anonymousClient(api).get('/admin', { token: user.apiKey }), 403);
    expectError(await anonymousClient(api).get('/v1/admin/health', { token: api.adminToken }), 401); // ?token= is for the page only

    const asBrowser = await anonymousClient(api).request({ path: '/admin', query: { token: 'wrong-token-0123456789' }, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(asBrowser.status).toBe(401);
    expect(asBrowser.headers.get('content-type')).toMatch(/^text\/html/);
    expect(asBrowser.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(asBrowser.text).toContain('name="token"');
    expect(asBrowser.text).not.toContain('wrong-token-0123456789');

    const byHeader = await adminClient(api).get('/admin');
    expect(byHeader.status).toBe(200);
    expect(byHeader.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('its scripts and styles are public, typed, and revalidated by ETag', async () => {
    for (const [name, type] of [['dashboard.js', /^text\/javascript/], ['uplot.js', /^text\/javascript/], ['dashboard.css', /^text\/css/], ['uplot.css', /^text\/css/]] as const) {
      const res = await anonymousClient(api).get(`/admin/assets/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type')).toMatch(type);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const etag = res.headers.get('etag') ?? '';
      expect(etag).not.toBe('');
      expect((await anonymousClient(api).request({ path: `/admin/assets/${name}`, headers: { 'if-none-match': etag } })).status).toBe(304);
    }
    expectError(await anonymousClient(api).get('/admin/assets/..%2Fdashboard.controller.js'), 404);
    expectError(await anonymousClient(api).get('/admin/assets/nothing.js'), 404);
  });

  it('loads with ?token=, drops the token, shows the JSON\'s figures, draws its charts and refreshes itself, with no console error and no other origin', async () => {
    const watched = await watchedPage(context);
    const { page } = watched;
    const response = await page.goto(`${api.url}/admin?token=${encodeURIComponent(api.adminToken)}&refresh=2`);
    expect(response?.status()).toBe(200);
    const headers = response?.headers() ?? {};
    expect(headers['content-type']).toMatch(/^text\/html/);
    expect(headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');

    const { shown, data } = await rendered(watched);
    expect(page.url()).toBe(`${api.url}/admin?refresh=2`);
    expect(await page.evaluate(() => (globalThis as unknown as { location: { href: string } }).location.href)).not.toContain(api.adminToken);
    expect(await page.content()).not.toContain(api.adminToken);

    // The figures are those of the JSON the page received.
    expect(text(shown, 'status')).toBe(data.status);
    expect(text(shown, 'version')).toBe(data.version);
    for (const name of ['database', 'redis', 'queue', 'cache', 'monitor'] as const) {
      expect(shown.byTestid[`component-${name}-status`]?.status, name).toBe(data.components[name]?.status);
    }
    expect(data.components.redis?.status).toBe('up');
    expect(text(shown, 'score-value')).toBe(String(data.score.value));
    expect(text(shown, 'score-grade')).toBe(data.score.grade);
    expect(shown.counts['score-finding'] ?? 0).toBe(data.score.findings.length);
    expect(shown.counts['recommendation'] ?? 0).toBe(data.score.recommendations.length);
    const requests = data.requests;
    expect(requests).not.toBeNull();
    expect(requests?.total).toBeGreaterThanOrEqual(10);
    expect(text(shown, 'requests-total')).toBe(formatInt(requests?.total ?? -1));
    expect(text(shown, 'requests-error-rate')).toBe(formatPercent(requests?.errorRate ?? -1));
    expect(shown.counts['route'] ?? 0).toBe(requests?.byRoute.length);
    for (const name of ['conversation', 'aiResponse', 'toolResult'] as const) {
      const stats = data.caches[name];
      expect(stats?.hits ?? 0, `${name} cache hits`).toBeGreaterThan(0);
      expect(text(shown, `cache-${name}-hit-rate`)).toBe(formatPercent(stats?.hitRate ?? -1));
      expect(text(shown, `cache-${name}-hits`)).toBe(formatInt(stats?.hits ?? -1));
    }
    expect(data.queue?.completed ?? 0).toBeGreaterThanOrEqual(1);
    expect(text(shown, 'queue-completed')).toBe(formatInt(data.queue?.completed ?? -1));
    expect(text(shown, 'db-queries')).toBe(formatInt(data.database?.queries ?? -1));
    expect(shown.counts['slow-query'] ?? 0).toBe(data.database?.slowQueries.length);
    expect(shown.counts['slow-query-plan'] ?? 0).toBeGreaterThanOrEqual(1);
    expect(shown.counts['n-plus-one-finding'] ?? 0).toBe(data.database?.nPlusOne.length);
    expect(shown.counts['index-suggestion'] ?? 0).toBe(data.database?.indexSuggestions.length);
    // The alert the test's ALERT_RULES makes fire, and the score rule it feeds.
    expect(data.alerts.active.map((a) => `${a.rule} ${a.state}`)).toContain('process-rss firing');
    expect(shown.counts['alert-active'] ?? 0).toBe(data.alerts.active.length);
    expect(data.score.findings.map((f) => f.rule)).toContain('alerts-firing');

    // Every chart is drawn: a sized canvas with painted pixels; lines where there is data.
    const charts = await page.evaluate(readCharts, { ids: CHART_IDS, rgb: FIRST_LINE_RGB });
    for (const chart of charts) {
      expect(chart.canvases, chart.id).toBe(1);
      expect(chart.width * chart.height, chart.id).toBeGreaterThan(10_000);
      expect(chart.painted, chart.id).toBeGreaterThan(500);
    }
    const requestsChart = charts.find((c) => c.id === 'requests');
    expect(requestsChart?.points).toBeGreaterThan(0);
    expect(requestsChart?.firstLine, 'pixels of the request-rate line').toBeGreaterThan(20);
    expect(charts.find((c) => c.id === 'cache')?.points).toBeGreaterThan(0);

    await screenshot(page, 'dashboard.png');

    // It refreshes itself: new traffic shows up without a reload.
    await traffic();
    const total = requests?.total ?? 0;
    let next = await rendered(watched, shown.generatedAt);
    for (let i = 0; i < 5 && (next.data.requests?.total ?? 0) <= total + 10; i++) next = await rendered(watched, next.shown.generatedAt);
    expect(next.data.requests?.total).toBeGreaterThan(total + 10);
    expect(text(next.shown, 'requests-total')).toBe(formatInt(next.data.requests?.total ?? -1));
    expect(text(next.shown, 'fetch-error')).toBe('');

    expect(watched.consoleErrors).toEqual([]);
    expect(watched.pageErrors).toEqual([]);
    const outside = watched.requests.filter((url) => !url.startsWith(`${api.url}/`) && !url.startsWith('data:'));
    expect(outside).toEqual([]);
    // The assets load before the page drops ?token=: with no Referer, the token does not travel with them.
    await Promise.all(watched.headerReads);
    expect(watched.referred).toEqual([]);
    expect(watched.requests.filter((url) => url.includes('/v1/admin/health')).length).toBeGreaterThanOrEqual(2);
    expect(api.logs()).not.toContain(api.adminToken);
    await page.close();
  });

  it('renders slow queries with plans, N+1 findings, index suggestions and alerts, and untrusted text as text', async () => {
    const real = expectOk(await adminClient(api).get<DashboardData>('/v1/admin/health'));
    const crafted = craftedDashboard(real);
    const watched = await watchedPage(context);
    const { page } = watched;
    await page.route('**/v1/admin/health*', (route) => route.fulfill({ json: { ...crafted, generatedAt: new Date().toISOString() } }));
    expect((await page.goto(`${api.url}/admin?token=${encodeURIComponent(api.adminToken)}&refresh=3600`))?.status()).toBe(200);
    const { shown } = await rendered(watched);

    expect([shown.counts['slow-query'], shown.counts['n-plus-one-finding'], shown.counts['index-suggestion']]).toEqual([1, 1, 1]);
    expect(text(shown, 'slow-query-sql')).toBe(crafted.database?.slowQueries[0]?.exampleSql);
    expect(text(shown, 'slow-query-plan-summary')).toContain('seq scan on messages filter (content = $1)');
    expect(text(shown, 'slow-query-plan')).toContain('"Node Type": "Seq Scan"');
    expect(text(shown, 'n-plus-one-route')).toBe('GET /v1/conversations/:id/messages');
    expect(text(shown, 'n-plus-one-sql')).toBe('SELECT * FROM "tool_calls" WHERE "message_id" = $1');
    expect(text(shown, 'index-statement')).toBe(`${crafted.database?.indexSuggestions[0]?.statement};`);
    expect(text(shown, 'index-cost-before')).toBe('1,835');
    expect(text(shown, 'index-cost-after')).toBe('8.27');
    expect(shown.counts['alert-active']).toBe(1);
    expect(text(shown, 'alerts-active')).toContain(`cache=${XSS}`);
    // Nothing of the crafted markup became an element, nothing of it ran.
    expect(await page.locator('main img, main script, main b').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss)).toBeUndefined();
    await screenshot(page, 'dashboard-findings.png');

    // A plan the operator opened stays open when the page refreshes.
    await page.getByTestId('slow-query-plan-summary').click();
    expect(await page.getByTestId('slow-query-plan').isVisible()).toBe(true);
    await page.getByTestId('refresh-now').click();
    await rendered(watched, shown.generatedAt);
    expect(await page.getByTestId('slow-query-plan').isVisible()).toBe(true);
    expect(watched.consoleErrors).toEqual([]);
    expect(watched.pageErrors).toEqual([]);
    await page.close();
  });

  it('with the monitor off and no Redis it says so; a failed refresh keeps the last figures; a refused token asks for another', async () => {
    const real = expectOk(await adminClient(api).get<DashboardData>('/v1/admin/health'));
    const off = monitorOffDashboard(real);
    const watched = await watchedPage(context);
    const { page } = watched;
    let answer: 'off' | 'down' | 'refused' | 'real' = 'off';
    await page.route('**/v1/admin/health*', async (route) => {
      if (answer === 'off') return route.fulfill({ json: { ...off, generatedAt: new Date().toISOString() } });
      if (answer === 'down') return route.fulfill({ status: 503, json: { statusCode: 503, error: 'Service Unavailable', message: 'down for the test' } });
      if (answer === 'refused') return route.fulfill({ status: 401, json: { statusCode: 401, error: 'Unauthorized', message: 'Invalid admin token' } });
      return route.continue();
    });
    expect((await page.goto(`${api.url}/admin?token=${encodeURIComponent(api.adminToken)}&refresh=1`))?.status()).toBe(200);
    const first = await rendered(watched);
    expect(text(first.shown, 'requests')).toBe('monitor off');
    expect(text(first.shown, 'component-redis-status')).toBe('not configured');
    expect(text(first.shown, 'component-monitor-status')).toBe('monitor off');
    expect(text(first.shown, 'slow-queries')).toBe('monitor off');
    expect(await page.getByTestId('charts-off').isVisible()).toBe(true);
    expect(await page.getByTestId('chart-requests').isVisible()).toBe(false);

    answer = 'down';
    await page.getByTestId('fetch-error').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.getByTestId('fetch-error').textContent()).toMatch(/^Refresh failed at .*503: down for the test\. Showing the data of /);
    expect(await page.getByTestId('score-value').textContent()).toBe(String(off.score.value));

    answer = 'refused';
    await page.getByTestId('token-form').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.getByTestId('fetch-error').textContent()).toContain('The admin token was refused (401: Invalid admin token)');

    answer = 'real';
    const stamp = await page.getByTestId('updated-at').getAttribute('data-generated-at');
    await page.getByTestId('token-form').locator('input[name="token"]').fill(api.adminToken);
    await page.getByTestId('token-form').locator('button[type="submit"]').click();
    const after = await rendered(watched, stamp);
    expect(after.data.requests).not.toBeNull();
    expect(await page.getByTestId('token-form').isVisible()).toBe(false);
    expect(await page.getByTestId('fetch-error').isVisible()).toBe(false);
    expect(await page.getByTestId('chart-requests').isVisible()).toBe(true);

    expect(watched.pageErrors).toEqual([]);
    // The browser logs the 503 and 401 answers it was given as failed loads; nothing else.
    expect(watched.consoleErrors.filter((m) => !/Failed to load resource: the server responded with a status of (503|401)/.test(m))).toEqual([]);
    await page.close();
  });
});
