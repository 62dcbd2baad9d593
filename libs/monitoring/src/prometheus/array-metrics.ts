import type { Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

interface ExportedValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface Exported {
  name: string;
  help: string;
  type: 'histogram' | 'counter';
  values: ExportedValue[];
  aggregator: 'sum';
}

/** One label set of an {@link ArrayHistogram}: resolve it once, observe into it many times. */
export interface HistogramSeries {
  readonly labels: Labels;
  /** Non-cumulative: `counts[i]` for `buckets[i]`, the last one for `+Inf`. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
  /** False once the metric was reset: a caller holding the series resolves it again. */
  live: boolean;
}

/** One label set of an {@link ArrayCounter}. */
export interface CounterSeries {
  readonly labels: Labels;
  value: number;
  /** False once the metric was reset: a caller holding the series resolves it again. */
  live: boolean;
}

/**
 * A Prometheus histogram kept in plain arrays and exported only when scraped, registered in a
 * prom-client registry like any metric. prom-client's own `observe` validates and hashes the label
 * set on every call (children included): on a path run for every request that was most of the
 * monitor's cost; here a request costs a bucket search and three additions on a series it
 * resolved once.
 */
export class ArrayHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly all = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The series of `key` (a caller-chosen string identifying `labels`), created on first use. */
  series(key: string, labels: () => Labels): HistogramSeries {
    let s = this.all.get(key);
    if (s === undefined) {
      s = { labels: labels(), counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0, live: true };
      this.all.set(key, s);
    }
    return s;
  }

  observe(series: HistogramSeries, value: number): void {
    let i = 0;
    while (i < this.buckets.length && value > (this.buckets[i] ?? Infinity)) i++;
    series.counts[i] = (series.counts[i] ?? 0) + 1;
    series.sum += value;
    series.count++;
  }

  get(): Promise<Exported> {
    const values: ExportedValue[] = [];
    for (const s of this.all.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += s.counts[i] ?? 0;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: i < this.buckets.length ? (this.buckets[i] ?? 0) : '+Inf' }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    for (const s of this.all.values()) s.live = false;
    this.all.clear();
  }
}

/** A Prometheus counter kept in plain numbers and exported when scraped (see {@link ArrayHistogram}). */
export class ArrayCounter {
  readonly type = 'counter' as const;
  readonly aggregator = 'sum' as const;
  private readonly all = new Map<string, CounterSeries>();
  private readonly collectors = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  series(key: string, labels: () => Labels): CounterSeries {
    let s = this.all.get(key);
    if (s === undefined) {
      s = { labels: labels(), value: 0, live: true };
      this.all.set(key, s);
    }
    return s;
  }

  /** Runs `collect` at each scrape, before the values are read (e.g. to bring in counts kept elsewhere); returns its removal. */
  beforeCollect(collect: () => void): () => void {
    const own = (): void => collect();
    this.collectors.add(own);
    return () => this.collectors.delete(own);
  }

  get(): Promise<Exported> {
    for (const collect of this.collectors) {
      try {
        collect();
      } catch {
        // a source's failure must not fail the scrape: its counts come at the next one
      }
    }
    const values = [...this.all.values()].map((s) => ({ labels: { ...s.labels }, value: s.value }));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    for (const s of this.all.values()) s.live = false;
    this.all.clear();
  }
}
