import { AlertRuleError, validateRules } from './alert-rules.js';
import type { AlertLabels, AlertLevel, AlertRule, Comparison } from './alert.types.js';
import { DEFAULT_ALERT_RULES } from './default-rules.js';

/**
 * One rule as configuration gives it (plain JSON). A rule whose name matches a default (in `merge`
 * mode) only needs the fields it changes; `levels`, when given, replaces the default's levels as a
 * whole. `enabled: false` removes the rule of that name.
 */
export interface AlertRuleConfig {
  name: string;
  enabled?: boolean;
  description?: string;
  metric?: string;
  comparison?: Comparison;
  levels?: readonly AlertLevel[];
  /** Milliseconds. */
  forMs?: number;
  /** The same as `forMs`, as a duration: `500ms`, `30s`, `5m`, `1h`, or a number of ms. */
  for?: string | number;
  labels?: AlertLabels;
  match?: AlertLabels;
}

/**
 * The configuration as a whole: `merge` (the default) applies `rules` over the defaults by name;
 * `replace` uses `rules` alone. A bare array means `{ mode: 'merge', rules: array }`.
 */
export interface AlertRulesConfig {
  mode?: 'merge' | 'replace';
  rules: readonly AlertRuleConfig[];
}

/** Options of `alertRulesFromConfig`. */
export interface AlertRulesFromConfigOptions {
  /** What `merge` starts from; default `DEFAULT_ALERT_RULES`. */
  defaults?: readonly AlertRule[];
  /** Names the input in error messages, e.g. `ALERT_RULES`; default `alert rules config`. */
  source?: string;
}

/** Thrown for configuration that cannot become rules; the message starts with the source. */
export class AlertConfigError extends Error {
  constructor(source: string, problem: string) {
    super(`${source}: ${problem}`);
    this.name = 'AlertConfigError';
  }
}

const RULE_KEYS = new Set(['name', 'enabled', 'description', 'metric', 'comparison', 'levels', 'forMs', 'for', 'labels', 'match']);
const LEVEL_KEYS = new Set(['severity', 'threshold', 'clearThreshold']);
const CONFIG_KEYS = new Set(['mode', 'rules']);
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds from `500ms`, `30s`, `1.5m`, `1h` or a number (already ms). Throws on anything else,
 * including negative numbers.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new Error(`invalid duration ${value} (expected a number of ms ≥ 0)`);
  }
  const match = DURATION.exec(value.trim());
  if (!match) throw new Error(`invalid duration ${JSON.stringify(value)} (expected e.g. 500ms, 30s, 5m, 1h)`);
  return Number(match[1]) * UNIT_MS[match[2]];
}

/**
 * Builds validated rules from configuration: `undefined`, `null` or an empty string give the
 * defaults; a string is parsed as JSON (e.g. an environment variable); then an array of
 * `AlertRuleConfig` (merged over the defaults) or an `AlertRulesConfig`. Unknown keys, a duplicate
 * name, disabling a rule that does not exist and every rule problem (`validateRules`) throw an
 * `AlertConfigError` whose message names the source and the rule.
 */
export function alertRulesFromConfig(input: unknown, options: AlertRulesFromConfigOptions = {}): AlertRule[] {
  const source = options.source ?? 'alert rules config';
  const defaults = options.defaults ?? DEFAULT_ALERT_RULES;
  const fail = (problem: string): never => {
    throw new AlertConfigError(source, problem);
  };

  const config = parseConfig(parseInput(input, fail), fail);
  if (!config) return wrapRuleErrors(() => validateRules(defaults), fail);

  const rules = new Map<string, AlertRule>(config.mode === 'replace' ? [] : defaults.map((rule) => [rule.name, rule]));
  const seen = new Set<string>();
  for (const entry of config.rules) {
    if (seen.has(entry.name)) fail(`rule "${entry.name}" appears more than once`);
    seen.add(entry.name);
    if (entry.enabled === false) {
      if (config.mode !== 'replace' && !rules.delete(entry.name)) fail(`rule "${entry.name}" is disabled but no default rule has that name`);
      continue;
    }
    rules.set(entry.name, toRule(entry, rules.get(entry.name), fail));
  }
  return wrapRuleErrors(() => validateRules([...rules.values()]), fail);
}

function parseInput(input: unknown, fail: (problem: string) => never): unknown {
  if (typeof input !== 'string') return input;
  if (input.trim() === '') return undefined;
  try {
    return JSON.parse(input) as unknown;
  } catch (error) {
    return fail(`not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

function parseConfig(value: unknown, fail: (problem: string) => never): AlertRulesConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return { mode: 'merge', rules: value.map((entry, index) => parseRuleConfig(entry, index, fail)) };
  if (!isRecord(value)) return fail('expected an array of rules or an object { mode, rules }');
  for (const key of Object.keys(value)) {
    if (!CONFIG_KEYS.has(key)) fail(`unknown key "${key}" (expected mode, rules)`);
  }
  const mode = value['mode'] ?? 'merge';
  if (mode !== 'merge' && mode !== 'replace') fail(`"mode" must be "merge" or "replace" (got ${JSON.stringify(mode)})`);
  const rules = value['rules'];
  if (!Array.isArray(rules)) return fail('"rules" must be an array');
  return { mode, rules: rules.map((entry, index) => parseRuleConfig(entry, index, fail)) };
}

/** Shape checks that validation cannot do (unknown keys, `for`, `enabled`); values are checked by `validateRule`. */
function parseRuleConfig(entry: unknown, index: number, fail: (problem: string) => never): AlertRuleConfig {
  if (!isRecord(entry)) return fail(`rules[${index}] must be an object`);
  const name = entry['name'];
  if (typeof name !== 'string' || name.trim() === '') return fail(`rules[${index}]: "name" must be a non-empty string`);
  const where = `rule "${name}"`;
  for (const key of Object.keys(entry)) {
    if (!RULE_KEYS.has(key)) fail(`${where}: unknown key "${key}" (expected ${[...RULE_KEYS].join(', ')})`);
  }
  if (entry['enabled'] !== undefined && typeof entry['enabled'] !== 'boolean') fail(`${where}: "enabled" must be true or false`);
  if (entry['forMs'] !== undefined && entry['for'] !== undefined) fail(`${where}: give "forMs" or "for", not both`);
  const levels = entry['levels'];
  if (levels !== undefined) {
    if (!Array.isArray(levels)) fail(`${where}: "levels" must be an array`);
    (levels as unknown[]).forEach((level, i) => {
      if (!isRecord(level)) return fail(`${where}: levels[${i}] must be an object`);
      for (const key of Object.keys(level)) {
        if (!LEVEL_KEYS.has(key)) fail(`${where}: levels[${i}]: unknown key "${key}" (expected ${[...LEVEL_KEYS].join(', ')})`);
      }
    });
  }
  const config = { ...entry } as unknown as AlertRuleConfig & { for?: unknown };
  if (config.for !== undefined) {
    if (typeof config.for !== 'string' && typeof config.for !== 'number') fail(`${where}: "for" must be a duration string or a number of ms`);
    try {
      config.forMs = parseDuration(config.for);
    } catch (error) {
      fail(`${where}: "for": ${error instanceof Error ? error.message : String(error)}`);
    }
    delete config.for;
  }
  return config;
}

/** The configured rule over its base (the default of the same name, if any). */
function toRule(entry: AlertRuleConfig, base: AlertRule | undefined, fail: (problem: string) => never): AlertRule {
  const { enabled: _enabled, for: _for, ...fields } = entry;
  if (!base) {
    const missing = ['metric', 'comparison', 'levels', 'forMs'].filter((key) => fields[key as keyof typeof fields] === undefined);
    if (missing.length > 0) fail(`rule "${entry.name}" is new (no default has that name) and lacks ${missing.join(', ')}`);
  }
  return { description: '', ...base, ...fields } as AlertRule;
}

function wrapRuleErrors(build: () => AlertRule[], fail: (problem: string) => never): AlertRule[] {
  try {
    return build();
  } catch (error) {
    if (error instanceof AlertRuleError) return fail(error.message);
    throw error;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
