import { describe, expect, it } from 'vitest';
import { AlertConfigError, alertRulesFromConfig, parseDuration } from './alert-config.js';
import type { AlertRule } from './alert.types.js';
import { DEFAULT_ALERT_RULES } from './default-rules.js';

const defaults: AlertRule[] = [
  {
    name: 'latency',
    description: 'Latency is high',
    metric: 'lat',
    comparison: '>',
    levels: [
      { severity: 'warning', threshold: 500, clearThreshold: 400 },
      { severity: 'critical', threshold: 2000, clearThreshold: 1500 },
    ],
    forMs: 60_000,
  },
  {
    name: 'rss',
    description: 'Memory is high',
    metric: 'rss',
    comparison: '>',
    levels: [{ severity: 'warning', threshold: 100 }],
    forMs: 0,
  },
];

const options = { defaults, source: 'ALERT_RULES' };

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5m', 90_000],
    ['2h', 7_200_000],
    [' 5 m ', 300_000],
    [250, 250],
    [0, 0],
  ] as const)('%s → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it('rejects other forms', () => {
    expect(() => parseDuration('5 minutes')).toThrow('invalid duration "5 minutes" (expected e.g. 500ms, 30s, 5m, 1h)');
    expect(() => parseDuration('-5s')).toThrow('invalid duration "-5s"');
    expect(() => parseDuration(-1)).toThrow('invalid duration -1 (expected a number of ms ≥ 0)');
  });
});

describe('alertRulesFromConfig', () => {
  it('gives the defaults for undefined, null, an empty string and an empty array', () => {
    for (const input of [undefined, null, '', '  ', '[]']) expect(alertRulesFromConfig(input, options)).toEqual(defaults);
    expect(alertRulesFromConfig(undefined)).toEqual(DEFAULT_ALERT_RULES);
  });

  it('merges a partial override over the default of the same name, keeping the order', () => {
    const rules = alertRulesFromConfig('[{"name":"latency","for":"90s","labels":{"team":"api"}}]', options);
    expect(rules).toEqual([{ ...defaults[0], forMs: 90_000, labels: { team: 'api' } }, defaults[1]]);
  });

  it('replaces levels as a whole and validates the result', () => {
    const rules = alertRulesFromConfig([{ name: 'latency', levels: [{ severity: 'critical', threshold: 900 }] }], options);
    expect(rules[0].levels).toEqual([{ severity: 'critical', threshold: 900 }]);
  });

  it('adds a complete new rule, after the defaults', () => {
    const queue = { name: 'queue', metric: 'queue.pending', comparison: '>=', levels: [{ severity: 'info', threshold: 10 }], forMs: 0 };
    expect(alertRulesFromConfig({ rules: [queue] }, options)).toEqual([...defaults, { ...queue, description: '' }]);
  });

  it('removes a default with enabled: false', () => {
    expect(alertRulesFromConfig([{ name: 'rss', enabled: false }], options)).toEqual([defaults[0]]);
  });

  it('replace mode uses only the configured rules', () => {
    const rules = alertRulesFromConfig(
      {
        mode: 'replace',
        rules: [
          { name: 'only', metric: 'm', comparison: '<', levels: [{ severity: 'warning', threshold: 1, clearThreshold: 2 }], for: '1m' },
          { name: 'off', enabled: false },
        ],
      },
      options,
    );
    expect(rules).toEqual([
      { name: 'only', description: '', metric: 'm', comparison: '<', levels: [{ severity: 'warning', threshold: 1, clearThreshold: 2 }], forMs: 60_000 },
    ]);
  });

  it('returns validated, frozen rules', () => {
    const rules = alertRulesFromConfig([{ name: 'latency', forMs: 1 }], options);
    expect(Object.isFrozen(rules[0])).toBe(true);
  });

  const errors: Array<[string, unknown, string]> = [
    ['bad JSON', '[{', 'ALERT_RULES: not valid JSON ('],
    ['a number', 42, 'ALERT_RULES: expected an array of rules or an object { mode, rules }'],
    ['an unknown top-level key', { rule: [] }, 'ALERT_RULES: unknown key "rule" (expected mode, rules)'],
    ['an unknown mode', { mode: 'append', rules: [] }, 'ALERT_RULES: "mode" must be "merge" or "replace" (got "append")'],
    ['rules not an array', { rules: {} }, 'ALERT_RULES: "rules" must be an array'],
    ['a non-object rule', [1], 'ALERT_RULES: rules[0] must be an object'],
    ['a nameless rule', [{ forMs: 1 }], 'ALERT_RULES: rules[0]: "name" must be a non-empty string'],
    [
      'an unknown rule key (typo)',
      [{ name: 'latency', threshold: 5 }],
      'ALERT_RULES: rule "latency": unknown key "threshold" (expected name, enabled, description, metric, comparison, levels, forMs, for, labels, match)',
    ],
    [
      'an unknown level key',
      [{ name: 'latency', levels: [{ severity: 'warning', threshold: 5, clear: 4 }] }],
      'ALERT_RULES: rule "latency": levels[0]: unknown key "clear" (expected severity, threshold, clearThreshold)',
    ],
    ['both for and forMs', [{ name: 'latency', for: '1m', forMs: 1 }], 'ALERT_RULES: rule "latency": give "forMs" or "for", not both'],
    [
      'a bad duration',
      [{ name: 'latency', for: 'soon' }],
      'ALERT_RULES: rule "latency": "for": invalid duration "soon" (expected e.g. 500ms, 30s, 5m, 1h)',
    ],
    ['a non-boolean enabled', [{ name: 'latency', enabled: 'no' }], 'ALERT_RULES: rule "latency": "enabled" must be true or false'],
    ['a duplicate name', [{ name: 'rss' }, { name: 'rss' }], 'ALERT_RULES: rule "rss" appears more than once'],
    ['disabling an unknown rule', [{ name: 'nope', enabled: false }], 'ALERT_RULES: rule "nope" is disabled but no default rule has that name'],
    [
      'an incomplete new rule',
      [{ name: 'new', metric: 'x' }],
      'ALERT_RULES: rule "new" is new (no default has that name) and lacks comparison, levels, forMs',
    ],
    [
      'an override that breaks the rule',
      [{ name: 'latency', comparison: '<' }],
      'ALERT_RULES: Invalid alert rule "latency": level "warning": clearThreshold 400 must be ≥ threshold 500 for comparison "<" (it is where a firing alert clears, on the healthy side)',
    ],
  ];

  it.each(errors)('rejects %s with a clear message', (_what, input, message) => {
    expect(() => alertRulesFromConfig(input, options)).toThrow(AlertConfigError);
    expect(() => alertRulesFromConfig(input, options)).toThrow(message);
  });

  it('names the source "alert rules config" by default', () => {
    expect(() => alertRulesFromConfig('{', { defaults })).toThrow(/^alert rules config: not valid JSON/);
  });
});
