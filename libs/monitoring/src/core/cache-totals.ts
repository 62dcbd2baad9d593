import type { CacheMonitorEvent, CacheTotals } from './monitor-events.js';

type CountField = Exclude<keyof CacheTotals, 'cache' | 'pending'>;

/** Each count of `CacheTotals` as the lookup outcome it stands for. */
const OUTCOMES: ReadonlyArray<{ field: CountField; outcome: CacheMonitorEvent['outcome']; tier?: 'l1' | 'l2' }> = [
  { field: 'l1Hits', outcome: 'hit', tier: 'l1' },
  { field: 'l2Hits', outcome: 'hit', tier: 'l2' },
  { field: 'otherHits', outcome: 'hit' },
  { field: 'misses', outcome: 'miss' },
  { field: 'errors', outcome: 'error' },
];

interface Source {
  read: () => Iterable<CacheTotals>;
  /** The totals of each cache at the last read. */
  last: Map<string, CacheTotals>;
}

/**
 * Turns monotonic cache counts (read from their owner when asked) into the monitor's per-lookup
 * records: each `collect()` reads every source and records, per cache and outcome, how much the
 * count grew since the previous read. A count that went down was reset (its cache was made anew):
 * it is taken as grown from zero. The counts found at the first read of a cache are lookups the
 * monitor has not seen yet: they are recorded too, at that read. A lookup is thus recorded in the
 * minute of the read that found it, at most one read interval late. A cache's `pending`, a level
 * and not a count, is handed on as read.
 */
export class CacheTotalsReader {
  private readonly sources = new Set<Source>();
  /** One record per cache and outcome, reused: the monitor keeps none of them. */
  private readonly records = new Map<string, CacheMonitorEvent[]>();

  constructor(
    private readonly record: (event: CacheMonitorEvent, count: number) => void,
    private readonly setPending: (cache: string, pending: number) => void = () => undefined,
  ) {}

  /** Reads `read` at every `collect()` until the returned function is called. */
  watch(read: () => Iterable<CacheTotals>): () => void {
    const source: Source = { read, last: new Map() };
    this.sources.add(source);
    return () => {
      this.sources.delete(source);
    };
  }

  /** Reads every source now and records what grew; a source that throws is skipped until the next call. */
  collect(): void {
    for (const source of this.sources) {
      let totals: Iterable<CacheTotals>;
      try {
        totals = source.read();
        for (const current of totals) this.advance(source, current);
      } catch {
        // the owner's failure (e.g. closed): its counts come at the next read
      }
    }
  }

  private advance(source: Source, current: CacheTotals): void {
    const previous = source.last.get(current.cache);
    const records = this.recordsOf(current.cache);
    // What the next read is compared with: a count that is not one (negative, not finite) leaves
    // the previous value in place, so that it neither records nor becomes the baseline.
    const next: CacheTotals = previous === undefined ? { cache: current.cache, l1Hits: 0, l2Hits: 0, otherHits: 0, misses: 0, errors: 0 } : { ...previous };
    for (let i = 0; i < OUTCOMES.length; i++) {
      const { field } = OUTCOMES[i];
      const now = current[field];
      if (!Number.isFinite(now) || now < 0) continue;
      const before = next[field];
      const grown = now >= before ? now - before : now;
      if (grown > 0) this.record(records[i], grown);
      next[field] = now;
    }
    source.last.set(current.cache, next);
    const pending = current.pending;
    if (pending !== undefined && Number.isFinite(pending) && pending >= 0) this.setPending(current.cache, pending);
  }

  private recordsOf(cache: string): CacheMonitorEvent[] {
    let records = this.records.get(cache);
    if (records === undefined) {
      records = OUTCOMES.map(({ outcome, tier }) => (tier === undefined ? { cache, outcome } : { cache, outcome, tier }));
      this.records.set(cache, records);
    }
    return records;
  }
}
