import { beforeEach, describe, expect, it } from 'vitest';
import { AlertEngine, type AlertEngineOptions } from './alert-engine.js';
import type { AlertEvent, AlertNotifier, AlertRule, MetricSnapshot } from './alert.types.js';
import { DEFAULT_ALERT_RULES } from './default-rules.js';

const T0 = 1_000_000;
const FOR = 60_000;

class FakeClock {
  constructor(public t = T0) {}
  now(): number {
    return this.t;
  }
  /** Moves to T0 + ms. */
  at(ms: number): this {
    this.t = T0 + ms;
    return this;
  }
}

class FakeLogger {
  readonly warnings: string[] = [];
  warn(message: string): void {
    this.warnings.push(message);
  }
}

const latency: AlertRule = {
  name: 'latency',
  description: 'Latency is high',
  metric: 'lat',
  comparison: '>',
  levels: [
    { severity: 'warning', threshold: 500, clearThreshold: 400 },
    { severity: 'critical', threshold: 2000, clearThreshold: 1500 },
  ],
  forMs: FOR,
};

const hitRate: AlertRule = {
  name: 'hit-rate',
  description: 'Hit rate is low',
  metric: 'hits',
  comparison: '<',
  levels: [
    { severity: 'warning', threshold: 0.5, clearThreshold: 0.6 },
    { severity: 'critical', threshold: 0.2, clearThreshold: 0.3 },
  ],
  forMs: FOR,
};

let clock: FakeClock;
let logger: FakeLogger;
let ids: number;

function engine(options: AlertEngineOptions = {}): AlertEngine {
  return new AlertEngine({ rules: [latency], clock, logger, idGenerator: () => `a${++ids}`, ...options });
}

/** Evaluates `{ lat: value }` at T0 + ms. */
function lat(e: AlertEngine, ms: number, value: number): AlertEvent[] {
  clock.at(ms);
  return e.evaluate([{ metric: 'lat', value }]);
}

function at(e: AlertEngine, ms: number, snapshot: MetricSnapshot): AlertEvent[] {
  clock.at(ms);
  return e.evaluate(snapshot);
}

/** [state, severity, id] of every active alert. */
function states(e: AlertEngine): Array<[string, string, string]> {
  return e.active().map((alert) => [alert.state, alert.severity, alert.id]);
}

function kinds(events: readonly AlertEvent[]): string[] {
  return events.map((event) => `${event.kind}:${event.alert.id}:${event.alert.severity}`);
}

beforeEach(() => {
  clock = new FakeClock();
  logger = new FakeLogger();
  ids = 0;
});

describe('inactive → pending → firing', () => {
  it('goes pending when the threshold is crossed, with every field exact', () => {
    const e = engine();
    expect(lat(e, 0, 600)).toEqual([]);
    expect(e.active()).toEqual([
      {
        id: 'a1',
        rule: 'latency',
        metric: 'lat',
        labels: {},
        severity: 'warning',
        state: 'pending',
        comparison: '>',
        value: 600,
        threshold: 500,
        clearThreshold: 400,
        startedAt: T0,
        firedAt: null,
        escalatedAt: null,
        resolvedAt: null,
        resolveReason: null,
        updatedAt: T0,
        description: 'Latency is high',
        summary: '[PENDING warning] latency: lat = 600 (threshold > 500)',
      },
    ]);
    expect(e.recent()).toEqual([]);
    expect(e.firingCountBySeverity()).toEqual({ info: 0, warning: 0, critical: 0 });
  });

  it('does not trigger on a value equal to a strict threshold (>), does with >=', () => {
    const strict = engine();
    lat(strict, 0, 500);
    expect(strict.active()).toEqual([]);
    const inclusive = engine({ rules: [{ ...latency, comparison: '>=' }] });
    lat(inclusive, 0, 500);
    expect(states(inclusive)).toEqual([['pending', 'warning', 'a1']]);
  });

  it('fires exactly when the condition has held for forMs: pending at forMs − 1, firing at forMs', () => {
    const e = engine();
    lat(e, 0, 600);
    expect(lat(e, 30_000, 700)).toEqual([]);
    expect(lat(e, FOR - 1, 800)).toEqual([]);
    expect(states(e)).toEqual([['pending', 'warning', 'a1']]);

    const events = lat(e, FOR, 900);
    expect(events).toEqual([
      {
        kind: 'fired',
        at: T0 + FOR,
        previousSeverity: null,
        alert: expect.objectContaining({
          id: 'a1',
          state: 'firing',
          severity: 'warning',
          value: 900,
          threshold: 500,
          startedAt: T0,
          firedAt: T0 + FOR,
          updatedAt: T0 + FOR,
          summary: '[FIRING warning] latency: lat = 900 (threshold > 500)',
        }),
      },
    ]);
    expect(states(e)).toEqual([['firing', 'warning', 'a1']]);
    expect(e.recent()).toEqual(events);
    expect(e.firingCountBySeverity()).toEqual({ info: 0, warning: 1, critical: 0 });
  });

  it('fires only at an evaluation: the first one at or after forMs', () => {
    const e = engine();
    lat(e, 0, 600);
    expect(lat(e, 45_000, 600)).toEqual([]);
    expect(kinds(lat(e, 90_000, 600))).toEqual(['fired:a1:warning']);
    expect(e.active()[0].firedAt).toBe(T0 + 90_000);
  });

  it('forMs 0 fires in the evaluation that first sees the value', () => {
    const e = engine({ rules: [{ ...latency, forMs: 0 }] });
    const events = lat(e, 0, 600);
    expect(kinds(events)).toEqual(['fired:a1:warning']);
    expect(events[0].alert).toMatchObject({ state: 'firing', startedAt: T0, firedAt: T0 });
  });

  it('goes back to inactive, silently, when the condition stops before forMs', () => {
    const e = engine();
    lat(e, 0, 600);
    expect(lat(e, 30_000, 499)).toEqual([]);
    expect(e.active()).toEqual([]);
    expect(e.recent()).toEqual([]);
  });

  it('a pending alert is cancelled by a value under the threshold even inside the hysteresis band', () => {
    const e = engine();
    lat(e, 0, 600);
    lat(e, 10_000, 450); // clearThreshold 400 is for firing alerts only
    expect(e.active()).toEqual([]);
  });

  it('a flapping condition (up for less than forMs each time) never fires', () => {
    const e = engine();
    const transitions: AlertEvent[] = [];
    e.onTransition((event) => transitions.push(event));
    for (let ms = 0; ms < 10 * FOR; ms += 20_000) {
      const up = (ms / 20_000) % 3 !== 2; // up 40 s, down 20 s
      lat(e, ms, up ? 1_000 : 100);
    }
    expect(transitions).toEqual([]);
    expect(e.recent()).toEqual([]);
    expect(e.stats()).toMatchObject({ firing: 0 });
  });

  it('restarts the forMs count after a cancel, with a new id', () => {
    const e = engine();
    lat(e, 0, 600);
    lat(e, 30_000, 100);
    lat(e, 45_000, 600);
    expect(e.active()[0]).toMatchObject({ id: 'a2', startedAt: T0 + 45_000 });
    expect(lat(e, 45_000 + FOR - 1, 600)).toEqual([]);
    expect(kinds(lat(e, 45_000 + FOR, 600))).toEqual(['fired:a2:warning']);
  });
});

describe('firing → resolved (hysteresis)', () => {
  function firing(): AlertEngine {
    const e = engine();
    lat(e, 0, 600);
    lat(e, FOR, 600);
    return e;
  }

  it('stays firing between the clear threshold and the threshold, updating the value', () => {
    const e = firing();
    expect(lat(e, FOR + 10_000, 450)).toEqual([]);
    expect(lat(e, FOR + 20_000, 401)).toEqual([]);
    expect(e.active()[0]).toMatchObject({
      id: 'a1',
      state: 'firing',
      value: 401,
      updatedAt: T0 + FOR + 20_000,
      summary: '[FIRING warning] latency: lat = 401 (threshold > 500)',
    });
  });

  it('resolves when the value crosses the clear threshold', () => {
    const e = firing();
    const events = lat(e, FOR + 30_000, 400);
    expect(events).toEqual([
      {
        kind: 'resolved',
        at: T0 + FOR + 30_000,
        previousSeverity: null,
        alert: expect.objectContaining({
          id: 'a1',
          state: 'resolved',
          severity: 'warning',
          value: 400,
          startedAt: T0,
          firedAt: T0 + FOR,
          resolvedAt: T0 + FOR + 30_000,
          resolveReason: 'cleared',
          summary: '[RESOLVED] latency: lat = 400 (cleared at ≤ 400)',
        }),
      },
    ]);
    expect(e.active()).toEqual([]);
    expect(e.firingCountBySeverity()).toEqual({ info: 0, warning: 0, critical: 0 });
  });

  it('with no clearThreshold, resolves as soon as the condition no longer holds', () => {
    const e = engine({ rules: [{ ...latency, levels: [{ severity: 'warning', threshold: 500 }] }] });
    lat(e, 0, 600);
    lat(e, FOR, 600);
    expect(lat(e, FOR + 1, 501)).toEqual([]);
    expect(kinds(lat(e, FOR + 2, 500))).toEqual(['resolved:a1:warning']);
  });

  it('a new crossing after a resolve is a new alert with a new id, pending again', () => {
    const e = firing();
    lat(e, FOR + 1_000, 100);
    lat(e, FOR + 2_000, 700);
    expect(states(e)).toEqual([['pending', 'warning', 'a2']]);
    expect(e.active()[0]).toMatchObject({ startedAt: T0 + FOR + 2_000, firedAt: null });
    lat(e, 2 * FOR + 2_000, 700);
    expect(kinds(e.recent())).toEqual(['fired:a2:warning', 'resolved:a1:warning', 'fired:a1:warning']);
  });

  it('a missing sample neither resolves a firing alert nor cancels a pending one', () => {
    const e = firing();
    at(e, FOR + 1, []);
    at(e, FOR + 24 * 3_600_000, { other: 1 });
    expect(e.active()[0]).toMatchObject({ id: 'a1', state: 'firing', value: 600, updatedAt: T0 + FOR });

    const p = engine();
    lat(p, 0, 600);
    at(p, 30_000, []);
    expect(states(p)).toEqual([['pending', 'warning', 'a2']]);
    expect(kinds(lat(p, FOR, 600))).toEqual(['fired:a2:warning']); // held at every evaluation that measured it
  });

  it('with staleAfterMs, a series without samples that long resolves as stale (firing) or is dropped (pending)', () => {
    const e = engine({ staleAfterMs: 300_000 });
    at(e, 0, [{ metric: 'lat', value: 600, labels: { route: 'a' } }]);
    at(e, FOR, [
      { metric: 'lat', value: 600, labels: { route: 'a' } },
      { metric: 'lat', value: 600, labels: { route: 'b' } },
    ]);
    expect(states(e)).toEqual([
      ['firing', 'warning', 'a1'],
      ['pending', 'warning', 'a2'],
    ]);
    expect(at(e, FOR + 299_999, [])).toEqual([]);
    const events = at(e, FOR + 300_000, []);
    expect(events).toHaveLength(1);
    expect(events[0].alert).toMatchObject({
      id: 'a1',
      state: 'resolved',
      resolveReason: 'stale',
      resolvedAt: T0 + FOR + 300_000,
      summary: '[RESOLVED] latency {route="a"}: lat = 600 (no sample since; expired as stale)',
    });
    expect(e.active()).toEqual([]);
  });

  it('staleAfterMs does not expire a series that keeps being sampled', () => {
    const e = engine({ staleAfterMs: 1_000 });
    lat(e, 0, 600);
    for (let ms = 500; ms <= FOR + 5_000; ms += 500) lat(e, ms, 600);
    expect(states(e)).toEqual([['firing', 'warning', 'a1']]);
  });
});

describe('deduplication by rule and labels', () => {
  it('one alert per distinct label set; label order does not matter', () => {
    const e = engine({ rules: [hitRate] });
    const snapshot = (a: number, b: number): MetricSnapshot => [
      { metric: 'hits', labels: { cache: 'ai', tier: 'l1' }, value: a },
      { metric: 'hits', labels: { tier: 'l1', cache: 'conversation' }, value: b },
    ];
    at(e, 0, snapshot(0.4, 0.45));
    at(e, 10_000, [
      { metric: 'hits', labels: { tier: 'l1', cache: 'ai' }, value: 0.41 },
      { metric: 'hits', labels: { cache: 'conversation', tier: 'l1' }, value: 0.42 },
    ]);
    expect(e.active().map((alert) => [alert.id, alert.labels, alert.value])).toEqual([
      ['a1', { cache: 'ai', tier: 'l1' }, 0.41],
      ['a2', { cache: 'conversation', tier: 'l1' }, 0.42],
    ]);
    expect(kinds(at(e, FOR, snapshot(0.4, 0.4)))).toEqual(['fired:a1:warning', 'fired:a2:warning']);
    expect(e.firingCountBySeverity()).toEqual({ info: 0, warning: 2, critical: 0 });

    expect(kinds(at(e, FOR + 1, snapshot(0.9, 0.4)))).toEqual(['resolved:a1:warning']);
    expect(e.active().map((alert) => alert.labels)).toEqual([{ cache: 'conversation', tier: 'l1' }]);
  });

  it('an unlabelled series is distinct from a labelled one', () => {
    const e = engine();
    at(e, 0, [
      { metric: 'lat', value: 600 },
      { metric: 'lat', value: 600, labels: { route: 'x' } },
    ]);
    expect(e.active().map((alert) => alert.labels)).toEqual([{}, { route: 'x' }]);
  });

  it('when a series appears twice in one snapshot, the last sample wins', () => {
    const e = engine();
    at(e, 0, [
      { metric: 'lat', value: 600 },
      { metric: 'lat', value: 100 },
    ]);
    expect(e.active()).toEqual([]);
    at(e, 1, [
      { metric: 'lat', value: 100 },
      { metric: 'lat', value: 600 },
    ]);
    expect(e.active().map((alert) => alert.value)).toEqual([600]);
  });

  it('adds the rule’s static labels (sample labels win) and honours a match selector', () => {
    const rule: AlertRule = { ...hitRate, forMs: 0, labels: { team: 'perf', cache: 'default' }, match: { tier: 'l2' } };
    const e = engine({ rules: [rule] });
    at(e, 0, [
      { metric: 'hits', labels: { cache: 'ai', tier: 'l1' }, value: 0.1 },
      { metric: 'hits', labels: { cache: 'ai', tier: 'l2' }, value: 0.1 },
    ]);
    expect(e.active().map((alert) => alert.labels)).toEqual([{ team: 'perf', cache: 'ai', tier: 'l2' }]);
  });

  it('two rules on one metric keep independent alerts', () => {
    const fast: AlertRule = { ...latency, name: 'latency-fast', forMs: 0, levels: [{ severity: 'info', threshold: 300 }] };
    const e = engine({ rules: [latency, fast] });
    expect(kinds(lat(e, 0, 600))).toEqual(['fired:a2:info']);
    expect(e.active().map((alert) => [alert.rule, alert.state])).toEqual([
      ['latency-fast', 'firing'],
      ['latency', 'pending'],
    ]);
  });

  it('accepts a plain record for unlabelled metrics and ignores non-finite values and unknown metrics', () => {
    const e = engine({ rules: [{ ...latency, forMs: 0 }] });
    expect(kinds(at(e, 0, { lat: 600, unknown: 5 }))).toEqual(['fired:a1:warning']);
    at(e, 1, { lat: Number.NaN });
    at(e, 2, [{ metric: 'lat', value: Number.NEGATIVE_INFINITY }]);
    expect(e.active()[0]).toMatchObject({ value: 600, updatedAt: T0 });
  });
});

describe('escalation and de-escalation', () => {
  function firingWarning(): AlertEngine {
    const e = engine();
    lat(e, 0, 600);
    lat(e, FOR, 600);
    return e;
  }

  it('escalates the same alert once the critical level has held for forMs', () => {
    const e = firingWarning();
    expect(lat(e, 100_000, 2_500)).toEqual([]);
    expect(lat(e, 100_000 + FOR - 1, 2_500)).toEqual([]);
    expect(e.active()[0]).toMatchObject({ id: 'a1', severity: 'warning', value: 2_500 });

    const events = lat(e, 100_000 + FOR, 2_600);
    expect(events).toEqual([
      {
        kind: 'escalated',
        at: T0 + 100_000 + FOR,
        previousSeverity: 'warning',
        alert: expect.objectContaining({
          id: 'a1',
          state: 'firing',
          severity: 'critical',
          threshold: 2_000,
          clearThreshold: 1_500,
          value: 2_600,
          startedAt: T0,
          firedAt: T0 + FOR,
          escalatedAt: T0 + 100_000 + FOR,
          summary: '[FIRING critical] latency: lat = 2600 (threshold > 2000)',
        }),
      },
    ]);
    expect(e.firingCountBySeverity()).toEqual({ info: 0, warning: 0, critical: 1 });
  });

  it('stays critical inside the critical hysteresis band, de-escalates below it, resolves below warning’s', () => {
    const e = firingWarning();
    lat(e, 100_000, 2_500);
    lat(e, 100_000 + FOR, 2_500);

    expect(lat(e, 200_000, 1_600)).toEqual([]);
    expect(states(e)).toEqual([['firing', 'critical', 'a1']]);

    const down = lat(e, 210_000, 1_500);
    expect(down).toEqual([
      {
        kind: 'deescalated',
        at: T0 + 210_000,
        previousSeverity: 'critical',
        alert: expect.objectContaining({ id: 'a1', severity: 'warning', threshold: 500, clearThreshold: 400, escalatedAt: T0 + 210_000 }),
      },
    ]);
    expect(e.firingCountBySeverity()).toEqual({ info: 0, warning: 1, critical: 0 });

    expect(lat(e, 220_000, 450)).toEqual([]); // warning's band
    expect(kinds(lat(e, 230_000, 300))).toEqual(['resolved:a1:warning']);
    expect(kinds(e.recent())).toEqual(['resolved:a1:warning', 'deescalated:a1:warning', 'escalated:a1:critical', 'fired:a1:warning']);
  });

  it('resolves straight from critical when the value falls below every clear threshold', () => {
    const e = firingWarning();
    lat(e, 100_000, 2_500);
    lat(e, 100_000 + FOR, 2_500);
    expect(kinds(lat(e, 200_000, 10))).toEqual(['resolved:a1:critical']);
  });

  it('a critical crossing shorter than forMs does not escalate', () => {
    const e = firingWarning();
    lat(e, 100_000, 2_500);
    lat(e, 150_000, 1_900); // below the critical threshold: its count restarts
    lat(e, 160_000, 2_500);
    expect(lat(e, 100_000 + FOR, 2_500)).toEqual([]);
    expect(states(e)).toEqual([['firing', 'warning', 'a1']]);
    expect(kinds(lat(e, 160_000 + FOR, 2_500))).toEqual(['escalated:a1:critical']);
  });

  it('re-escalation after a de-escalation needs forMs again', () => {
    const e = firingWarning();
    lat(e, 100_000, 2_500);
    lat(e, 100_000 + FOR, 2_500);
    lat(e, 200_000, 1_000); // de-escalated
    expect(lat(e, 210_000, 2_500)).toEqual([]);
    expect(kinds(lat(e, 210_000 + FOR, 2_500))).toEqual(['escalated:a1:critical']);
  });

  it('fires directly at critical when both levels held for forMs', () => {
    const e = engine();
    lat(e, 0, 2_500);
    expect(e.active()[0]).toMatchObject({ state: 'pending', severity: 'critical', threshold: 2_000 });
    expect(kinds(lat(e, FOR, 2_500))).toEqual(['fired:a1:critical']);
  });

  it('fires at warning when critical was crossed later, then escalates when critical has held forMs', () => {
    const e = engine();
    lat(e, 0, 600);
    lat(e, 50_000, 2_500);
    expect(e.active()[0]).toMatchObject({ state: 'pending', severity: 'critical' });
    expect(kinds(lat(e, FOR, 2_500))).toEqual(['fired:a1:warning']);
    expect(lat(e, 50_000 + FOR - 1, 2_500)).toEqual([]);
    expect(kinds(lat(e, 50_000 + FOR, 2_500))).toEqual(['escalated:a1:critical']);
  });

  it('works the other way round for < rules (cache hit rate)', () => {
    const e = engine({ rules: [hitRate] });
    const hits = (ms: number, value: number): string[] => kinds(at(e, ms, [{ metric: 'hits', value }]));
    expect(hits(0, 0.4)).toEqual([]);
    expect(hits(FOR, 0.4)).toEqual(['fired:a1:warning']);
    expect(hits(FOR + 1, 0.1)).toEqual([]);
    expect(hits(2 * FOR + 1, 0.1)).toEqual(['escalated:a1:critical']);
    expect(hits(2 * FOR + 2, 0.29)).toEqual([]);
    expect(hits(2 * FOR + 3, 0.3)).toEqual(['deescalated:a1:warning']);
    expect(hits(2 * FOR + 4, 0.59)).toEqual([]);
    expect(hits(2 * FOR + 5, 0.6)).toEqual(['resolved:a1:warning']);
    expect(e.recent()[0].alert.summary).toBe('[RESOLVED] hit-rate: hits = 0.6 (cleared at ≥ 0.6)');
  });

  it('walks up and down three levels (info → warning → critical)', () => {
    const rule: AlertRule = {
      ...latency,
      forMs: 0,
      levels: [
        { severity: 'info', threshold: 100, clearThreshold: 90 },
        { severity: 'warning', threshold: 500, clearThreshold: 400 },
        { severity: 'critical', threshold: 2000, clearThreshold: 1500 },
      ],
    };
    const e = engine({ rules: [rule] });
    const steps = [150, 600, 2_500, 1_000, 95, 2_100, 50].map((value, i) => kinds(lat(e, i, value)));
    expect(steps).toEqual([
      ['fired:a1:info'],
      ['escalated:a1:warning'],
      ['escalated:a1:critical'],
      ['deescalated:a1:warning'],
      ['deescalated:a1:info'],
      ['escalated:a1:critical'],
      ['resolved:a1:critical'],
    ]);
  });
});

describe('history', () => {
  it('keeps at most historyLimit transitions, newest first', () => {
    const e = engine({ rules: [{ ...latency, forMs: 0 }], historyLimit: 3 });
    [600, 100, 600, 100, 600].forEach((value, i) => lat(e, i, value)); // 5 transitions
    expect(kinds(e.recent())).toEqual(['fired:a3:warning', 'resolved:a2:warning', 'fired:a2:warning']);
    expect(e.recent().map((event) => event.at)).toEqual([T0 + 4, T0 + 3, T0 + 2]);
    expect(kinds(e.recent(2))).toEqual(['fired:a3:warning', 'resolved:a2:warning']);
    expect(e.recent(0)).toEqual([]);
    expect(e.stats().history).toBe(3);
  });

  it('defaults to 500 entries; 0 keeps none', () => {
    const e = engine({ rules: [{ ...latency, forMs: 0 }] });
    for (let i = 0; i < 600; i++) lat(e, i, i % 2 === 0 ? 600 : 100);
    expect(e.recent()).toHaveLength(500);
    expect(e.recent()[0]).toMatchObject({ kind: 'resolved', at: T0 + 599 });

    const none = engine({ rules: [{ ...latency, forMs: 0 }], historyLimit: 0 });
    lat(none, 0, 600);
    expect(none.recent()).toEqual([]);
  });

  it('entries are frozen snapshots: later changes do not rewrite them', () => {
    const e = engine({ rules: [{ ...latency, forMs: 0 }] });
    lat(e, 0, 600);
    lat(e, 1, 2_500);
    const [escalated, fired] = e.recent();
    expect(fired.alert).toMatchObject({ severity: 'warning', value: 600 });
    expect(escalated.alert).toMatchObject({ severity: 'critical', value: 2_500 });
    expect(Object.isFrozen(fired)).toBe(true);
    expect(Object.isFrozen(fired.alert)).toBe(true);
    expect(Object.isFrozen(e.active()[0])).toBe(true);
  });

  it('rejects a bad limit', () => {
    const e = engine();
    expect(() => e.recent(-1)).toThrow('AlertEngine.recent: limit must be an integer ≥ 0 (got -1)');
    expect(() => e.recent(1.5)).toThrow('AlertEngine.recent: limit must be an integer ≥ 0 (got 1.5)');
  });
});

describe('active() and counts', () => {
  it('lists firing before pending, then most severe, then oldest; counts only firing', () => {
    const rules: AlertRule[] = [latency, { ...hitRate, forMs: 0 }];
    const e = engine({ rules });
    at(e, 0, [{ metric: 'lat', value: 600, labels: { route: 'a' } }]);
    at(e, 1, [
      { metric: 'lat', value: 2_500, labels: { route: 'b' } },
      { metric: 'hits', value: 0.4, labels: { cache: 'x' } },
    ]);
    at(e, 2, [{ metric: 'hits', value: 0.1, labels: { cache: 'y' } }]);
    expect(e.active().map((alert) => [alert.state, alert.severity, alert.labels])).toEqual([
      ['firing', 'critical', { cache: 'y' }],
      ['firing', 'warning', { cache: 'x' }],
      ['pending', 'critical', { route: 'b' }],
      ['pending', 'warning', { route: 'a' }],
    ]);
    expect(e.firingCountBySeverity()).toEqual({ info: 0, warning: 1, critical: 1 });
    expect(e.stats()).toEqual({ rules: 2, pending: 2, firing: 2, history: 2, evaluations: 3, notificationFailures: 0, listenerFailures: 0 });
  });
});

describe('notifiers and listeners', () => {
  class RecordingNotifier implements AlertNotifier {
    readonly events: AlertEvent[] = [];
    notify(event: AlertEvent): void {
      this.events.push(event);
    }
  }

  /** fired, escalated, de-escalated, resolved, at T0 + 0..3. */
  function walk(e: AlertEngine): AlertEvent[] {
    return [600, 2_500, 1_000, 10].flatMap((value, i) => lat(e, i, value));
  }

  it('notifies fired, escalated and resolved — never pending, and not de-escalated by default', () => {
    const notifier = new RecordingNotifier();
    const e = engine({ notifiers: [notifier] });
    lat(e, 0, 600);
    expect(notifier.events).toEqual([]); // pending
    const events = [FOR, FOR + 1, 2 * FOR + 1, 2 * FOR + 2, 2 * FOR + 3].flatMap((ms, i) => lat(e, ms, [600, 2_500, 2_500, 1_000, 10][i]));
    expect(kinds(events)).toEqual(['fired:a1:warning', 'escalated:a1:critical', 'deescalated:a1:warning', 'resolved:a1:warning']);
    expect(notifier.events).toEqual([events[0], events[1], events[3]]);
    expect(notifier.events.map((event) => [event.kind, event.at, event.previousSeverity, event.alert.state])).toEqual([
      ['fired', T0 + FOR, null, 'firing'],
      ['escalated', T0 + 2 * FOR + 1, 'warning', 'firing'],
      ['resolved', T0 + 2 * FOR + 3, null, 'resolved'],
    ]);
  });

  it('notifyOn chooses the kinds', () => {
    const notifier = new RecordingNotifier();
    const e = engine({ rules: [{ ...latency, forMs: 0 }], notifiers: [notifier], notifyOn: ['deescalated'] });
    walk(e);
    expect(kinds(notifier.events)).toEqual(['deescalated:a1:warning']);
  });

  it('a throwing or rejecting notifier never breaks evaluation; failures are counted and logged', async () => {
    const good = new RecordingNotifier();
    const throws: AlertNotifier = {
      notify: () => {
        throw new Error('boom');
      },
    };
    const rejects: AlertNotifier = { notify: async () => Promise.reject(new Error('nope')) };
    const e = engine({ rules: [{ ...latency, forMs: 0 }], notifiers: [throws, rejects, good] });
    expect(kinds(lat(e, 0, 600))).toEqual(['fired:a1:warning']);
    expect(states(e)).toEqual([['firing', 'warning', 'a1']]);
    await e.flush();
    expect(kinds(good.events)).toEqual(['fired:a1:warning']);
    expect(e.stats().notificationFailures).toBe(2);
    expect(logger.warnings).toEqual(['alert notifier failed on fired latency: boom', 'alert notifier failed on fired latency: nope']);
  });

  it('evaluation does not wait for a slow notifier; flush() does', async () => {
    const releases: Array<() => void> = [];
    const slow: AlertNotifier = { notify: () => new Promise<void>((resolve) => releases.push(resolve)) };
    const e = engine({ rules: [{ ...latency, forMs: 0 }], notifiers: [slow] });
    expect(kinds(lat(e, 0, 600))).toEqual(['fired:a1:warning']);
    expect(kinds(lat(e, 1, 2_500))).toEqual(['escalated:a1:critical']); // while the first is in flight
    expect(releases).toHaveLength(2);

    let flushed = false;
    const flushing = e.flush().then(() => {
      flushed = true;
    });
    releases[1]();
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toBe(false);
    releases[0]();
    await flushing;
    expect(flushed).toBe(true);
    expect(e.stats().notificationFailures).toBe(0);
  });

  it('onTransition gets every kind synchronously; unsubscribe stops it; a throwing listener is contained', () => {
    const seen: string[] = [];
    const e = engine({ rules: [{ ...latency, forMs: 0 }] });
    e.onTransition(() => {
      throw new Error('listener bug');
    });
    const off = e.onTransition((event) => seen.push(`${event.kind}@${event.at - T0}`));
    walk(e);
    expect(seen).toEqual(['fired@0', 'escalated@1', 'deescalated@2', 'resolved@3']);
    off();
    lat(e, 10, 600);
    expect(seen).toHaveLength(4);
    expect(e.stats().listenerFailures).toBe(5);
    expect(logger.warnings[0]).toBe('alert transition listener failed on fired latency: listener bug');
    expect(e.recent()).toHaveLength(5);
  });
});

describe('construction', () => {
  it('uses the default rules when none are given', () => {
    const e = new AlertEngine({ clock, logger });
    expect(e.rules().map((rule) => rule.name)).toEqual(DEFAULT_ALERT_RULES.map((rule) => rule.name));
  });

  it('validates rules and options', () => {
    expect(() => engine({ rules: [latency, latency] })).toThrow('Invalid alert rule "latency": another rule has the same name');
    expect(() => engine({ historyLimit: -1 })).toThrow('AlertEngine: historyLimit must be an integer ≥ 0 (got -1)');
    expect(() => engine({ staleAfterMs: 0 })).toThrow('AlertEngine: staleAfterMs must be a finite number > 0 (got 0)');
  });

  it('uses random UUIDs as ids by default', () => {
    const e = new AlertEngine({ rules: [{ ...latency, forMs: 0 }], clock, logger });
    lat(e, 0, 600);
    expect(e.active()[0].id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
