import type { DashboardData, PerformanceScore, ScoreFinding } from './dashboard.types.js';

type Scored = Omit<DashboardData, 'score'>;

/** A rule looks at the dashboard and returns its findings (each takes points off 100). */
interface ScoreRule {
  id: string;
  title: string;
  /** Shown on the page and in the README: what the rule checks and what it costs. */
  description: string;
  check(data: Scored): Array<Omit<ScoreFinding, 'rule' | 'title'>>;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const ms = (x: number): string => `${x.toFixed(x < 10 ? 1 : 0)} ms`;
const mb = (x: number): string => `${(x / 1_048_576).toFixed(0)} MB`;

/** Caches with fewer lookups than this are not judged on their hit rate (too few to mean anything). */
const MIN_CACHE_LOOKUPS = 100;
/** Requests needed before latency and error rate are judged. */
const MIN_REQUESTS = 20;

/**
 * The performance score: 100 minus the penalties of these rules, floored at 0. Every rule is
 * measured, never estimated; a rule without enough data takes nothing off. The same list is
 * documented in libs/integration/README.md.
 */
export const SCORE_RULES: readonly ScoreRule[] = [
  {
    id: 'component-down',
    title: 'A component is down',
    description: 'database down: −50; Redis or the queue down: −20 each',
    check: (d) => {
      const out = [];
      if (d.components.database.status === 'down') {
        out.push({ penalty: 50, detail: `database: ${d.components.database.error ?? 'no answer'}`, recommendation: 'Restore the database: every request that misses the cache fails until then.' });
      }
      if (d.components.redis?.status === 'down') {
        out.push({ penalty: 20, detail: `redis: ${d.components.redis.error ?? 'no answer'}`, recommendation: 'Restore Redis: caches run on L1 only and tasks cannot be queued (503).' });
      }
      if (d.components.queue.status === 'down') {
        out.push({ penalty: 20, detail: 'the task queue is unavailable', recommendation: 'Check the queue\'s Redis connection; submissions are refused with 503 meanwhile.' });
      }
      return out;
    },
  },
  {
    id: 'alerts-firing',
    title: 'Alerts are firing',
    description: 'each firing critical alert: −15, warning: −5, info: −1 (at most −40)',
    check: (d) => {
      const firing = d.alerts.active.filter((a) => a.state === 'firing');
      if (firing.length === 0) return [];
      const cost = { critical: 15, warning: 5, info: 1 } as const;
      const penalty = Math.min(40, firing.reduce((s, a) => s + cost[a.severity], 0));
      const names = firing.map((a) => `${a.rule} (${a.severity})`).join(', ');
      return [{ penalty, detail: `${firing.length} firing: ${names}`, recommendation: 'Look at the firing alerts first: they name the metric past its threshold.' }];
    },
  },
  {
    id: 'latency',
    title: 'Slow responses',
    description: 'request p95 over the window above 1 s: −20, above 500 ms: −10, above 200 ms: −5 (from 20 requests)',
    check: (d) => {
      const r = d.requests;
      if (r === null || r.total < MIN_REQUESTS || r.p95Ms === null) return [];
      const penalty = r.p95Ms > 1_000 ? 20 : r.p95Ms > 500 ? 10 : r.p95Ms > 200 ? 5 : 0;
      if (penalty === 0) return [];
      const slowest = [...r.byRoute].sort((a, b) => b.p95Ms - a.p95Ms)[0];
      const where = slowest === undefined ? '' : ` Slowest route: ${slowest.method} ${slowest.route} (p95 ${ms(slowest.p95Ms)}).`;
      return [{ penalty, detail: `p95 ${ms(r.p95Ms)}`, recommendation: `Find where the time goes on the slowest routes: slow queries and N+1 below, cache misses.${where}` }];
    },
  },
  {
    id: 'errors',
    title: 'Server errors',
    description: '5xx share of requests above 5%: −25, above 1%: −10 (from 20 requests)',
    check: (d) => {
      const r = d.requests;
      if (r === null || r.total < MIN_REQUESTS) return [];
      const penalty = r.errorRate > 0.05 ? 25 : r.errorRate > 0.01 ? 10 : 0;
      if (penalty === 0) return [];
      return [{ penalty, detail: `${pct(r.errorRate)} of ${r.total} requests answered 5xx`, recommendation: 'Read the server logs for the failing routes (byRoute lists their errors).' }];
    },
  },
  {
    id: 'cache-hit-rate',
    title: 'Low cache hit rate',
    description: 'each cache with at least 100 lookups and a hit rate under 50%: −10 (at most −20)',
    check: (d) => {
      const out = [];
      for (const [name, stats] of Object.entries(d.caches)) {
        if (stats === null || stats.hits + stats.misses < MIN_CACHE_LOOKUPS || stats.hitRate >= 0.5) continue;
        out.push({
          penalty: 10,
          detail: `${name}: ${pct(stats.hitRate)} of ${stats.hits + stats.misses} lookups`,
          recommendation: `Raise the ${name} cache's TTL or L1 size if its entries expire or are evicted (${stats.evictions} evictions) before reuse.`,
        });
      }
      return out.slice(0, 2);
    },
  },
  {
    id: 'slow-queries',
    title: 'Slow queries',
    description: 'each slow query shape: −5 (at most −15)',
    check: (d) => (d.database?.slowQueries ?? []).slice(0, 3).map((q) => ({
      penalty: 5,
      detail: `${q.count}× up to ${ms(q.maxDurationMs)}: ${q.exampleSql.slice(0, 120)}`,
      recommendation: 'Read its plan below; an index suggestion may already cover it.',
    })),
  },
  {
    id: 'n-plus-one',
    title: 'N+1 queries',
    description: 'each route and query shape run N times in one request: −5 (at most −15)',
    check: (d) => (d.database?.nPlusOne ?? []).slice(0, 3).map((f) => ({
      penalty: 5,
      detail: `${f.route}: ${f.maxCount}× ${f.exampleSql.slice(0, 100)}`,
      recommendation: `Load these rows in one query (WHERE … IN, a join) on ${f.route}.`,
    })),
  },
  {
    id: 'index-suggestions',
    title: 'Missing indexes',
    description: 'each verified index suggestion not yet applied: −5 (at most −15)',
    check: (d) => (d.database?.indexSuggestions ?? []).slice(0, 3).map((s) => ({
      penalty: 5,
      detail: `${s.table}(${s.columns.join(', ')}): plan cost ${s.costBefore.toFixed(0)} → ${s.costAfter.toFixed(0)}`,
      recommendation: `${s.statement};`,
    })),
  },
  {
    id: 'queue-backlog',
    title: 'Task backlog',
    description: 'pending tasks above 80% of the bound: −15, above 50%: −5; failed tasks: −5; p95 wait above 5 s: −10',
    check: (d) => {
      const q = d.queue;
      if (q === null) return [];
      const out = [];
      if (q.maxPending !== null && q.maxPending > 0) {
        const fill = q.waiting / q.maxPending;
        const penalty = fill > 0.8 ? 15 : fill > 0.5 ? 5 : 0;
        if (penalty > 0) out.push({ penalty, detail: `${q.waiting} of ${q.maxPending} pending`, recommendation: 'Add workers (ROLE=worker) or raise TASK_CONCURRENCY: submissions are refused past the bound.' });
      }
      if (q.failed > 0) out.push({ penalty: 5, detail: `${q.failed} failed tasks`, recommendation: 'Read them in GET /v1/admin/tasks?status=failed and retry the ones that can succeed.' });
      if (q.p95WaitMs !== null && q.p95WaitMs > 5_000) out.push({ penalty: 10, detail: `p95 wait ${ms(q.p95WaitMs)}`, recommendation: 'Tasks wait long before they start: more workers or concurrency.' });
      return out;
    },
  },
  {
    id: 'event-loop',
    title: 'Event-loop lag',
    description: 'event-loop delay p99 above 100 ms: −15, above 50 ms: −5',
    check: (d) => {
      const lag = d.process.eventLoopLagP99Ms;
      if (lag === null) return [];
      const penalty = lag > 100 ? 15 : lag > 50 ? 5 : 0;
      return penalty === 0 ? [] : [{ penalty, detail: `p99 ${ms(lag)}`, recommendation: 'Something blocks the event loop: profile the process (node --cpu-prof) for long synchronous work.' }];
    },
  },
  {
    id: 'memory',
    title: 'Memory',
    description: 'resident memory above 1 GB: −10, above 512 MB: −5',
    check: (d) => {
      const rss = d.process.rssBytes;
      const penalty = rss > 1_073_741_824 ? 10 : rss > 536_870_912 ? 5 : 0;
      return penalty === 0 ? [] : [{ penalty, detail: `RSS ${mb(rss)}`, recommendation: 'Check the L1 caches\' sizes and take a heap snapshot if memory keeps growing.' }];
    },
  },
];

export function performanceScore(data: Scored): PerformanceScore {
  const findings: ScoreFinding[] = [];
  for (const rule of SCORE_RULES) {
    for (const f of rule.check(data)) findings.push({ rule: rule.id, title: rule.title, ...f });
  }
  const value = Math.max(0, 100 - findings.reduce((s, f) => s + f.penalty, 0));
  return {
    value,
    grade: value >= 90 ? 'good' : value >= 70 ? 'fair' : 'poor',
    findings,
    recommendations: [...new Set(findings.sort((a, b) => b.penalty - a.penalty).map((f) => f.recommendation))],
    rules: SCORE_RULES.map(({ id, title, description }) => ({ id, title, description })),
  };
}
