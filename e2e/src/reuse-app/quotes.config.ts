/**
 * The quotes app's configuration: one typed object, read from environment variables and
 * validated at start, so a bad value stops the app with one line naming the variable.
 */
import { alertRulesFromConfig } from '@chat/monitoring';
import { Global, Module, type DynamicModule } from '@nestjs/common';

export const QUOTES_CONFIG = Symbol('QUOTES_CONFIG');

/** Which parts of the performance layer the app turns on (decided when the module is declared). */
export interface QuotesSubsystems {
  cache: boolean;
  queue: boolean;
  monitor: boolean;
}

export interface QuotesConfig {
  databaseUrl: string;
  /** null: in-process caches and queue. */
  redisUrl: string | null;
  /** Prefix of every Redis key this app writes (cache keys and channels, BullMQ keys), so apps can share one Redis. */
  keyPrefix: string;
  /** How long a quote stays fresh in the cache. */
  cacheTtlMs: number;
  /** How often the monitor samples the process and evaluates its alert rules. */
  evaluateEveryMs: number;
  /** Alert rules as configuration (see `alertRulesFromConfig`), already checked; undefined: the defaults plus the app's own. */
  alertRules: unknown;
  /** How long running tasks get to finish on shutdown before they are given back. */
  shutdownTimeoutMs: number;
  subsystems: QuotesSubsystems;
}

/** The app's own rule, merged over the monitor's defaults: its cache is cold when most reads miss. */
export const QUOTES_ALERT_RULES = [
  {
    name: 'quotes-cache-cold',
    description: 'Most quote reads miss the cache',
    metric: 'cache.hit_rate',
    comparison: '<',
    levels: [{ severity: 'warning', threshold: 0.5, clearThreshold: 0.6 }],
    for: '5m',
    match: { cache: 'quotes' },
  },
];

export class QuotesConfigError extends Error {
  override readonly name = 'QuotesConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new QuotesConfigError(`Invalid configuration: ${name} must be a positive integer, got "${raw}"`);
  return value;
}

function onOff(env: Env, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new QuotesConfigError(`Invalid configuration: ${name} must be "on" or "off", got "${raw}"`);
}

/**
 * `QUOTES_DATABASE_URL` (required), `QUOTES_REDIS_URL`, `QUOTES_KEY_PREFIX` (default `quotes`),
 * `QUOTES_CACHE_TTL_MS`, `QUOTES_EVALUATE_EVERY_MS`, `QUOTES_ALERT_RULES` (JSON),
 * `QUOTES_SHUTDOWN_TIMEOUT_MS`, and `QUOTES_CACHE` / `QUOTES_QUEUE` / `QUOTES_MONITOR` (`on` | `off`).
 */
export function quotesConfigFromEnv(env: Env): QuotesConfig {
  const databaseUrl = env['QUOTES_DATABASE_URL'];
  if (databaseUrl === undefined || databaseUrl === '') throw new QuotesConfigError('Invalid configuration: QUOTES_DATABASE_URL is required');
  const keyPrefix = env['QUOTES_KEY_PREFIX'] || 'quotes';
  if (!/^[\w.-]{1,64}$/.test(keyPrefix)) throw new QuotesConfigError(`Invalid configuration: QUOTES_KEY_PREFIX must be 1-64 of [A-Za-z0-9_.-], got "${keyPrefix}"`);
  const rawRules = env['QUOTES_ALERT_RULES'];
  const alertRules: unknown = rawRules === undefined || rawRules === '' ? QUOTES_ALERT_RULES : rawRules;
  try {
    // Checked now, so a bad rule stops the app before anything starts; the monitor parses it again.
    alertRulesFromConfig(alertRules, { source: 'QUOTES_ALERT_RULES' });
  } catch (error) {
    throw new QuotesConfigError(`Invalid configuration: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    databaseUrl,
    redisUrl: env['QUOTES_REDIS_URL'] || null,
    keyPrefix,
    cacheTtlMs: positiveInt(env, 'QUOTES_CACHE_TTL_MS', 60_000),
    evaluateEveryMs: positiveInt(env, 'QUOTES_EVALUATE_EVERY_MS', 15_000),
    alertRules,
    shutdownTimeoutMs: positiveInt(env, 'QUOTES_SHUTDOWN_TIMEOUT_MS', 5_000),
    subsystems: { cache: onOff(env, 'QUOTES_CACHE'), queue: onOff(env, 'QUOTES_QUEUE'), monitor: onOff(env, 'QUOTES_MONITOR') },
  };
}

/** Provides `QUOTES_CONFIG` to the whole app (and to `forRootAsync` factories that import it). */
@Global()
@Module({})
export class QuotesConfigModule {
  static forRoot(config: QuotesConfig): DynamicModule {
    return { module: QuotesConfigModule, providers: [{ provide: QUOTES_CONFIG, useValue: config }], exports: [QUOTES_CONFIG] };
  }
}
