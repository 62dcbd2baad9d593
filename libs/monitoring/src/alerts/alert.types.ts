/**
 * The alert engine's vocabulary: rules (what to watch), samples (what was measured), alerts (what
 * is wrong now) and transition events (what changed). Plain data only; the behaviour lives in
 * `alert-rules.ts` (validation, comparisons) and `alert-engine.ts` (the state machine).
 */

/** Severities, least severe first. The order is the escalation order. */
export const SEVERITIES = ['info', 'warning', 'critical'] as const;

/** How bad an alert is: `info` < `warning` < `critical`. */
export type Severity = (typeof SEVERITIES)[number];

/** The comparisons a rule may use, read as `value <comparison> threshold`. */
export const COMPARISONS = ['>', '>=', '<', '<='] as const;

/** `>`/`>=` alert on high values (latency), `<`/`<=` on low ones (cache hit rate). */
export type Comparison = (typeof COMPARISONS)[number];

/** Labels of a sample or an alert, e.g. `{ cache: 'conversation' }`. */
export type AlertLabels = Readonly<Record<string, string>>;

/**
 * One severity level of a rule. The condition `value <comparison> threshold` triggers the level;
 * once firing, the level holds while `value <comparison> clearThreshold` (hysteresis), so a value
 * between the two neither fires a new alert nor resolves a firing one.
 */
export interface AlertLevel {
  severity: Severity;
  threshold: number;
  /**
   * Where a firing level clears; defaults to `threshold` (no hysteresis). Must not be on the
   * triggering side of `threshold`: for `>`/`>=` it is ≤ threshold, for `<`/`<=` it is ≥ threshold.
   */
  clearThreshold?: number;
}

/**
 * An alert rule. One rule watches one metric key; every distinct label set among that metric's
 * samples gets its own alert (deduplicated by rule name + sorted labels).
 */
export interface AlertRule {
  /** Unique among the engine's rules, e.g. `http-latency-p95`. */
  name: string;
  /** What it means for an operator, shown with every alert of the rule. */
  description: string;
  /** The metric key the monitor produces, e.g. `http.p95_ms` (see `default-rules.ts`). */
  metric: string;
  comparison: Comparison;
  /**
   * One or more levels with distinct severities; a more severe level needs a more extreme
   * threshold (higher for `>`/`>=`, lower for `<`/`<=`). An alert escalates and de-escalates
   * between them without changing identity.
   */
  levels: readonly AlertLevel[];
  /** How long (ms) a level's condition must hold before it fires or escalates; 0 fires at once. */
  forMs: number;
  /** Static labels added to every alert of the rule (e.g. `{ team: 'db' }`); a sample's own labels win on conflict. */
  labels?: AlertLabels;
  /** When set, only samples whose labels include all of these pairs are evaluated by the rule. */
  match?: AlertLabels;
}

/** One measured value. `labels` split a metric into series: one alert per distinct label set. */
export interface MetricSample {
  metric: string;
  labels?: AlertLabels;
  value: number;
}

/**
 * What `AlertEngine.evaluate` takes: samples, or a plain record `{ 'http.p95_ms': 812 }` for
 * unlabelled metrics.
 */
export type MetricSnapshot = readonly MetricSample[] | Readonly<Record<string, number>>;

/** `pending`: condition holds, not yet for `forMs`; `firing`; `resolved`: cleared (history only). */
export type AlertState = 'pending' | 'firing' | 'resolved';

/** Why a firing alert was resolved. */
export type ResolveReason = 'cleared' | 'stale';

/** An alert as the engine reports it (an immutable snapshot; times are epoch milliseconds). */
export interface Alert {
  /** Stable across escalation and de-escalation; a new alert after a resolve gets a new id. */
  readonly id: string;
  /** The rule's name. */
  readonly rule: string;
  readonly metric: string;
  /** The sample's labels merged over the rule's static labels. */
  readonly labels: AlertLabels;
  readonly severity: Severity;
  readonly state: AlertState;
  readonly comparison: Comparison;
  /** The last value seen for the series. */
  readonly value: number;
  /** The triggering threshold of the current severity level. */
  readonly threshold: number;
  /** Where the current severity level clears. */
  readonly clearThreshold: number;
  /** When the condition started holding (the alert became pending). */
  readonly startedAt: number;
  readonly firedAt: number | null;
  /** Last escalation or de-escalation. */
  readonly escalatedAt: number | null;
  readonly resolvedAt: number | null;
  readonly resolveReason: ResolveReason | null;
  /** Last time the alert changed or a sample for it was evaluated. */
  readonly updatedAt: number;
  /** The rule's description. */
  readonly description: string;
  /** One line for people: `[WARNING] http-latency-p95: http.p95_ms = 812 (> 500)`. */
  readonly summary: string;
}

/** The transitions that are recorded in history and announced (pending is neither). */
export type AlertTransitionKind = 'fired' | 'escalated' | 'deescalated' | 'resolved';

/** One transition of one alert. */
export interface AlertEvent {
  readonly kind: AlertTransitionKind;
  /** When it happened (the engine clock, epoch ms). */
  readonly at: number;
  /** The alert right after the transition. */
  readonly alert: Alert;
  /** For `escalated` and `deescalated`: the severity before; otherwise null. */
  readonly previousSeverity: Severity | null;
}

/** Receives transitions (`fired`, `escalated`, `resolved` by default), e.g. a webhook. */
export interface AlertNotifier {
  /**
   * Called without being awaited by evaluation; a returned promise is tracked (`AlertEngine.flush`)
   * and its rejection is logged and counted, never rethrown.
   */
  notify(event: AlertEvent): void | Promise<void>;
}

/** A synchronous observer of every transition (see `AlertEngine.onTransition`). */
export type AlertTransitionListener = (event: AlertEvent) => void;

/** Time as a dependency (epoch milliseconds), so tests can drive the engine exactly. */
export interface AlertClock {
  now(): number;
}

/** The real clock. */
export const systemAlertClock: AlertClock = { now: () => Date.now() };

/** Where the engine and the webhook report problems (Nest's `Logger` fits). */
export interface AlertLogger {
  warn(message: string): void;
}
