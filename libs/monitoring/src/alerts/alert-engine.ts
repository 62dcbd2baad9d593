import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { compare, resolvedLevels, severityRank, validateRules, type ResolvedLevel } from './alert-rules.js';
import {
  SEVERITIES,
  systemAlertClock,
  type Alert,
  type AlertClock,
  type AlertEvent,
  type AlertLabels,
  type AlertLogger,
  type AlertNotifier,
  type AlertRule,
  type AlertTransitionKind,
  type AlertTransitionListener,
  type Comparison,
  type MetricSample,
  type MetricSnapshot,
  type ResolveReason,
  type Severity,
} from './alert.types.js';
import { DEFAULT_ALERT_RULES } from './default-rules.js';

/** Options of `AlertEngine`; every one has a default. */
export interface AlertEngineOptions {
  /** Validated on construction (`validateRules`); default `DEFAULT_ALERT_RULES`. */
  rules?: readonly AlertRule[];
  /** Default: `Date.now`. */
  clock?: AlertClock;
  /** How many transitions `recent()` keeps (oldest dropped first); default 500, 0 keeps none. */
  historyLimit?: number;
  /** Told about transitions without blocking evaluation (e.g. `WebhookNotifier`). */
  notifiers?: readonly AlertNotifier[];
  /** Which transitions reach the notifiers; default `fired`, `escalated`, `resolved`. */
  notifyOn?: readonly AlertTransitionKind[];
  /**
   * When set, an alert whose series has had no sample for this long is dropped (pending) or
   * resolved with reason `stale` (firing). Unset (the default): absence never changes an alert.
   */
  staleAfterMs?: number;
  /** Default: `crypto.randomUUID`. */
  idGenerator?: () => string;
  /** Where notifier and listener failures are reported; default Nest's `Logger('AlertEngine')`. */
  logger?: AlertLogger;
}

/** Counters for the engine's own health. */
export interface AlertEngineStats {
  rules: number;
  pending: number;
  firing: number;
  history: number;
  evaluations: number;
  /** Notifier calls that threw or rejected. */
  notificationFailures: number;
  /** Transition listeners that threw. */
  listenerFailures: number;
}

export const DEFAULT_HISTORY_LIMIT = 500;
const DEFAULT_NOTIFY_ON: readonly AlertTransitionKind[] = ['fired', 'escalated', 'resolved'];

type MutableAlert = { -readonly [K in keyof Alert]: Alert[K] };

interface CompiledRule {
  readonly rule: AlertRule;
  /** Least severe first. */
  readonly levels: readonly ResolvedLevel[];
}

/** One rule × one label set: exists exactly while its alert is pending or firing. */
interface Series {
  readonly compiled: CompiledRule;
  readonly alert: MutableAlert;
  /** Per level: since when its trigger condition has held at every evaluation (absent: not holding). */
  readonly triggeredSince: Map<Severity, number>;
  lastSampleAt: number;
}

/**
 * Evaluates alert rules against metric samples and keeps the alerts' state.
 *
 * Per rule and label set (the deduplication key), at each `evaluate`:
 * - nothing active → `pending` as soon as a level's threshold is crossed (severity: the highest
 *   crossed level; `startedAt` = now);
 * - `pending` → `firing` at the first evaluation where a level's condition has held for `forMs`
 *   (held at every evaluation since it started, `now - since >= forMs`, so exactly at the boundary;
 *   `forMs` 0 fires in the evaluation that sees it); it fires at the highest level that has held
 *   that long. A pending alert whose condition stops holding is dropped silently (no history, no
 *   notification): flapping faster than `forMs` never fires;
 * - `firing` stays firing while the value is beyond its level's clear threshold (hysteresis). When it
 *   is not, it de-escalates to the most severe lower level still beyond *its* clear threshold, or
 *   else resolves. A more severe level whose condition has held for `forMs` escalates it. Escalation
 *   and de-escalation keep the alert's id; after a resolve, the next crossing is a new alert;
 * - a series with no sample in an evaluation is left exactly as it was (see `evaluate`).
 *
 * Transitions (`fired`, `escalated`, `deescalated`, `resolved`) go to a bounded history (newest
 * first), to `onTransition` listeners (synchronously) and to notifiers (not awaited).
 */
export class AlertEngine {
  private readonly ruleList: readonly AlertRule[];
  private readonly byMetric = new Map<string, CompiledRule[]>();
  private readonly series = new Map<string, Series>();
  private readonly history: AlertEvent[] = [];
  private readonly listeners = new Set<AlertTransitionListener>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly clock: AlertClock;
  private readonly historyLimit: number;
  private readonly notifiers: readonly AlertNotifier[];
  private readonly notifyOn: ReadonlySet<AlertTransitionKind>;
  private readonly staleAfterMs: number | undefined;
  private readonly newId: () => string;
  private readonly logger: AlertLogger;
  private evaluations = 0;
  private notificationFailures = 0;
  private listenerFailures = 0;

  constructor(options: AlertEngineOptions = {}) {
    this.ruleList = Object.freeze(validateRules(options.rules ?? DEFAULT_ALERT_RULES));
    for (const rule of this.ruleList) {
      const compiled: CompiledRule = { rule, levels: resolvedLevels(rule) };
      this.byMetric.set(rule.metric, [...(this.byMetric.get(rule.metric) ?? []), compiled]);
    }
    this.historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    if (!Number.isInteger(this.historyLimit) || this.historyLimit < 0) {
      throw new Error(`AlertEngine: historyLimit must be an integer ≥ 0 (got ${options.historyLimit})`);
    }
    if (options.staleAfterMs !== undefined && !(Number.isFinite(options.staleAfterMs) && options.staleAfterMs > 0)) {
      throw new Error(`AlertEngine: staleAfterMs must be a finite number > 0 (got ${options.staleAfterMs})`);
    }
    this.staleAfterMs = options.staleAfterMs;
    this.clock = options.clock ?? systemAlertClock;
    this.notifiers = [...(options.notifiers ?? [])];
    this.notifyOn = new Set(options.notifyOn ?? DEFAULT_NOTIFY_ON);
    this.newId = options.idGenerator ?? randomUUID;
    this.logger = options.logger ?? new Logger('AlertEngine');
  }

  /** The validated rules, least severe level first in each. */
  rules(): readonly AlertRule[] {
    return this.ruleList;
  }

  /**
   * Evaluates every rule against one snapshot of metric values, at `clock.now()`, and returns the
   * transitions it caused (already recorded, and handed to listeners and notifiers).
   *
   * Samples for metrics no rule watches, and non-finite values (NaN, ±Infinity), are ignored; when
   * one series appears twice, the last sample wins.
   *
   * A series that has no sample in this snapshot keeps its state: a missing value resolves nothing
   * and cancels nothing. A metric going missing means the monitor could not measure (or a ratio had
   * too small a denominator), not that the problem went away; resolving on absence would send an
   * "all clear" exactly when visibility is lost, and re-fire when it returns. Only a sample on the
   * healthy side of the clear threshold resolves. Opt in to `staleAfterMs` to expire series that
   * disappear for good (e.g. a cache that no longer exists).
   */
  evaluate(snapshot: MetricSnapshot): AlertEvent[] {
    const now = this.clock.now();
    this.evaluations++;
    const events: AlertEvent[] = [];
    const latest = new Map<string, { compiled: CompiledRule; labels: AlertLabels; value: number }>();
    for (const sample of toSamples(snapshot)) {
      if (typeof sample.value !== 'number' || !Number.isFinite(sample.value)) continue;
      const labels = sortedLabels(sample.labels);
      for (const compiled of this.byMetric.get(sample.metric) ?? []) {
        if (!matches(compiled.rule.match, labels)) continue;
        latest.set(seriesKey(compiled.rule.name, labels), { compiled, labels, value: sample.value });
      }
    }

    for (const [key, { compiled, labels, value }] of latest) {
      const series = this.series.get(key) ?? this.open(key, compiled, labels, value, now);
      if (series) this.step(key, series, value, now, events);
    }
    if (this.staleAfterMs !== undefined) this.expire(latest, this.staleAfterMs, now, events);

    for (const event of events) this.publish(event);
    return events;
  }

  /** Pending and firing alerts: firing first, then most severe, then oldest. */
  active(): Alert[] {
    return [...this.series.values()]
      .map((series) => snapshotOf(series.alert))
      .sort(
        (a, b) =>
          Number(b.state === 'firing') - Number(a.state === 'firing') ||
          severityRank(b.severity) - severityRank(a.severity) ||
          a.startedAt - b.startedAt ||
          a.rule.localeCompare(b.rule),
      );
  }

  /** The newest `limit` transitions (default: all kept), newest first. */
  recent(limit: number = this.historyLimit): AlertEvent[] {
    if (!Number.isInteger(limit) || limit < 0) throw new Error(`AlertEngine.recent: limit must be an integer ≥ 0 (got ${limit})`);
    return this.history.slice(0, limit);
  }

  /** Firing (not pending) alerts per severity, every severity present: what the `alerts_firing` gauge shows. */
  firingCountBySeverity(): Record<Severity, number> {
    const counts = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as Record<Severity, number>;
    for (const { alert } of this.series.values()) {
      if (alert.state === 'firing') counts[alert.severity]++;
    }
    return counts;
  }

  /** Subscribes to every transition, synchronously; returns the unsubscribe function. A throwing listener is logged and counted. */
  onTransition(listener: AlertTransitionListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Resolves once every notification started so far has settled (for tests and graceful shutdown). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  stats(): AlertEngineStats {
    let pending = 0;
    let firing = 0;
    for (const { alert } of this.series.values()) {
      if (alert.state === 'firing') firing++;
      else pending++;
    }
    return {
      rules: this.ruleList.length,
      pending,
      firing,
      history: this.history.length,
      evaluations: this.evaluations,
      notificationFailures: this.notificationFailures,
      listenerFailures: this.listenerFailures,
    };
  }

  /** A new series (its alert pending) when the value crosses a level; undefined when it crosses none. */
  private open(key: string, compiled: CompiledRule, labels: AlertLabels, value: number, now: number): Series | undefined {
    const lowest = compiled.levels[0];
    if (!compare(value, compiled.rule.comparison, lowest.threshold)) return undefined;
    const series: Series = {
      compiled,
      triggeredSince: new Map(),
      lastSampleAt: now,
      alert: {
        id: this.newId(),
        rule: compiled.rule.name,
        metric: compiled.rule.metric,
        labels: Object.freeze({ ...compiled.rule.labels, ...labels }),
        severity: lowest.severity,
        state: 'pending',
        comparison: compiled.rule.comparison,
        value,
        threshold: lowest.threshold,
        clearThreshold: lowest.clearThreshold,
        startedAt: now,
        firedAt: null,
        escalatedAt: null,
        resolvedAt: null,
        resolveReason: null,
        updatedAt: now,
        description: compiled.rule.description,
        summary: '',
      },
    };
    this.series.set(key, series);
    return series;
  }

  /** One evaluation of one series with a value. */
  private step(key: string, series: Series, value: number, now: number, events: AlertEvent[]): void {
    const { compiled, alert, triggeredSince } = series;
    const { comparison } = compiled.rule;
    series.lastSampleAt = now;
    alert.value = value;
    alert.updatedAt = now;

    let triggered: ResolvedLevel | undefined;
    let ready: ResolvedLevel | undefined;
    for (const level of compiled.levels) {
      if (!compare(value, comparison, level.threshold)) {
        triggeredSince.delete(level.severity);
        continue;
      }
      const since = triggeredSince.get(level.severity) ?? now;
      triggeredSince.set(level.severity, since);
      triggered = level;
      if (now - since >= compiled.rule.forMs) ready = level;
    }

    if (alert.state === 'pending') {
      if (!triggered) {
        this.series.delete(key); // stopped holding before forMs: never fired, nothing to report
        return;
      }
      if (ready) {
        setLevel(alert, ready);
        alert.state = 'firing';
        alert.firedAt = now;
        events.push(this.transition('fired', alert, now, null));
      } else {
        setLevel(alert, triggered);
        alert.summary = summarize(alert);
      }
      return;
    }

    const current = levelOf(compiled, alert.severity);
    if (ready && severityRank(ready.severity) > severityRank(current.severity)) {
      this.changeLevel(alert, ready, 'escalated', now, events);
    } else if (compare(value, comparison, current.clearThreshold)) {
      alert.summary = summarize(alert);
    } else {
      const lower = compiled.levels
        .filter((level) => severityRank(level.severity) < severityRank(current.severity))
        .findLast((level) => compare(value, comparison, level.clearThreshold));
      if (lower) this.changeLevel(alert, lower, 'deescalated', now, events);
      else this.resolve(key, series, 'cleared', now, events);
    }
  }

  private changeLevel(alert: MutableAlert, level: ResolvedLevel, kind: 'escalated' | 'deescalated', now: number, events: AlertEvent[]): void {
    const previous = alert.severity;
    setLevel(alert, level);
    alert.escalatedAt = now;
    events.push(this.transition(kind, alert, now, previous));
  }

  private resolve(key: string, series: Series, reason: ResolveReason, now: number, events: AlertEvent[]): void {
    const { alert } = series;
    alert.state = 'resolved';
    alert.resolvedAt = now;
    alert.resolveReason = reason;
    alert.updatedAt = now;
    this.series.delete(key);
    events.push(this.transition('resolved', alert, now, null));
  }

  /** With `staleAfterMs`: series without a sample for that long are dropped (pending) or resolved (firing). */
  private expire(seen: ReadonlyMap<string, unknown>, staleAfterMs: number, now: number, events: AlertEvent[]): void {
    for (const [key, series] of [...this.series]) {
      if (seen.has(key) || now - series.lastSampleAt < staleAfterMs) continue;
      if (series.alert.state === 'pending') this.series.delete(key);
      else this.resolve(key, series, 'stale', now, events);
    }
  }

  private transition(kind: AlertTransitionKind, alert: MutableAlert, at: number, previousSeverity: Severity | null): AlertEvent {
    alert.summary = summarize(alert);
    return Object.freeze({ kind, at, alert: snapshotOf(alert), previousSeverity });
  }

  /** Records a transition, then tells listeners (synchronously) and notifiers (not awaited). */
  private publish(event: AlertEvent): void {
    if (this.historyLimit > 0) {
      this.history.unshift(event);
      if (this.history.length > this.historyLimit) this.history.length = this.historyLimit;
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.listenerFailures++;
        this.logger.warn(`alert transition listener failed on ${event.kind} ${event.alert.rule}: ${describe(error)}`);
      }
    }
    if (!this.notifyOn.has(event.kind)) return;
    for (const notifier of this.notifiers) this.notify(notifier, event);
  }

  private notify(notifier: AlertNotifier, event: AlertEvent): void {
    const failed = (error: unknown): void => {
      this.notificationFailures++;
      this.logger.warn(`alert notifier failed on ${event.kind} ${event.alert.rule}: ${describe(error)}`);
    };
    try {
      const result = notifier.notify(event);
      if (!result) return;
      const tracked: Promise<void> = Promise.resolve(result)
        .catch(failed)
        .finally(() => this.inFlight.delete(tracked));
      this.inFlight.add(tracked);
    } catch (error) {
      failed(error);
    }
  }
}

function setLevel(alert: MutableAlert, level: ResolvedLevel): void {
  alert.severity = level.severity;
  alert.threshold = level.threshold;
  alert.clearThreshold = level.clearThreshold;
}

function levelOf(compiled: CompiledRule, severity: Severity): ResolvedLevel {
  const level = compiled.levels.find((candidate) => candidate.severity === severity);
  if (!level) throw new Error(`AlertEngine: rule "${compiled.rule.name}" has no level "${severity}"`);
  return level;
}

function snapshotOf(alert: MutableAlert): Alert {
  return Object.freeze({ ...alert });
}

function toSamples(snapshot: MetricSnapshot): readonly MetricSample[] {
  if (Array.isArray(snapshot)) return snapshot as readonly MetricSample[];
  return Object.entries(snapshot as Readonly<Record<string, number>>).map(([metric, value]) => ({ metric, value }));
}

function sortedLabels(labels: AlertLabels | undefined): AlertLabels {
  if (!labels) return {};
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function matches(selector: AlertLabels | undefined, labels: AlertLabels): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** Rule name + sorted labels: one alert per key. */
function seriesKey(rule: string, labels: AlertLabels): string {
  return `${rule}\u0000${JSON.stringify(Object.entries(labels))}`;
}

const NEGATED: Record<Comparison, string> = { '>': '≤', '>=': '<', '<': '≥', '<=': '>' };

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

function formatLabels(labels: AlertLabels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return ` {${entries.map(([key, value]) => `${key}="${value}"`).join(', ')}}`;
}

/** e.g. `[FIRING warning] http-latency-p95: http.p95_ms = 1200 (threshold > 1000)`. */
function summarize(alert: MutableAlert): string {
  const subject = `${alert.rule}${formatLabels(alert.labels)}: ${alert.metric} = ${formatNumber(alert.value)}`;
  if (alert.state !== 'resolved') {
    return `[${alert.state.toUpperCase()} ${alert.severity}] ${subject} (threshold ${alert.comparison} ${formatNumber(alert.threshold)})`;
  }
  if (alert.resolveReason === 'stale') return `[RESOLVED] ${subject} (no sample since; expired as stale)`;
  return `[RESOLVED] ${subject} (cleared at ${NEGATED[alert.comparison]} ${formatNumber(alert.clearThreshold)})`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
