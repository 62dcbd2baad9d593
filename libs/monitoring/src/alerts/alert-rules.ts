import {
  COMPARISONS,
  SEVERITIES,
  type AlertLabels,
  type AlertLevel,
  type AlertRule,
  type Comparison,
  type Severity,
} from './alert.types.js';

/** Thrown for a rule that cannot be evaluated; the message names the rule. */
export class AlertRuleError extends Error {
  constructor(
    /** The offending rule's name (or its position when it has none). */
    readonly rule: string,
    problem: string,
  ) {
    super(`Invalid alert rule "${rule}": ${problem}`);
    this.name = 'AlertRuleError';
  }
}

/** 0 for `info`, 1 for `warning`, 2 for `critical`. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** Whether `value <comparison> threshold`. */
export function compare(value: number, comparison: Comparison, threshold: number): boolean {
  switch (comparison) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

/** True for `>`/`>=` (bad values are high), false for `<`/`<=`. */
export function isUpward(comparison: Comparison): boolean {
  return comparison === '>' || comparison === '>=';
}

/** A level with its clear threshold filled in. */
export interface ResolvedLevel {
  readonly severity: Severity;
  readonly threshold: number;
  readonly clearThreshold: number;
}

/**
 * Checks one rule and returns a frozen copy with its levels sorted from least to most severe.
 * Throws `AlertRuleError` naming the rule for: empty or non-string name/metric, unknown comparison,
 * negative or non-finite `forMs`, empty levels, unknown or repeated severities, non-finite
 * thresholds, a clear threshold on the triggering side of its threshold, and levels whose
 * thresholds do not grow more extreme with severity.
 */
export function validateRule(rule: AlertRule, position?: number): AlertRule {
  const raw = rule as unknown as Record<string, unknown>;
  const name = typeof raw['name'] === 'string' && raw['name'].trim() !== '' ? raw['name'] : `#${position ?? 0}`;
  const fail = (problem: string): never => {
    throw new AlertRuleError(name, problem);
  };

  if (typeof raw['name'] !== 'string' || raw['name'].trim() === '') fail('"name" must be a non-empty string');
  if (typeof raw['metric'] !== 'string' || raw['metric'].trim() === '') fail('"metric" must be a non-empty string');
  if (raw['description'] !== undefined && typeof raw['description'] !== 'string') fail('"description" must be a string');
  if (!(COMPARISONS as readonly unknown[]).includes(raw['comparison'])) {
    fail(`unknown comparison ${JSON.stringify(raw['comparison'])} (expected one of ${COMPARISONS.join(', ')})`);
  }
  if (typeof raw['forMs'] !== 'number' || !Number.isFinite(raw['forMs']) || raw['forMs'] < 0) {
    fail(`"forMs" must be a finite number ≥ 0 (got ${JSON.stringify(raw['forMs'])})`);
  }
  if (!Array.isArray(raw['levels']) || raw['levels'].length === 0) fail('"levels" must be a non-empty array');
  const labels = checkLabels(raw['labels'], 'labels', fail);
  const match = checkLabels(raw['match'], 'match', fail);

  const levels = [...rule.levels].map((level) => checkLevel(level, rule.comparison, fail));
  const seen = new Set<Severity>();
  for (const level of levels) {
    if (seen.has(level.severity)) fail(`severity "${level.severity}" appears in more than one level`);
    seen.add(level.severity);
  }
  levels.sort((a, b) => severityRank(a.severity) - severityRank(b.severity));
  checkOrdering(levels, rule.comparison, fail);

  return Object.freeze({
    name: rule.name,
    description: rule.description ?? '',
    metric: rule.metric,
    comparison: rule.comparison,
    levels: Object.freeze(levels.map((level) => Object.freeze(level))),
    forMs: rule.forMs,
    ...(labels ? { labels } : {}),
    ...(match ? { match } : {}),
  });
}

/**
 * Validates every rule (see `validateRule`) and that names are unique; returns frozen, normalized
 * copies in the same order.
 */
export function validateRules(rules: readonly AlertRule[]): AlertRule[] {
  const names = new Set<string>();
  return rules.map((rule, index) => {
    const valid = validateRule(rule, index);
    if (names.has(valid.name)) throw new AlertRuleError(valid.name, 'another rule has the same name');
    names.add(valid.name);
    return valid;
  });
}

/** A validated rule's levels with clear thresholds filled in, least severe first. */
export function resolvedLevels(rule: AlertRule): ResolvedLevel[] {
  return rule.levels.map((level) => ({
    severity: level.severity,
    threshold: level.threshold,
    clearThreshold: level.clearThreshold ?? level.threshold,
  }));
}

function checkLevel(level: AlertLevel, comparison: Comparison, fail: (problem: string) => never): AlertLevel {
  if (typeof level !== 'object' || level === null) return fail('every level must be an object');
  const raw = level as unknown as Record<string, unknown>;
  if (!(SEVERITIES as readonly unknown[]).includes(raw['severity'])) {
    fail(`unknown severity ${JSON.stringify(raw['severity'])} (expected one of ${SEVERITIES.join(', ')})`);
  }
  if (typeof raw['threshold'] !== 'number' || !Number.isFinite(raw['threshold'])) {
    fail(`level "${level.severity}": "threshold" must be a finite number`);
  }
  if (level.clearThreshold === undefined) return { severity: level.severity, threshold: level.threshold };
  if (typeof raw['clearThreshold'] !== 'number' || !Number.isFinite(raw['clearThreshold'])) {
    fail(`level "${level.severity}": "clearThreshold" must be a finite number`);
  }
  const up = isUpward(comparison);
  if (up ? level.clearThreshold > level.threshold : level.clearThreshold < level.threshold) {
    fail(
      `level "${level.severity}": clearThreshold ${level.clearThreshold} must be ${up ? '≤' : '≥'} threshold ${level.threshold} ` +
        `for comparison "${comparison}" (it is where a firing alert clears, on the healthy side)`,
    );
  }
  return { severity: level.severity, threshold: level.threshold, clearThreshold: level.clearThreshold };
}

/** More severe levels need strictly more extreme thresholds and at-least-as-extreme clear thresholds. */
function checkOrdering(levels: readonly AlertLevel[], comparison: Comparison, fail: (problem: string) => never): void {
  const up = isUpward(comparison);
  const beyond = (a: number, b: number): boolean => (up ? a > b : a < b);
  for (let i = 1; i < levels.length; i++) {
    const lower = levels[i - 1];
    const higher = levels[i];
    if (!beyond(higher.threshold, lower.threshold)) {
      fail(
        `level "${higher.severity}" threshold ${higher.threshold} must be ${up ? 'above' : 'below'} ` +
          `level "${lower.severity}" threshold ${lower.threshold} for comparison "${comparison}"`,
      );
    }
    const lowerClear = lower.clearThreshold ?? lower.threshold;
    const higherClear = higher.clearThreshold ?? higher.threshold;
    if (beyond(lowerClear, higherClear)) {
      fail(
        `level "${higher.severity}" clearThreshold ${higherClear} must not be ${up ? 'below' : 'above'} ` +
          `level "${lower.severity}" clearThreshold ${lowerClear}`,
      );
    }
  }
}

function checkLabels(value: unknown, field: string, fail: (problem: string) => never): AlertLabels | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(`"${field}" must be an object of strings`);
  const entries = Object.entries(value);
  for (const [key, label] of entries) {
    if (typeof label !== 'string') fail(`"${field}.${key}" must be a string`);
  }
  return Object.freeze(Object.fromEntries(entries) as Record<string, string>);
}
