/**
 * Alerts through the module with an injected clock: a rule on `http.p95_ms` goes pending on slow
 * requests, fires once it has held for `forMs`, shows in `/metrics` as `alerts_firing`, and
 * resolves when the window holds only fast requests.
 *
 * How the clock drives it: requests are aggregated per minute of the injected clock, and the rules
 * see the last 5 minutes (every minute overlapping `[now - 5 min, now]`). The durations themselves
 * are real (Fastify's `reply.elapsedTime`).
 */
import { createTestDatabase, parsePrometheusText, sample, type TestDatabase } from '@chat/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedItems, startTestApp, type TestApp } from './test-app.fixture.js';

const MINUTE = 60_000;
/** 5 s into a minute of the fake clock. */
const T0 = Date.UTC(2030, 0, 1, 12, 0, 5);
/** Under the 50 ms the slow route sleeps, with room for the histogram's ±2 %. */
const THRESHOLD_MS = 40;
const RULE = 'test-http-latency';

let clock = T0;
let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase('monitor_nest_alerts');
  await seedItems(database.url, 10);
  t = await startTestApp(database.url, {
    now: () => clock,
    // Only the test's own tick() evaluates.
    evaluateEveryMs: 3_600_000,
    alertRules: {
      mode: 'replace',
      rules: [
        {
          name: RULE,
          description: 'p95 latency over 40 ms',
          metric: 'http.p95_ms',
          comparison: '>',
          levels: [{ severity: 'warning', threshold: THRESHOLD_MS }],
          forMs: MINUTE,
        },
      ],
    },
  });
});

afterAll(async () => {
  await t?.app.close();
  await database?.drop();
});

/** `n` requests to `path`, 5 at a time, then waits until the monitor has counted them (its onResponse hook runs after the client has the response). */
async function send(path: string, n: number): Promise<void> {
  const route = path;
  const before = countOf(route);
  for (let i = 0; i < n; i += 5) {
    const batch = Array.from({ length: Math.min(5, n - i) }, () => t.request(path));
    for (const res of await Promise.all(batch)) expect(res.status).toBe(200);
  }
  await expect.poll(() => countOf(route)).toBe(before + n);
}

function countOf(route: string): number {
  return t.service.report(24 * 60 * MINUTE).routes.find((r) => r.route === route)?.count ?? 0;
}

async function firingGauge(severity: string): Promise<number | undefined> {
  const res = await t.request('/metrics');
  expect(res.status).toBe(200);
  return sample(parsePrometheusText(res.text).get('alerts_firing'), { severity })?.value;
}

function ruleAlert(): ReturnType<TestApp['service']['report']>['alerts']['active'][number] | undefined {
  return t.service.report().alerts.active.find((a) => a.rule === RULE);
}

describe('alerts through the module, with an injected clock', () => {
  it('slow requests → pending; held for forMs → firing (alerts_firing = 1); a later window of fast requests → resolved', async () => {
    // Minute M0: 25 requests that sleep 50 ms each (enough for the monitor to hand p95 to the rules).
    await send('/probe/slow', 25);
    const p95 = t.service.monitor.alertSamples().find((s) => s.metric === 'http.p95_ms');
    expect(p95?.value).toBeGreaterThan(THRESHOLD_MS);

    t.service.tick();
    expect(ruleAlert()).toMatchObject({ state: 'pending', severity: 'warning', startedAt: T0, firedAt: null });
    expect(await firingGauge('warning')).toBe(0);

    // One minute later (forMs) the window still holds minute M0: it fires.
    clock = T0 + MINUTE;
    t.service.tick();
    expect(ruleAlert()).toMatchObject({ state: 'firing', severity: 'warning', startedAt: T0, firedAt: T0 + MINUTE });
    expect(t.service.report().alerts.recent.map((e) => [e.kind, e.at])).toEqual([['fired', T0 + MINUTE]]);
    expect(await firingGauge('warning')).toBe(1);
    expect(await firingGauge('critical')).toBe(0);

    // Seven minutes after M0, the 5-minute window (every minute overlapping it) no longer holds M0
    // or the minute of the /metrics requests above: only the fast requests sent now.
    clock = T0 + 7 * MINUTE;
    await send('/probe/fast', 40);
    const fastP95 = t.service.monitor.alertSamples().find((s) => s.metric === 'http.p95_ms');

    t.service.tick();
    expect(ruleAlert(), `p95 of the later window: ${fastP95?.value} ms`).toBeUndefined();
    const recent = t.service.report().alerts.recent;
    expect(recent.map((e) => [e.kind, e.at])).toEqual([
      ['resolved', T0 + 7 * MINUTE],
      ['fired', T0 + MINUTE],
    ]);
    expect(recent[0]?.alert).toMatchObject({ rule: RULE, state: 'resolved', resolveReason: 'cleared', resolvedAt: T0 + 7 * MINUTE });
    expect(await firingGauge('warning')).toBe(0);
  });
});
