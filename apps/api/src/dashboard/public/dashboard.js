// @ts-check
/**
 * The admin dashboard page: fetches `GET /v1/admin/health` every few seconds and renders it.
 *
 * Served as is (no build step) under /admin/assets/; uPlot is loaded before it as a classic script
 * (`globalThis.uPlot`). Every value from the JSON reaches the page through `textContent` or a text
 * node, never through HTML parsing: SQL text, alert labels and error messages are untrusted.
 *
 * Query parameters of /admin: `token` (read once, then dropped from the address bar), `refresh`
 * (seconds between fetches, 1..3600, default 10), `minutes` (the window, 1..1440, default 60).
 *
 * Type-checked against the JSON's real types with
 * `npx tsc --noEmit --allowJs --checkJs --strict --target es2023 --module nodenext --lib es2023,dom apps/api/src/dashboard/public/dashboard.js`.
 */

/** @typedef {import('@chat/integration').DashboardData} DashboardData */
/** @typedef {import('@chat/integration').DashboardAlert} DashboardAlert */
/** @typedef {NonNullable<DashboardData['database']>} DatabaseFigures */
/** @typedef {NonNullable<DashboardData['caches'][string]>} CacheStats */
/** @typedef {import('uplot')} UPlot */
/** @typedef {import('uplot').Options} UPlotOptions */
/** @typedef {import('uplot').AlignedData} AlignedData */

const uPlotCtor = /** @type {typeof import('uplot')} */ (/** @type {any} */ (globalThis).uPlot);

// ── formatting (pure; e2e/src/admin-dashboard.e2e-spec.ts checks what they produce) ─────────────

const DASH = '—';

/** @param {number} n an integer, grouped by thousands with commas: 12,345 */
function formatInt(n) {
  const sign = n < 0 ? '-' : '';
  return sign + String(Math.round(Math.abs(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** @param {number | null | undefined} x a fraction 0..1, as a percentage with one decimal */
function formatPercent(x) {
  return x === null || x === undefined ? DASH : `${(x * 100).toFixed(1)}%`;
}

/** @param {number | null | undefined} x milliseconds */
function formatMs(x) {
  if (x === null || x === undefined) return DASH;
  return `${x < 10 ? x.toFixed(1) : formatInt(x)} ms`;
}

/** @param {number | null | undefined} x bytes, in MiB */
function formatBytes(x) {
  return x === null || x === undefined ? DASH : `${(x / 1_048_576).toFixed(1)} MB`;
}

/** @param {number} x a plan cost (PostgreSQL's units) */
function formatCost(x) {
  return x >= 100 ? formatInt(x) : x.toFixed(2);
}

/** @param {number} seconds */
function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** @param {string | number | null | undefined} at an ISO string or epoch ms; local time, with the date when not today */
function formatTime(at) {
  if (at === null || at === undefined) return DASH;
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return DASH;
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  const today = new Date();
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

/**
 * An integer query parameter within bounds, else the default.
 * @param {string | null} raw @param {number} min @param {number} max @param {number} fallback
 */
function boundedInt(raw, min, max, fallback) {
  if (raw === null || !/^\d+$/.test(raw)) return fallback;
  const n = Number(raw);
  return n >= min && n <= max ? n : fallback;
}

// ── settings and token ─────────────────────────────────────────────────────────────────────────

const params = new URLSearchParams(location.search);
const settings = {
  refreshMs: boundedInt(params.get('refresh'), 1, 3_600, 10) * 1_000,
  minutes: boundedInt(params.get('minutes'), 1, 1_440, 60),
};

/**
 * The admin token lives in this variable only. Read from `?token=` once, then removed from the
 * address bar (and so from the history entry) before anything else runs. Without one, the page was
 * served on a bearer header (a proxy adding it, say): the data is fetched without one too, and a 401
 * asks for the token.
 * @type {string | null}
 */
let token = params.get('token');
if (params.has('token')) {
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${rest === '' ? '' : `?${rest}`}${location.hash}`);
}

// ── DOM helpers ────────────────────────────────────────────────────────────────────────────────

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`the page has no #${id}`);
  return node;
}

/**
 * @typedef {{ class?: string, testid?: string, title?: string, value?: string | number | null, status?: string, key?: string }} Props
 * @typedef {Node | string | number | null | undefined | false} Child
 */

/**
 * An element with text children only (strings become text nodes: never parsed as HTML).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {Props} [props] @param {Child[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  if (props.class !== undefined) node.className = props.class;
  if (props.testid !== undefined) node.dataset['testid'] = props.testid;
  if (props.title !== undefined) node.title = props.title;
  if (props.value !== undefined && props.value !== null) node.dataset['value'] = String(props.value);
  if (props.status !== undefined) node.dataset['status'] = props.status;
  if (props.key !== undefined) node.dataset['key'] = props.key;
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'number' ? String(child) : child);
  }
  return node;
}

/** @param {HTMLElement} target @param {Child[]} children */
function fill(target, children) {
  target.replaceChildren();
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    target.append(typeof child === 'number' ? String(child) : child);
  }
}

/** A figure: label, formatted value, and the raw value in `data-value`.
 * @param {string} label @param {string} text @param {string} testid @param {string | number | null} raw */
function figure(label, text, testid, raw) {
  return el('div', { class: 'figure' }, [el('span', { class: 'label' }, [label]), el('span', { class: 'value', testid, value: raw }, [text])]);
}

/** @param {string} text */
function muted(text, testid = '') {
  return el('p', testid === '' ? { class: 'muted' } : { class: 'muted', testid }, [text]);
}

/**
 * @param {string[]} headings @param {Child[][]} rows @param {string} testid @param {string} [rowTestid]
 */
function table(headings, rows, testid, rowTestid) {
  const head = el('thead', {}, [el('tr', {}, headings.map((h) => el('th', {}, [h])))]);
  const body = el(
    'tbody',
    {},
    rows.map((cells) => el('tr', rowTestid === undefined ? {} : { testid: rowTestid }, cells.map((c) => el('td', {}, [c])))),
  );
  return el('table', { testid }, [head, body]);
}

/** @param {string} sql */
function code(sql, testid = 'sql') {
  return el('pre', { class: 'sql', testid }, [sql]);
}

// ── sections ───────────────────────────────────────────────────────────────────────────────────

/** @param {DashboardData} d */
function renderHeader(d) {
  const status = byId('status');
  status.textContent = d.status;
  status.dataset['status'] = d.status;
  status.dataset['value'] = d.status;
  byId('version').textContent = d.version;
  byId('uptime').textContent = formatDuration(d.uptimeSeconds);
  byId('uptime').dataset['value'] = String(d.uptimeSeconds);
  byId('window').textContent = `last ${d.windowMinutes} min`;
  byId('window').dataset['value'] = String(d.windowMinutes);
}

/** @param {DashboardData} d */
function renderComponents(d) {
  const c = d.components;
  /** @param {string} name @param {string} status @param {string} detail */
  const card = (name, status, detail) =>
    el('div', { class: 'component', testid: `component-${name}`, status }, [
      el('span', { class: 'name' }, [name]),
      el('span', { class: 'badge', testid: `component-${name}-status`, status }, [status]),
      el('span', { class: 'detail' }, [detail]),
    ]);
  /** @param {number | null} ms @param {string | undefined} error */
  const pingDetail = (ms, error) => [ms === null ? '' : formatMs(ms), error ?? ''].filter((s) => s !== '').join(' · ');
  fill(byId('components'), [
    card('database', c.database.status, pingDetail(c.database.latencyMs, c.database.error)),
    c.redis === null ? card('redis', 'not configured', 'in-process caches and queue') : card('redis', c.redis.status, pingDetail(c.redis.latencyMs, c.redis.error)),
    card('queue', c.queue.status, c.queue.driver ?? ''),
    card('cache', c.cache.status, c.cache.l2 === null ? '' : `L2 ${c.cache.l2}`),
    card('monitor', c.monitor.status === 'disabled' ? 'monitor off' : c.monitor.status, ''),
  ]);
}

/** @param {DashboardData} d */
function renderScore(d) {
  const s = d.score;
  const value = byId('score-value');
  value.textContent = String(s.value);
  value.dataset['value'] = String(s.value);
  value.dataset['status'] = s.grade;
  const grade = byId('score-grade');
  grade.textContent = s.grade;
  grade.dataset['status'] = s.grade;
  fill(byId('score-findings'), [
    s.findings.length === 0
      ? muted('No rule takes points off: nothing to fix.', 'score-no-findings')
      : table(
          ['rule', 'penalty', 'measured'],
          s.findings.map((f) => [el('span', { title: f.rule }, [f.title]), `−${f.penalty}`, f.detail]),
          'score-findings-table',
          'score-finding',
        ),
  ]);
  fill(byId('score-recommendations'), [
    s.recommendations.length === 0 ? null : el('ol', {}, s.recommendations.map((r) => el('li', { testid: 'recommendation' }, [r]))),
  ]);
}

/** @param {DashboardData} d */
function renderRequests(d) {
  const r = d.requests;
  if (r === null) {
    fill(byId('requests'), [muted('monitor off', 'requests-off')]);
    fill(byId('routes'), []);
    return;
  }
  fill(byId('requests'), [
    figure('requests', formatInt(r.total), 'requests-total', r.total),
    figure('rate', `${r.ratePerSec.toFixed(2)}/s`, 'requests-rate', r.ratePerSec),
    figure('5xx', formatPercent(r.errorRate), 'requests-error-rate', r.errorRate),
    figure('p50', formatMs(r.p50Ms), 'requests-p50', r.p50Ms),
    figure('p95', formatMs(r.p95Ms), 'requests-p95', r.p95Ms),
    figure('p99', formatMs(r.p99Ms), 'requests-p99', r.p99Ms),
  ]);
  fill(byId('routes'), [
    r.byRoute.length === 0
      ? muted('No request yet.')
      : table(
          ['route', 'requests', '5xx', 'mean', 'p95', 'max'],
          r.byRoute.map((x) => [`${x.method} ${x.route}`, formatInt(x.count), formatInt(x.errors), formatMs(x.meanMs), formatMs(x.p95Ms), formatMs(x.maxMs)]),
          'routes-table',
          'route',
        ),
  ]);
}

/** @param {DashboardData} d */
function renderCaches(d) {
  const rows = Object.entries(d.caches).map(([name, s]) =>
    s === null
      ? [name, el('span', { testid: `cache-${name}-hit-rate` }, ['off']), '', '', '', '', '']
      : [
          name,
          el('span', { testid: `cache-${name}-hit-rate`, value: s.hitRate }, [formatPercent(s.hitRate)]),
          el('span', { testid: `cache-${name}-hits`, value: s.hits }, [formatInt(s.hits)]),
          el('span', { testid: `cache-${name}-misses`, value: s.misses }, [formatInt(s.misses)]),
          `${formatInt(s.l1.hits)} · ${formatInt(s.l1.size)} keys · ${formatBytes(s.l1.bytes)}`,
          `${formatInt(s.l2.hits)} · ${formatInt(s.l2.errors)} errors`,
          `${formatInt(s.evictions)} / ${formatInt(s.stampedesCoalesced)}`,
        ],
  );
  fill(byId('caches'), [
    table(['cache', 'hit rate', 'hits', 'misses', 'L1 hits', 'L2 hits', 'evicted / coalesced'], rows, 'caches-table', 'cache'),
  ]);
}

/** @param {DashboardData} d */
function renderQueue(d) {
  const q = d.queue;
  if (q === null) {
    fill(byId('queue'), [muted('task processor off', 'queue-off')]);
    return;
  }
  const priorities = Object.entries(q.byPriority);
  fill(byId('queue'), [
    el('div', { class: 'figures' }, [
      figure('waiting', formatInt(q.waiting), 'queue-waiting', q.waiting),
      figure('active', formatInt(q.active), 'queue-active', q.active),
      figure('completed', formatInt(q.completed), 'queue-completed', q.completed),
      figure('failed', formatInt(q.failed), 'queue-failed', q.failed),
      figure('delayed', formatInt(q.delayed), 'queue-delayed', q.delayed),
      figure('per minute', q.throughputPerMin.toFixed(1), 'queue-throughput', q.throughputPerMin),
      figure('p95 wait', formatMs(q.p95WaitMs), 'queue-p95-wait', q.p95WaitMs),
      figure('p95 run', formatMs(q.p95RunMs), 'queue-p95-run', q.p95RunMs),
      figure('bound', q.maxPending === null ? DASH : formatInt(q.maxPending), 'queue-max-pending', q.maxPending),
      figure('driver', q.driver ?? DASH, 'queue-driver', q.driver),
    ]),
    priorities.length === 0
      ? null
      : table(
          ['priority', 'waiting', 'active', 'completed', 'failed'],
          priorities.map(([p, c]) => [p, formatInt(c.waiting), formatInt(c.active), formatInt(c.completed), formatInt(c.failed)]),
          'queue-priorities',
        ),
  ]);
}

/** @param {NonNullable<DatabaseFigures['slowQueries'][number]['plan']>} plan */
function planSummary(plan) {
  const s = plan.summary;
  const parts = [`cost ${formatCost(s.totalCost)}`, `${formatInt(s.planRows)} rows`, s.nodeTypes.join(' → ')];
  if (s.indexes.length > 0) parts.push(`indexes: ${s.indexes.join(', ')}`);
  for (const scan of s.seqScans) parts.push(`seq scan on ${scan.relation}${scan.filter === null ? '' : ` filter ${scan.filter}`}`);
  return parts.join(' · ');
}

/** @param {DatabaseFigures['slowQueries'][number]} q */
function slowQuery(q) {
  const plan =
    q.plan === null
      ? muted(q.explainError === null ? 'plan not captured yet' : `explain failed: ${q.explainError}`, 'slow-query-no-plan')
      : el('details', { class: 'plan', key: `plan:${q.fingerprint}` }, [
          el('summary', { testid: 'slow-query-plan-summary' }, [`plan${q.plan.generic ? ' (generic)' : ''}: ${planSummary(q.plan)}`]),
          el('pre', { class: 'plan-json', testid: 'slow-query-plan' }, [q.plan.json === null ? '(plan too large: summary only)' : JSON.stringify(q.plan.json, null, 2)]),
        ]);
  return el('li', { class: 'finding', testid: 'slow-query' }, [
    el('div', { class: 'meta' }, [
      el('strong', {}, [q.operation]),
      ` ${formatInt(q.count)}× · max ${formatMs(q.maxDurationMs)} · mean ${formatMs(q.meanDurationMs)} · last ${formatTime(q.lastSeenAt)}`,
      q.routes.length === 0 ? null : ` · ${q.routes.join(', ')}`,
    ]),
    code(q.exampleSql, 'slow-query-sql'),
    plan,
  ]);
}

/** @param {DatabaseFigures['indexSuggestions'][number]} s */
function indexSuggestion(s) {
  const saved = s.costBefore > 0 ? 1 - s.costAfter / s.costBefore : 0;
  return el('li', { class: 'finding', testid: 'index-suggestion' }, [
    el('div', { class: 'meta' }, [
      el('strong', {}, [`${s.schema}.${s.table}`]),
      ` (${s.columns.join(', ')}) · plan cost `,
      el('span', { testid: 'index-cost-before', value: s.costBefore }, [formatCost(s.costBefore)]),
      ' → ',
      el('span', { testid: 'index-cost-after', value: s.costAfter }, [formatCost(s.costAfter)]),
      ` (−${formatPercent(saved)}) · verified with ${s.verifiedWith}`,
    ]),
    code(`${s.statement};`, 'index-statement'),
    el('details', { key: `index:${s.indexName}` }, [
      el('summary', {}, [`serves ${s.queries.length} ${s.queries.length === 1 ? 'query' : 'queries'}`]),
      el(
        'ul',
        {},
        s.queries.map((q) => el('li', {}, [`cost ${formatCost(q.costBefore)} → ${formatCost(q.costAfter)}`, code(q.sql, 'index-query-sql')])),
      ),
    ]),
  ]);
}

/** @param {DatabaseFigures['nPlusOne'][number]} f */
function nPlusOne(f) {
  return el('li', { class: 'finding', testid: 'n-plus-one-finding' }, [
    el('div', { class: 'meta' }, [
      el('strong', { testid: 'n-plus-one-route' }, [f.route]),
      ` · up to ${formatInt(f.maxCount)}× per request in ${formatInt(f.occurrences)} requests · ${formatInt(f.totalCount)} queries, ${formatMs(f.totalMs)} in all · last ${formatTime(f.lastSeenAt)}`,
    ]),
    code(f.exampleSql, 'n-plus-one-sql'),
  ]);
}

/** @param {DashboardData} d */
function renderDatabase(d) {
  const db = d.database;
  if (db === null) {
    for (const id of ['database', 'slow-queries', 'n-plus-one', 'index-suggestions']) fill(byId(id), [muted('monitor off')]);
    return;
  }
  fill(byId('database'), [
    figure('queries', formatInt(db.queries), 'db-queries', db.queries),
    figure('p95', formatMs(db.p95Ms), 'db-p95', db.p95Ms),
    figure('slow shapes', formatInt(db.slowQueries.length), 'db-slow-count', db.slowQueries.length),
  ]);
  fill(byId('slow-queries'), [db.slowQueries.length === 0 ? muted('No slow query.') : el('ul', { class: 'findings' }, db.slowQueries.map(slowQuery))]);
  fill(byId('n-plus-one'), [db.nPlusOne.length === 0 ? muted('No N+1 pattern found.') : el('ul', { class: 'findings' }, db.nPlusOne.map(nPlusOne))]);
  fill(byId('index-suggestions'), [
    db.indexSuggestions.length === 0 ? muted('No index suggestion.') : el('ul', { class: 'findings' }, db.indexSuggestions.map(indexSuggestion)),
  ]);
}

/**
 * An alert's value or threshold in its metric's unit, told by the metric key's suffix
 * (`…_ms`, `…_bytes`, `…rate`: see libs/monitoring's default rules).
 * @param {string} metric @param {number} value
 */
function formatMetric(metric, value) {
  if (metric.endsWith('_ms')) return formatMs(value);
  if (metric.endsWith('_bytes')) return formatBytes(value);
  if (metric.endsWith('rate')) return formatPercent(value);
  return Number.isInteger(value) ? formatInt(value) : value.toFixed(2);
}

/** @param {DashboardAlert} a */
function alertLabels(a) {
  const entries = Object.entries(a.labels);
  return entries.length === 0 ? '' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}

/** @param {DashboardData} d */
function renderAlerts(d) {
  const { active, recent } = d.alerts;
  /** @param {DashboardAlert} a */
  const severity = (a) => el('span', { class: 'badge', status: a.severity }, [a.severity]);
  fill(byId('alerts-active'), [
    active.length === 0
      ? muted('No active alert.', 'alerts-none')
      : table(
          ['severity', 'state', 'rule', 'metric', 'labels', 'value', 'threshold', 'since', 'fired'],
          active.map((a) => [
            severity(a),
            a.state,
            a.rule,
            a.metric,
            alertLabels(a),
            formatMetric(a.metric, a.value),
            formatMetric(a.metric, a.threshold),
            formatTime(a.since),
            formatTime(a.firedAt),
          ]),
          'alerts-active-table',
          'alert-active',
        ),
  ]);
  fill(byId('alerts-recent'), [
    recent.length === 0
      ? muted('No alert yet.')
      : table(
          ['severity', 'state', 'rule', 'labels', 'value', 'threshold', 'since', 'resolved'],
          recent.map((a) => [
            severity(a),
            a.state,
            a.rule,
            alertLabels(a),
            formatMetric(a.metric, a.value),
            formatMetric(a.metric, a.threshold),
            formatTime(a.since),
            formatTime(a.resolvedAt),
          ]),
          'alerts-recent-table',
          'alert-recent',
        ),
  ]);
}

/** @param {DashboardData} d */
function renderProcess(d) {
  const p = d.process;
  fill(byId('process'), [
    figure('RSS', formatBytes(p.rssBytes), 'process-rss', p.rssBytes),
    figure('heap used', formatBytes(p.heapUsedBytes), 'process-heap', p.heapUsedBytes),
    figure('event-loop p99', formatMs(p.eventLoopLagP99Ms), 'process-lag', p.eventLoopLagP99Ms),
    figure('CPU', p.cpuPercent === null ? DASH : `${p.cpuPercent.toFixed(1)}%`, 'process-cpu', p.cpuPercent),
  ]);
}

// ── charts ─────────────────────────────────────────────────────────────────────────────────────

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777'];

/**
 * @typedef {{ label: string, values: Array<number | null> }} Line
 * @typedef {{ id: string, unit: (v: number) => string, lines: Line[], min?: number, max?: number }} ChartSpec
 */

/** @type {Map<string, { plot: UPlot, key: string }>} */
const charts = new Map();

/** @param {number | null | undefined} v @param {(v: number) => string} unit */
const legendValue = (v, unit) => (v === null || v === undefined ? DASH : unit(v));

/**
 * Indices of the values with no value on either side (a line cannot show them).
 * @param {UPlot} u @param {number} seriesIdx @returns {number[]}
 */
function isolatedPoints(u, seriesIdx) {
  const values = u.data[seriesIdx] ?? [];
  const has = (/** @type {number} */ i) => values[i] !== null && values[i] !== undefined;
  const out = [];
  for (let i = 0; i < values.length; i++) if (has(i) && !has(i - 1) && !has(i + 1)) out.push(i);
  return out;
}

/** Axis labels: short, so that they fit the axis (1,250 ms → 1.3 s). @param {(v: number) => string} unit */
function axisLabel(unit) {
  if (unit !== formatMs) return unit;
  return (/** @type {number} */ v) => (v >= 1_000 ? `${(v / 1_000).toFixed(v >= 10_000 ? 0 : 1)} s` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);
}

/** @param {ChartSpec} spec @param {number} width @returns {UPlotOptions} */
function chartOptions(spec, width) {
  /** @type {UPlotOptions['scales']} */
  const scales = { x: { time: true } };
  if (spec.min !== undefined || spec.max !== undefined) {
    const lo = spec.min;
    const hi = spec.max;
    scales['y'] = { range: (_u, dataMin, dataMax) => [lo ?? Math.min(0, dataMin), hi ?? Math.max(dataMax, 1)] };
  } else {
    scales['y'] = { range: (_u, _dataMin, dataMax) => [0, dataMax > 0 ? dataMax * 1.1 : 1] };
  }
  return {
    width,
    height: 180,
    scales,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    series: [
      { value: (_u, v) => formatTime(v === null ? null : v * 1_000) },
      ...spec.lines.map((line, i) => ({
        label: line.label,
        stroke: COLORS[i % COLORS.length],
        width: 1.5,
        spanGaps: false,
        // A minute with a value between two without one draws no line: mark it with a dot instead.
        points: { show: true, size: 5, filter: isolatedPoints },
        value: (/** @type {UPlot} */ _u, /** @type {number | null} */ v) => legendValue(v, spec.unit),
      })),
    ],
    axes: [{}, { size: 64, values: (_u, splits) => splits.map(axisLabel(spec.unit)) }],
  };
}

/** @param {ChartSpec} spec @param {number[]} minutes */
function drawChart(spec, minutes) {
  const box = byId(`chart-${spec.id}`);
  /** @type {AlignedData} */
  const data = [minutes.map((m) => m / 1_000), ...spec.lines.map((l) => l.values)];
  const points = spec.lines.reduce((n, l) => n + l.values.filter((v) => v !== null).length, 0);
  box.dataset['points'] = String(points);
  const key = spec.lines.map((l) => l.label).join('\u0000');
  const existing = charts.get(spec.id);
  if (existing !== undefined && existing.key === key) {
    existing.plot.setData(data);
    return;
  }
  existing?.plot.destroy();
  box.replaceChildren();
  const width = Math.max(240, box.clientWidth);
  charts.set(spec.id, { plot: new uPlotCtor(chartOptions(spec, width), data, box), key });
}

const resize = new ResizeObserver(() => {
  for (const [id, { plot }] of charts) {
    const width = Math.max(240, byId(`chart-${id}`).clientWidth);
    if (Math.abs(width - plot.width) > 2) plot.setSize({ width, height: 180 });
  }
});

/** @param {DashboardData} d */
function renderCharts(d) {
  const s = d.series;
  const off = byId('charts-off');
  document.body.dataset['series'] = s === null ? 'off' : 'on';
  if (s === null) {
    off.hidden = false;
    for (const [id, { plot }] of charts) {
      plot.destroy();
      byId(`chart-${id}`).dataset['points'] = '0';
    }
    charts.clear();
    return;
  }
  off.hidden = true;
  const perSecond = (/** @type {number[]} */ counts) => counts.map((c) => c / 60);
  // A minute without requests has no latency (the JSON says 0 there): a gap, not a fall to 0 ms.
  const whenServed = (/** @type {number[]} */ values) => values.map((v, i) => ((s.requests.count[i] ?? 0) > 0 ? v : null));
  const rate = (/** @type {number} */ v) => `${v < 10 ? v.toFixed(2) : formatInt(v)}/s`;
  const count = (/** @type {number} */ v) => (Number.isInteger(v) ? formatInt(v) : v.toFixed(1));
  /** @type {ChartSpec[]} */
  const specs = [
    { id: 'requests', unit: rate, lines: [{ label: 'requests', values: perSecond(s.requests.count) }, { label: '5xx', values: perSecond(s.requests.errors) }] },
    {
      id: 'latency',
      unit: formatMs,
      lines: [
        { label: 'p50', values: whenServed(s.requests.p50Ms) },
        { label: 'p95', values: whenServed(s.requests.p95Ms) },
        { label: 'p99', values: whenServed(s.requests.p99Ms) },
      ],
    },
    {
      id: 'cache',
      unit: (v) => `${Math.round(v * 100)}%`,
      min: 0,
      max: 1,
      lines: Object.entries(s.cacheHitRate).map(([name, values]) => ({ label: name, values })),
    },
    {
      id: 'queue',
      unit: count,
      lines: [
        { label: 'pending', values: s.queue.depth },
        { label: 'submitted/min', values: s.queue.submitted },
        { label: 'completed/min', values: s.queue.completed },
        { label: 'failed/min', values: s.queue.failed },
      ],
    },
    { id: 'database', unit: count, lines: [{ label: 'queries/min', values: s.database.count }, { label: 'slow/min', values: s.database.slow }] },
    {
      id: 'process',
      unit: count,
      lines: [
        { label: 'event-loop p99 ms', values: s.process.eventLoopLagP99Ms },
        { label: 'CPU %', values: s.process.cpuPercent },
      ],
    },
  ];
  for (const spec of specs) drawChart(spec, s.minutes);
}

// ── fetching and refreshing ────────────────────────────────────────────────────────────────────

/** A fetch that takes longer than this counts as failed (the JSON is built in well under a second). */
const FETCH_TIMEOUT_MS = 15_000;

/** @type {DashboardData | null} */
let last = null;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;
let loading = false;

class HttpError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** @returns {Promise<DashboardData>} */
async function fetchDashboard() {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  const url = new URL(`v1/admin/health?minutes=${settings.minutes}`, location.href);
  const res = await fetch(url, { headers, cache: 'no-store', credentials: 'omit', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = /** @type {{ message?: unknown }} */ (await res.json());
      if (typeof body.message === 'string') message = `${res.status}: ${body.message}`;
    } catch {
      // not JSON: the status line says enough
    }
    throw new HttpError(res.status, message);
  }
  return /** @type {DashboardData} */ (await res.json());
}

/** @param {string | null} message */
function showError(message) {
  const box = byId('fetch-error');
  box.hidden = message === null;
  box.textContent = message ?? '';
}

/** @param {DashboardData} d */
function render(d) {
  // Sections are rebuilt on every refresh: a plan the operator has opened stays open.
  const open = new Set(Array.from(document.querySelectorAll('details[open][data-key]'), (node) => node.getAttribute('data-key')));
  renderHeader(d);
  renderComponents(d);
  renderScore(d);
  renderRequests(d);
  renderCaches(d);
  renderQueue(d);
  renderDatabase(d);
  renderAlerts(d);
  renderProcess(d);
  renderCharts(d);
  for (const node of document.querySelectorAll('details[data-key]')) {
    if (node instanceof HTMLDetailsElement && open.has(node.getAttribute('data-key'))) node.open = true;
  }
  const stamp = byId('updated-at');
  stamp.textContent = `updated ${formatTime(d.generatedAt)}`;
  stamp.dataset['generatedAt'] = d.generatedAt;
  document.body.dataset['state'] = 'ready';
}

async function refresh() {
  if (loading) return;
  loading = true;
  clearTimeout(timer);
  timer = undefined;
  byId('refresh-now').setAttribute('aria-busy', 'true');
  let stop = false;
  try {
    const data = await fetchDashboard();
    last = data;
    render(data);
    showError(null);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const kept = last === null ? '' : ` Showing the data of ${formatTime(last.generatedAt)}.`;
    if (error instanceof HttpError && (error.status === 401 || error.status === 403)) {
      // The token is wrong (or missing): polling again cannot help until another one is given.
      stop = true;
      byId('token-form').hidden = false;
      showError(`The admin token was refused (${message}).${kept}`);
    } else {
      showError(`Refresh failed at ${formatTime(Date.now())}: ${message}.${kept}`);
    }
  } finally {
    loading = false;
    byId('refresh-now').removeAttribute('aria-busy');
    if (!stop) timer = setTimeout(() => void refresh(), settings.refreshMs);
  }
}

function start() {
  byId('refresh-every').textContent = `every ${settings.refreshMs / 1_000} s`;
  byId('refresh-now').addEventListener('click', () => void refresh());
  const form = /** @type {HTMLFormElement} */ (byId('token-form'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = /** @type {HTMLInputElement | null} */ (form.elements.namedItem('token'));
    const value = input?.value.trim() ?? '';
    if (value === '') return;
    token = value;
    if (input !== null) input.value = '';
    form.hidden = true;
    void refresh();
  });
  for (const box of document.querySelectorAll('.chart')) resize.observe(box);
  void refresh();
}

start();
