import { describe, expect, it } from 'vitest';
import { NPlusOneDetector, type NPlusOneFinding } from './n-plus-one.js';
import { MonitorRequestContext, type RequestQueryRecord } from './request-context.js';

function query(fingerprint: string, startedAt = 1_000, operation = 'SELECT'): RequestQueryRecord {
  return { fingerprint, sql: `SELECT * FROM items WHERE id = $1 /* ${fingerprint} */`, durationMs: 0.5, operation, startedAt };
}

/** Runs a fake request that records `counts[fp]` queries per fingerprint. */
async function request(context: MonitorRequestContext, route: string, counts: Record<string, number>): Promise<void> {
  await context.runToCompletion({ route, method: 'GET' }, async () => {
    for (const [fingerprint, n] of Object.entries(counts)) {
      for (let i = 0; i < n; i++) {
        await Promise.resolve();
        context.current()?.recordQuery(query(fingerprint, 1_000 + i));
      }
    }
  });
}

describe('MonitorRequestContext', () => {
  it('tracks the current request through async calls, and none outside', async () => {
    const context = new MonitorRequestContext({ now: () => 42 });
    expect(context.current()).toBeUndefined();
    await context.runToCompletion({ route: '/items/:id', method: 'GET', requestId: 'r1' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(context.current()).toMatchObject({ name: 'GET /items/:id', requestId: 'r1', startedAt: 42 });
    });
    expect(context.current()).toBeUndefined();
  });

  it('binds a handle to the carrier and makes its state on first use only; leave() drops it', () => {
    const carrier: object = {};
    const handle = { route: '/items/:id' };
    let made = 0;
    const context: MonitorRequestContext = new MonitorRequestContext({
      carrier: () => carrier,
      resolve: (h) => {
        made++;
        return context.open({ route: (h as typeof handle).route, method: 'GET' }, 7);
      },
    });
    expect(context.bind(handle)).toBe(carrier);
    expect(made).toBe(0);
    expect(context.current()).toMatchObject({ name: 'GET /items/:id', startedAt: 7 });
    expect(made).toBe(1);
    context.leave(carrier, handle);
    expect(context.current()).toBeUndefined();
    // A carrier that has moved on to another request is left alone.
    const other = {};
    context.bind(other);
    context.leave(carrier, handle);
    context.current();
    expect(made).toBe(2);
  });

  it('without a carrier, enter() runs the request in its own context with the handle, and leave() ends it there', async () => {
    const handle = {};
    const state = new MonitorRequestContext().open({ route: '/x', method: 'GET' });
    const context = new MonitorRequestContext({ resolve: (h) => (h === handle ? state : undefined) });
    const seen: unknown[] = [];
    let later: Promise<void> = Promise.resolve();
    const holder = context.enter(handle, () => {
      seen.push(context.current());
      later = new Promise<void>((resolve) => setTimeout(resolve, 1)).then(() => {
        seen.push(context.current());
      });
    });
    expect(context.current()).toBeUndefined();
    // The request ended before its continuation ran: a late query there is not the request's.
    context.leave(holder, handle);
    await later;
    expect(seen).toEqual([state, undefined]);
  });

  it('finishes once, and ignores queries after the end', () => {
    const context = new MonitorRequestContext();
    let finished = 0;
    context.onFinish(() => {
      finished++;
    });
    const state = context.run({ route: '/x', method: 'POST' }, () => {
      context.current()?.recordQuery(query('a'));
      context.finish();
      context.finish();
      return context.current();
    });
    state?.recordQuery(query('a'));
    expect(finished).toBe(1);
    expect(state?.finished).toBe(true);
    expect(state?.tallies()).toMatchObject([{ fingerprint: 'a', count: 1 }]);
  });

  it('bounds the fingerprints tallied per request', () => {
    const context = new MonitorRequestContext({ maxFingerprintsPerRequest: 2 });
    context.run({ route: '/x', method: 'GET' }, () => {
      for (const fp of ['a', 'b', 'c', 'd', 'a']) context.current()?.recordQuery(query(fp));
      const state = context.current();
      expect(state?.tallies().map((t) => [t.fingerprint, t.count])).toEqual([
        ['a', 2],
        ['b', 1],
      ]);
      expect(state?.untrackedQueries).toBe(2);
      expect(state?.queryCount).toBe(5);
    });
  });
});

describe('NPlusOneDetector', () => {
  it('reports a fingerprint repeated threshold+ times in one request, with its route and count', async () => {
    const context = new MonitorRequestContext();
    const detector = new NPlusOneDetector();
    detector.attach(context);
    const seen: NPlusOneFinding[] = [];
    detector.onFinding((finding) => seen.push(finding));

    await request(context, '/orders/:id', { byId: 10, header: 1 });
    await request(context, '/orders', { byId: 4 });

    expect(seen).toEqual([
      expect.objectContaining({ route: 'GET /orders/:id', fingerprint: 'byId', count: 10, firstSeenAt: 1_000, lastSeenAt: 1_009 }),
    ]);
    expect(detector.findings()).toEqual([expect.objectContaining({ route: 'GET /orders/:id', fingerprint: 'byId', occurrences: 1, maxCount: 10 })]);
  });

  it('aggregates per (route, fingerprint): occurrences, max and last count', async () => {
    const context = new MonitorRequestContext();
    const detector = new NPlusOneDetector({ threshold: 3 });
    detector.attach(context);
    await request(context, '/a', { q: 7 });
    await request(context, '/a', { q: 3 });
    await request(context, '/b', { q: 5 });
    const byRoute = Object.fromEntries(detector.findings().map((f) => [f.route, f]));
    expect(byRoute['GET /a']).toMatchObject({ occurrences: 2, maxCount: 7, lastCount: 3, totalCount: 10 });
    expect(byRoute['GET /b']).toMatchObject({ occurrences: 1, maxCount: 5 });
  });

  it('ignores transaction control statements by default', () => {
    const context = new MonitorRequestContext();
    const detector = new NPlusOneDetector();
    const findings = context.run({ route: '/bulk', method: 'POST' }, () => {
      for (let i = 0; i < 6; i++) {
        context.current()?.recordQuery(query('begin', 1, 'START'));
        context.current()?.recordQuery(query('commit', 1, 'COMMIT'));
        context.current()?.recordQuery(query('insert', 1, 'INSERT'));
      }
      const state = context.current();
      return state === undefined ? [] : detector.analyze(state);
    });
    expect(findings.map((f) => f.fingerprint)).toEqual(['insert']);
  });

  it('keeps at most maxFindings pairs', async () => {
    const context = new MonitorRequestContext();
    const detector = new NPlusOneDetector({ maxFindings: 5 });
    detector.attach(context);
    for (let i = 0; i < 20; i++) await request(context, `/r${i}`, { q: 5 });
    expect(detector.size).toBe(5);
    expect(detector.evicted).toBe(15);
    expect(detector.findings()[0]?.route).toBe('GET /r19');
  });
});
