import { describe, expect, it } from 'vitest';
import { AlertRuleError, compare, resolvedLevels, severityRank, validateRule, validateRules } from './alert-rules.js';
import type { AlertRule } from './alert.types.js';

const base: AlertRule = {
  name: 'latency',
  description: 'Latency is high',
  metric: 'lat',
  comparison: '>',
  levels: [
    { severity: 'warning', threshold: 500, clearThreshold: 400 },
    { severity: 'critical', threshold: 2000, clearThreshold: 1500 },
  ],
  forMs: 60_000,
};

/** `base` with some fields replaced, typed loosely to feed invalid shapes. */
function rule(overrides: Record<string, unknown>): AlertRule {
  return { ...base, ...overrides };
}

describe('compare and severityRank', () => {
  it('reads as value <comparison> threshold', () => {
    expect([compare(5, '>', 5), compare(6, '>', 5), compare(5, '>=', 5), compare(4, '>=', 5)]).toEqual([false, true, true, false]);
    expect([compare(5, '<', 5), compare(4, '<', 5), compare(5, '<=', 5), compare(6, '<=', 5)]).toEqual([false, true, true, false]);
  });

  it('orders info < warning < critical', () => {
    expect(['info', 'warning', 'critical'].map((s) => severityRank(s as 'info'))).toEqual([0, 1, 2]);
  });
});

describe('validateRule', () => {
  it('returns a frozen copy with levels sorted least severe first', () => {
    const valid = validateRule({ ...base, levels: [...base.levels].reverse() });
    expect(valid).toEqual(base);
    expect(valid.levels.map((level) => level.severity)).toEqual(['warning', 'critical']);
    expect(Object.isFrozen(valid)).toBe(true);
    expect(Object.isFrozen(valid.levels)).toBe(true);
    expect(Object.isFrozen(valid.levels[0])).toBe(true);
  });

  it('fills an absent description and keeps labels and match', () => {
    const { description: _d, ...noDescription } = base;
    const valid = validateRule({ ...(noDescription as AlertRule), labels: { team: 'db' }, match: { cache: 'ai' } });
    expect(valid).toEqual({ ...base, description: '', labels: { team: 'db' }, match: { cache: 'ai' } });
  });

  it('resolvedLevels fills clear thresholds from thresholds', () => {
    expect(resolvedLevels(validateRule(rule({ levels: [{ severity: 'warning', threshold: 7 }] })))).toEqual([
      { severity: 'warning', threshold: 7, clearThreshold: 7 },
    ]);
  });

  it('accepts a clear threshold equal to the threshold (no hysteresis)', () => {
    expect(() => validateRule(rule({ levels: [{ severity: 'warning', threshold: 5, clearThreshold: 5 }] }))).not.toThrow();
  });

  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      'a clear threshold above the threshold for >',
      { levels: [{ severity: 'warning', threshold: 500, clearThreshold: 600 }] },
      'Invalid alert rule "latency": level "warning": clearThreshold 600 must be ≤ threshold 500 for comparison ">" (it is where a firing alert clears, on the healthy side)',
    ],
    [
      'a clear threshold below the threshold for <',
      { comparison: '<', levels: [{ severity: 'warning', threshold: 0.5, clearThreshold: 0.4 }] },
      'Invalid alert rule "latency": level "warning": clearThreshold 0.4 must be ≥ threshold 0.5 for comparison "<" (it is where a firing alert clears, on the healthy side)',
    ],
    ['an unknown comparison', { comparison: '==' }, 'Invalid alert rule "latency": unknown comparison "==" (expected one of >, >=, <, <=)'],
    ['empty levels', { levels: [] }, 'Invalid alert rule "latency": "levels" must be a non-empty array'],
    ['missing levels', { levels: undefined }, 'Invalid alert rule "latency": "levels" must be a non-empty array'],
    [
      'an unknown severity',
      { levels: [{ severity: 'fatal', threshold: 1 }] },
      'Invalid alert rule "latency": unknown severity "fatal" (expected one of info, warning, critical)',
    ],
    [
      'a repeated severity',
      {
        levels: [
          { severity: 'warning', threshold: 1 },
          { severity: 'warning', threshold: 2 },
        ],
      },
      'Invalid alert rule "latency": severity "warning" appears in more than one level',
    ],
    [
      'a non-finite threshold',
      { levels: [{ severity: 'warning', threshold: Number.NaN }] },
      'Invalid alert rule "latency": level "warning": "threshold" must be a finite number',
    ],
    [
      'a string clear threshold',
      { levels: [{ severity: 'warning', threshold: 1, clearThreshold: '0' }] },
      'Invalid alert rule "latency": level "warning": "clearThreshold" must be a finite number',
    ],
    [
      'a more severe level with a less extreme threshold (>)',
      {
        levels: [
          { severity: 'warning', threshold: 500 },
          { severity: 'critical', threshold: 500 },
        ],
      },
      'Invalid alert rule "latency": level "critical" threshold 500 must be above level "warning" threshold 500 for comparison ">"',
    ],
    [
      'a more severe level with a less extreme threshold (<)',
      {
        comparison: '<',
        levels: [
          { severity: 'warning', threshold: 0.2 },
          { severity: 'critical', threshold: 0.5 },
        ],
      },
      'Invalid alert rule "latency": level "critical" threshold 0.5 must be below level "warning" threshold 0.2 for comparison "<"',
    ],
    [
      'a more severe level clearing before the less severe one',
      {
        levels: [
          { severity: 'warning', threshold: 500, clearThreshold: 400 },
          { severity: 'critical', threshold: 2000, clearThreshold: 300 },
        ],
      },
      'Invalid alert rule "latency": level "critical" clearThreshold 300 must not be below level "warning" clearThreshold 400',
    ],
    ['a negative forMs', { forMs: -1 }, 'Invalid alert rule "latency": "forMs" must be a finite number ≥ 0 (got -1)'],
    ['a missing forMs', { forMs: undefined }, 'Invalid alert rule "latency": "forMs" must be a finite number ≥ 0 (got undefined)'],
    ['an empty metric', { metric: ' ' }, 'Invalid alert rule "latency": "metric" must be a non-empty string'],
    ['a non-string description', { description: 3 }, 'Invalid alert rule "latency": "description" must be a string'],
    ['a non-string label', { labels: { team: 1 } }, 'Invalid alert rule "latency": "labels.team" must be a string'],
    ['an array as match', { match: ['a'] }, 'Invalid alert rule "latency": "match" must be an object of strings'],
  ];

  it.each(cases)('rejects %s, naming the rule', (_what, overrides, message) => {
    expect(() => validateRule(rule(overrides))).toThrow(new AlertRuleError('latency', message.replace('Invalid alert rule "latency": ', '')));
    expect(() => validateRule(rule(overrides))).toThrow(message);
  });

  it('names a nameless rule by its position', () => {
    expect(() => validateRules([base, rule({ name: '' })])).toThrow('Invalid alert rule "#1": "name" must be a non-empty string');
  });
});

describe('validateRules', () => {
  it('rejects duplicate names', () => {
    const error = (() => {
      try {
        validateRules([base, { ...base, metric: 'other' }]);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(AlertRuleError);
    expect(error).toMatchObject({ rule: 'latency', message: 'Invalid alert rule "latency": another rule has the same name' });
  });

  it('keeps order', () => {
    expect(validateRules([{ ...base, name: 'b' }, { ...base, name: 'a' }]).map((r) => r.name)).toEqual(['b', 'a']);
  });
});
