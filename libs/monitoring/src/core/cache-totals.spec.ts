import { describe, expect, it } from 'vitest';
import { CacheTotalsReader } from './cache-totals.js';
import type { CacheMonitorEvent, CacheTotals } from './monitor-events.js';

type Recorded = [CacheMonitorEvent, number];

/** A reader whose records are collected as `[copy of the event, count]` (the reader reuses its event objects). */
function reader(): { reader: CacheTotalsReader; records: Recorded[]; events: CacheMonitorEvent[]; take: () => Recorded[] } {
  const records: Recorded[] = [];
  const events: CacheMonitorEvent[] = [];
  const r = new CacheTotalsReader((event, count) => {
    events.push(event);
    records.push([{ ...event }, count]);
  });
  return { reader: r, records, events, take: () => records.splice(0) };
}

function totals(cache: string, counts: Partial<Omit<CacheTotals, 'cache'>> = {}): CacheTotals {
  return { cache, l1Hits: 0, l2Hits: 0, otherHits: 0, misses: 0, errors: 0, ...counts };
}

/** A source whose totals the test sets between collects. */
function source(...initial: CacheTotals[]): { current: CacheTotals[]; reads: number; read: () => CacheTotals[] } {
  const s = {
    current: initial,
    reads: 0,
    read: () => {
      s.reads++;
      return s.current;
    },
  };
  return s;
}

/** Records as a sorted, comparable list: `cache outcome[/tier] ×count`. */
function summary(records: readonly Recorded[]): string[] {
  return records.map(([e, n]) => `${e.cache} ${e.outcome}${e.tier === undefined ? '' : `/${e.tier}`} ×${n}`).sort();
}

describe('CacheTotalsReader', () => {
  it('records the whole totals at the first read, each field as its outcome and tier', () => {
    const { reader: r, take } = reader();
    r.watch(() => [totals('conversation', { l1Hits: 5, l2Hits: 3, otherHits: 2, misses: 7, errors: 1 })]);
    r.collect();
    const records = take();
    expect(records).toHaveLength(5);
    expect(records).toEqual(
      expect.arrayContaining([
        [{ cache: 'conversation', outcome: 'hit', tier: 'l1' }, 5],
        [{ cache: 'conversation', outcome: 'hit', tier: 'l2' }, 3],
        [{ cache: 'conversation', outcome: 'hit' }, 2],
        [{ cache: 'conversation', outcome: 'miss' }, 7],
        [{ cache: 'conversation', outcome: 'error' }, 1],
      ]),
    );
    // Tierless records carry no `tier` key at all (not `tier: undefined`).
    for (const [event] of records) {
      if (event.tier === undefined) expect(Object.keys(event).sort()).toEqual(['cache', 'outcome']);
    }
  });

  it('records nothing for a zero count, nor when nothing was watched', () => {
    const { reader: r, take } = reader();
    r.collect();
    expect(take()).toEqual([]);
    r.watch(() => [totals('c', { misses: 4 })]);
    r.collect();
    expect(take()).toEqual([[{ cache: 'c', outcome: 'miss' }, 4]]);
  });

  it('then records only the growth since the previous read, and nothing when unchanged', () => {
    const { reader: r, take } = reader();
    const s = source(totals('c', { l1Hits: 10, l2Hits: 1, misses: 4 }));
    r.watch(s.read);
    r.collect();
    take();

    s.current = [totals('c', { l1Hits: 13, l2Hits: 1, otherHits: 2, misses: 5, errors: 0 })];
    r.collect();
    expect(summary(take())).toEqual(['c hit ×2', 'c hit/l1 ×3', 'c miss ×1']);

    r.collect();
    expect(take()).toEqual([]);
    r.collect();
    expect(take()).toEqual([]);

    s.current = [totals('c', { l1Hits: 13, l2Hits: 1, otherHits: 2, misses: 5, errors: 6 })];
    r.collect();
    expect(take()).toEqual([[{ cache: 'c', outcome: 'error' }, 6]]);
    expect(s.reads).toBe(5);
  });

  it('takes a count that went down as reset: it grew from zero', () => {
    const { reader: r, take } = reader();
    const s = source(totals('c', { l1Hits: 100, misses: 50 }));
    r.watch(s.read);
    r.collect();
    take();

    // The cache was made anew: l1Hits restarted and is now 7, misses restarted and is still 0.
    s.current = [totals('c', { l1Hits: 7, misses: 0 })];
    r.collect();
    expect(take()).toEqual([[{ cache: 'c', outcome: 'hit', tier: 'l1' }, 7]]);

    // From there on, growth from the new counts.
    s.current = [totals('c', { l1Hits: 9, misses: 3 })];
    r.collect();
    expect(summary(take())).toEqual(['c hit/l1 ×2', 'c miss ×3']);
  });

  it('follows several caches of one source, each from its own previous totals; a cache first seen later records its whole totals', () => {
    const { reader: r, take } = reader();
    const s = source(totals('a', { l1Hits: 1 }), totals('b', { misses: 2 }));
    r.watch(s.read);
    r.collect();
    expect(summary(take())).toEqual(['a hit/l1 ×1', 'b miss ×2']);

    s.current = [totals('a', { l1Hits: 4 }), totals('b', { misses: 2 }), totals('new', { l2Hits: 9 })];
    r.collect();
    expect(summary(take())).toEqual(['a hit/l1 ×3', 'new hit/l2 ×9']);

    // A cache absent from one read keeps its last totals for when it is back.
    s.current = [totals('b', { misses: 5 })];
    r.collect();
    expect(summary(take())).toEqual(['b miss ×3']);
    s.current = [totals('a', { l1Hits: 6 }), totals('b', { misses: 5 }), totals('new', { l2Hits: 9 })];
    r.collect();
    expect(summary(take())).toEqual(['a hit/l1 ×2']);
  });

  it('reads every watched source; each keeps its own previous totals, even for the same cache name', () => {
    const { reader: r, take } = reader();
    const one = source(totals('shared', { misses: 10 }));
    const two = source(totals('shared', { misses: 1 }), totals('own', { errors: 2 }));
    r.watch(one.read);
    r.watch(two.read);
    r.collect();
    expect(summary(take())).toEqual(['own error ×2', 'shared miss ×1', 'shared miss ×10']);

    one.current = [totals('shared', { misses: 12 })];
    two.current = [totals('shared', { misses: 1 }), totals('own', { errors: 2 })];
    r.collect();
    // 12 − 10 from the first; the second is unchanged (its 1 is not compared with the first's 12).
    expect(take()).toEqual([[{ cache: 'shared', outcome: 'miss' }, 2]]);
    expect([one.reads, two.reads]).toEqual([2, 2]);
  });

  it('accepts any iterable (e.g. a generator)', () => {
    const { reader: r, take } = reader();
    r.watch(function* () {
      yield totals('g', { otherHits: 3 });
    });
    r.collect();
    expect(take()).toEqual([[{ cache: 'g', outcome: 'hit' }, 3]]);
  });

  it('skips a source that throws without stopping the others, and reads it again at the next collect', () => {
    const { reader: r, take } = reader();
    const before = source(totals('before', { misses: 1 }));
    let failing = true;
    let failingReads = 0;
    const after = source(totals('after', { misses: 2 }));
    r.watch(before.read);
    r.watch(() => {
      failingReads++;
      if (failing) throw new Error('engine closed');
      return [totals('flaky', { l1Hits: 4 })];
    });
    r.watch(after.read);

    expect(() => r.collect()).not.toThrow();
    expect(summary(take())).toEqual(['after miss ×2', 'before miss ×1']);
    expect(failingReads).toBe(1);

    failing = false;
    r.collect();
    // Its counts come at the next read that succeeds, whole (it was never read before).
    expect(take()).toEqual([[{ cache: 'flaky', outcome: 'hit', tier: 'l1' }, 4]]);
    expect([before.reads, failingReads, after.reads]).toEqual([2, 2, 2]);
  });

  it('a source whose iteration throws part-way keeps what it read before the throw', () => {
    const { reader: r, take } = reader();
    let fail = true;
    let a = 1;
    r.watch(function* () {
      yield totals('a', { misses: a });
      if (fail) throw new Error('half-way');
      yield totals('b', { misses: 5 });
    });
    r.collect();
    expect(take()).toEqual([[{ cache: 'a', outcome: 'miss' }, 1]]);
    fail = false;
    a = 3;
    r.collect();
    expect(summary(take())).toEqual(['a miss ×2', 'b miss ×5']);
  });

  it('stops reading a source once detached; detaching twice is harmless; other sources go on', () => {
    const { reader: r, take } = reader();
    const gone = source(totals('gone', { misses: 1 }));
    const kept = source(totals('kept', { misses: 1 }));
    const detach = r.watch(gone.read);
    r.watch(kept.read);
    r.collect();
    take();

    detach();
    expect(() => detach()).not.toThrow();
    gone.current = [totals('gone', { misses: 100 })];
    kept.current = [totals('kept', { misses: 4 })];
    r.collect();
    expect(take()).toEqual([[{ cache: 'kept', outcome: 'miss' }, 3]]);
    expect(gone.reads).toBe(1);
    expect(kept.reads).toBe(2);
  });

  it('watching the same read function again after detaching starts it afresh (whole totals)', () => {
    const { reader: r, take } = reader();
    const s = source(totals('c', { misses: 5 }));
    r.watch(s.read)();
    r.collect();
    expect(take()).toEqual([]);
    r.watch(s.read);
    r.collect();
    expect(take()).toEqual([[{ cache: 'c', outcome: 'miss' }, 5]]);
  });

  it('hands the same record object for a cache and outcome at every collect, and distinct ones otherwise', () => {
    const { reader: r, events, take } = reader();
    const s = source(totals('a', { l1Hits: 1, l2Hits: 1 }), totals('b', { l1Hits: 1 }));
    r.watch(s.read);
    r.collect();
    const [aL1, aL2, bL1] = [...events];
    expect(aL1).toEqual({ cache: 'a', outcome: 'hit', tier: 'l1' });
    expect(aL2).toEqual({ cache: 'a', outcome: 'hit', tier: 'l2' });
    expect(bL1).toEqual({ cache: 'b', outcome: 'hit', tier: 'l1' });
    expect(new Set([aL1, aL2, bL1]).size).toBe(3);

    events.length = 0;
    s.current = [totals('a', { l1Hits: 2, l2Hits: 2 }), totals('b', { l1Hits: 2 })];
    r.collect();
    expect(events).toHaveLength(3);
    expect(events[0]).toBe(aL1);
    expect(events[1]).toBe(aL2);
    expect(events[2]).toBe(bL1);

    // Even from another source naming the same cache.
    events.length = 0;
    r.watch(() => [totals('a', { l1Hits: 1 })]);
    r.collect();
    expect(events).toEqual([aL1]);
    expect(events[0]).toBe(aL1);
    take();
  });

  it('hands on each cache\'s pending level as read (not its growth), and nothing for one left out, negative or not finite', () => {
    const levels: Array<[string, number]> = [];
    const r = new CacheTotalsReader(
      () => undefined,
      (cache, pending) => levels.push([cache, pending]),
    );
    const s = source({ ...totals('a'), pending: 3 }, totals('b'), { ...totals('c'), pending: -1 }, { ...totals('d'), pending: Number.NaN });
    r.watch(s.read);
    r.collect();
    expect(levels.splice(0)).toEqual([['a', 3]]);
    r.collect();
    expect(levels.splice(0)).toEqual([['a', 3]]);
    s.current = [{ ...totals('a'), pending: 0 }];
    r.collect();
    expect(levels.splice(0)).toEqual([['a', 0]]);
  });

  it('ignores counts that are not finite or are negative, and records the others of the same read', () => {
    const { reader: r, take } = reader();
    const s = source(totals('c', { l1Hits: Number.NaN, l2Hits: Number.POSITIVE_INFINITY, otherHits: -3, misses: 2, errors: Number.NEGATIVE_INFINITY }));
    r.watch(s.read);
    r.collect();
    expect(take()).toEqual([[{ cache: 'c', outcome: 'miss' }, 2]]);
    r.collect();
    expect(take()).toEqual([]);
  });

  it('after a non-finite count, a finite one is recorded whole (nothing valid to grow from)', () => {
    const { reader: r, take } = reader();
    const s = source(totals('c', { l1Hits: Number.NaN, l2Hits: Number.POSITIVE_INFINITY }));
    r.watch(s.read);
    r.collect();
    expect(take()).toEqual([]);
    s.current = [totals('c', { l1Hits: 3, l2Hits: 4 })];
    r.collect();
    expect(summary(take())).toEqual(['c hit/l1 ×3', 'c hit/l2 ×4']);
  });

  // A bug this test found: an ignored negative count used to become the baseline, so -1 then 3
  // recorded 4 lookups, more than were ever counted.
  it('after an ignored negative count, the next valid count is not over-counted', () => {
    const { reader: r, take } = reader();
    const s = source(totals('c', { misses: -1 }));
    r.watch(s.read);
    r.collect();
    expect(take()).toEqual([]);
    s.current = [totals('c', { misses: 3 })];
    r.collect();
    expect(take()).toEqual([[{ cache: 'c', outcome: 'miss' }, 3]]);
  });
});
