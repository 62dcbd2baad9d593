import { parsePrometheusText, type PrometheusFamilies } from '@chat/testing';

/** Caches reported per scenario, as the monitor names them (`cache_operations_total{cache=…}`). */
export const CACHE_NAMES = ['conversation', 'ai-response', 'tool-result', 'api-key'] as const;

/** What one scrape of a process's `/metrics` says, reduced to what the load report needs. */
export interface ProcessSnapshot {
  rssBytes: number | null;
  /** p99 of the event-loop delay since the previous scrape (prom-client resets it on every scrape), ms. */
  eventLoopLagP99Ms: number | null;
  cpuSeconds: number | null;
  /** Per cache: lookups by result (hit, miss, error), all tiers summed. */
  caches: Record<string, { hit: number; miss: number; error: number }>;
  /** `queue_tasks_total` by event (submitted, completed, failed, …), all task types summed. */
  taskEvents: Record<string, number>;
}

/** A counter's samples, whichever name its family was given (`x_total` or `x`). */
function counterSamples(families: PrometheusFamilies, base: string) {
  return (families.get(`${base}_total`) ?? families.get(base))?.samples.filter((s) => s.name === `${base}_total`) ?? [];
}

function single(families: PrometheusFamilies, name: string): number | null {
  const family = families.get(name);
  const value = family?.samples.find((s) => s.name === name)?.value;
  return value === undefined || !Number.isFinite(value) ? null : value;
}

/** Reduces a Prometheus text exposition (strictly parsed) to a {@link ProcessSnapshot}. */
export function snapshotOf(metricsText: string): ProcessSnapshot {
  const families = parsePrometheusText(metricsText);
  const caches: ProcessSnapshot['caches'] = {};
  for (const s of counterSamples(families, 'cache_operations')) {
    const cache = s.labels.cache ?? '';
    const result = s.labels.result ?? '';
    const entry = (caches[cache] ??= { hit: 0, miss: 0, error: 0 });
    if (result === 'hit' || result === 'miss' || result === 'error') entry[result] += s.value;
  }
  const taskEvents: Record<string, number> = {};
  for (const s of counterSamples(families, 'queue_tasks')) {
    const event = s.labels.event ?? '';
    taskEvents[event] = (taskEvents[event] ?? 0) + s.value;
  }
  const lag = single(families, 'nodejs_eventloop_lag_p99_seconds');
  return {
    rssBytes: single(families, 'process_resident_memory_bytes'),
    eventLoopLagP99Ms: lag === null ? null : lag * 1000,
    cpuSeconds: single(families, 'process_cpu_seconds_total'),
    caches,
    taskEvents,
  };
}

export interface CacheDelta {
  cache: string;
  hits: number;
  misses: number;
  errors: number;
  /** hits ÷ (hits + misses); null without lookups. */
  hitRate: number | null;
}

/** Cache lookups between two sets of snapshots (every process of the deployment, summed). */
export function cacheDeltas(before: ProcessSnapshot[], after: ProcessSnapshot[]): CacheDelta[] {
  const sum = (snaps: ProcessSnapshot[], cache: string, result: 'hit' | 'miss' | 'error'): number =>
    snaps.reduce((n, s) => n + (s.caches[cache]?.[result] ?? 0), 0);
  return CACHE_NAMES.map((cache) => {
    const hits = sum(after, cache, 'hit') - sum(before, cache, 'hit');
    const misses = sum(after, cache, 'miss') - sum(before, cache, 'miss');
    const errors = sum(after, cache, 'error') - sum(before, cache, 'error');
    return { cache, hits, misses, errors, hitRate: hits + misses > 0 ? hits / (hits + misses) : null };
  });
}

/** Task events between two sets of snapshots, summed over the processes. */
export function taskEventDeltas(before: ProcessSnapshot[], after: ProcessSnapshot[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of after) for (const [k, v] of Object.entries(s.taskEvents)) out[k] = (out[k] ?? 0) + v;
  for (const s of before) for (const [k, v] of Object.entries(s.taskEvents)) out[k] = (out[k] ?? 0) - v;
  return out;
}
