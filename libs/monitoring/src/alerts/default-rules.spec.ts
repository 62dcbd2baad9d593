import { describe, expect, it } from 'vitest';
import { AlertEngine } from './alert-engine.js';
import { validateRules } from './alert-rules.js';
import type { MetricSample } from './alert.types.js';
import { ALERT_METRICS, DEFAULT_ALERT_RULES } from './default-rules.js';

const GIB = 1024 ** 3;

describe('DEFAULT_ALERT_RULES', () => {
  it('are valid and deeply frozen', () => {
    expect(validateRules(DEFAULT_ALERT_RULES)).toEqual(DEFAULT_ALERT_RULES);
    expect(Object.isFrozen(DEFAULT_ALERT_RULES)).toBe(true);
    for (const rule of DEFAULT_ALERT_RULES) {
      expect(Object.isFrozen(rule)).toBe(true);
      expect(Object.isFrozen(rule.levels[0])).toBe(true);
    }
  });

  it('watch exactly the documented metric keys, each with a warning and a critical level and hysteresis', () => {
    expect(DEFAULT_ALERT_RULES.map((rule) => [rule.name, rule.metric, rule.comparison, rule.forMs])).toEqual([
      ['http-latency-p95', 'http.p95_ms', '>', 120_000],
      ['http-5xx-rate', 'http.error_rate', '>', 60_000],
      ['db-slow-queries', 'db.slow_queries_per_min', '>', 120_000],
      ['cache-hit-rate', 'cache.hit_rate', '<', 300_000],
      ['queue-backlog', 'queue.pending', '>', 120_000],
      ['event-loop-lag', 'process.event_loop_lag_p99_ms', '>', 60_000],
      ['process-rss', 'process.rss_bytes', '>', 300_000],
    ]);
    expect(new Set(DEFAULT_ALERT_RULES.map((rule) => rule.metric))).toEqual(new Set(Object.values(ALERT_METRICS)));
    for (const rule of DEFAULT_ALERT_RULES) {
      expect(rule.levels.map((level) => level.severity)).toEqual(['warning', 'critical']);
      for (const level of rule.levels) expect(level.clearThreshold).not.toBe(level.threshold);
    }
  });

  it('fire on a bad snapshot after their for durations and stay quiet on a healthy one', () => {
    let now = 0;
    const engine = new AlertEngine({ clock: { now: () => now }, logger: { warn: () => undefined } });
    const healthy: MetricSample[] = [
      { metric: 'http.p95_ms', value: 120 },
      { metric: 'http.error_rate', value: 0.001 },
      { metric: 'db.slow_queries_per_min', value: 1 },
      { metric: 'cache.hit_rate', labels: { cache: 'conversation' }, value: 0.9 },
      { metric: 'cache.hit_rate', labels: { cache: 'ai-response' }, value: 0.7 },
      { metric: 'queue.pending', value: 3 },
      { metric: 'process.event_loop_lag_p99_ms', value: 12 },
      { metric: 'process.rss_bytes', value: 300 * 1024 ** 2 },
    ];
    const bad: MetricSample[] = [
      { metric: 'http.p95_ms', value: 5_000 },
      { metric: 'http.error_rate', value: 0.02 },
      { metric: 'db.slow_queries_per_min', value: 100 },
      { metric: 'cache.hit_rate', labels: { cache: 'conversation' }, value: 0.9 },
      { metric: 'cache.hit_rate', labels: { cache: 'ai-response' }, value: 0.1 },
      { metric: 'queue.pending', value: 2_000 },
      { metric: 'process.event_loop_lag_p99_ms', value: 600 },
      { metric: 'process.rss_bytes', value: 1.5 * GIB },
    ];
    for (now = 0; now <= 600_000; now += 30_000) expect(engine.evaluate(healthy)).toEqual([]);

    const firedAt = new Map<string, number>();
    engine.onTransition((event) => firedAt.set(`${event.alert.rule}:${event.alert.severity}`, event.at - 630_000));
    for (now = 630_000; now <= 630_000 + 300_000; now += 30_000) engine.evaluate(bad);
    expect(Object.fromEntries(firedAt)).toEqual({
      'http-5xx-rate:warning': 60_000,
      'event-loop-lag:critical': 60_000,
      'http-latency-p95:critical': 120_000,
      'db-slow-queries:critical': 120_000,
      'queue-backlog:warning': 120_000,
      'cache-hit-rate:critical': 300_000,
      'process-rss:warning': 300_000,
    });
    expect(engine.active().find((alert) => alert.rule === 'cache-hit-rate')?.labels).toEqual({ cache: 'ai-response' });
    expect(engine.firingCountBySeverity()).toEqual({ info: 0, warning: 3, critical: 4 });
  });
});
