import { Logger } from '@nestjs/common';
import type { Alert, AlertEvent, AlertLogger, AlertNotifier, AlertTransitionKind, Severity } from './alert.types.js';

/** The `fetch` the notifier calls (the global one by default; a fake in tests). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Options of `WebhookNotifier`. */
export interface WebhookNotifierOptions {
  /** Where to POST. */
  url: string;
  /** Per request, from send to the end of the response; default 5000 ms. */
  timeoutMs?: number;
  /** Extra headers, e.g. an authorization token. */
  headers?: Readonly<Record<string, string>>;
  /** Events waiting to be sent beyond which new ones are dropped (and counted); default 1000. */
  maxQueue?: number;
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
  /** Default: Nest's `Logger('WebhookNotifier')`. */
  logger?: AlertLogger;
}

/** The JSON body of every POST. `text` makes it readable as-is by Slack-style incoming webhooks. */
export interface WebhookPayload {
  version: 1;
  event: AlertTransitionKind;
  /** ISO 8601 time of the transition. */
  at: string;
  severity: Severity;
  previousSeverity: Severity | null;
  text: string;
  alert: Alert;
}

/** What the notifier has done so far. */
export interface WebhookNotifierStats {
  /** Answered with a 2xx status. */
  sent: number;
  /** Network error, timeout or non-2xx status. */
  failed: number;
  /** Not attempted because the queue was full. */
  dropped: number;
  /** Waiting or being sent now. */
  queued: number;
  lastError: string | null;
}

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_QUEUE = 1_000;

/** The body `WebhookNotifier` sends for one transition. */
export function toWebhookPayload(event: AlertEvent): WebhookPayload {
  return {
    version: 1,
    event: event.kind,
    at: new Date(event.at).toISOString(),
    severity: event.alert.severity,
    previousSeverity: event.previousSeverity,
    text: event.alert.summary,
    alert: event.alert,
  };
}

/**
 * POSTs each transition as JSON (`WebhookPayload`) to a URL.
 *
 * Sends one at a time, in order (so a receiver never sees `resolved` before `fired`), each bounded by
 * `timeoutMs` through `AbortSignal.timeout`. `notify` only queues, and the promise it returns never
 * rejects: a failure (network, timeout, non-2xx) is counted and logged, never thrown. No retries:
 * the next transition of the alert carries its whole state anyway.
 */
export class WebhookNotifier implements AlertNotifier {
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly maxQueue: number;
  private readonly fetchImpl: FetchLike;
  private readonly logger: AlertLogger;
  private chain: Promise<void> = Promise.resolve();
  private counts = { sent: 0, failed: 0, dropped: 0, queued: 0 };
  private lastError: string | null = null;

  constructor(options: WebhookNotifierOptions) {
    try {
      new URL(options.url);
    } catch {
      throw new Error(`WebhookNotifier: invalid url ${JSON.stringify(options.url)}`);
    }
    this.url = options.url;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
    if (!(Number.isFinite(this.timeoutMs) && this.timeoutMs > 0)) {
      throw new Error(`WebhookNotifier: timeoutMs must be a finite number > 0 (got ${options.timeoutMs})`);
    }
    this.maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
    if (!(Number.isInteger(this.maxQueue) && this.maxQueue > 0)) {
      throw new Error(`WebhookNotifier: maxQueue must be an integer > 0 (got ${options.maxQueue})`);
    }
    this.headers = { ...options.headers };
    this.fetchImpl = options.fetch ?? ((url, init) => fetch(url, init));
    this.logger = options.logger ?? new Logger('WebhookNotifier');
  }

  /** Queues the event; the returned promise settles (never rejects) once it has been sent or has failed. */
  notify(event: AlertEvent): Promise<void> {
    if (this.counts.queued >= this.maxQueue) {
      this.counts.dropped++;
      this.logger.warn(`alert webhook queue full (${this.maxQueue}): dropped ${event.kind} ${event.alert.rule}`);
      return Promise.resolve();
    }
    this.counts.queued++;
    const body = JSON.stringify(toWebhookPayload(event));
    this.chain = this.chain.then(() => this.send(body, event)).finally(() => {
      this.counts.queued--;
    });
    return this.chain;
  }

  /** Resolves when everything queued so far has been sent or has failed. */
  flush(): Promise<void> {
    return this.chain;
  }

  stats(): WebhookNotifierStats {
    return { ...this.counts, lastError: this.lastError };
  }

  private async send(body: string, event: AlertEvent): Promise<void> {
    try {
      const response = await this.fetchImpl(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.headers },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.body?.cancel(); // free the connection; the body is not needed
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.counts.sent++;
    } catch (error) {
      this.counts.failed++;
      this.lastError = describe(error, this.timeoutMs);
      this.logger.warn(`alert webhook failed for ${event.kind} ${event.alert.rule}: ${this.lastError}`);
    }
  }
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `timed out after ${timeoutMs} ms`;
  return error instanceof Error ? error.message : String(error);
}
