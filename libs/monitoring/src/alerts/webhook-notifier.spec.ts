import { describe, expect, it } from 'vitest';
import { AlertEngine } from './alert-engine.js';
import type { AlertEvent, AlertRule } from './alert.types.js';
import { toWebhookPayload, WebhookNotifier, type FetchLike } from './webhook-notifier.js';

const rule: AlertRule = {
  name: 'latency',
  description: 'Latency is high',
  metric: 'lat',
  comparison: '>',
  levels: [{ severity: 'warning', threshold: 500, clearThreshold: 400 }],
  forMs: 0,
};

interface Call {
  url: string;
  method: string | undefined;
  headers: Record<string, string>;
  body: unknown;
}

class FakeLogger {
  readonly warnings: string[] = [];
  warn(message: string): void {
    this.warnings.push(message);
  }
}

/** A fetch that records calls and answers with `status` (or with `respond`). */
function fakeFetch(respond: (call: Call, signal: AbortSignal) => Promise<Response> = async () => new Response('ok', { status: 200 })): {
  fetch: FetchLike;
  calls: Call[];
} {
  const calls: Call[] = [];
  const fetch: FetchLike = async (url, init) => {
    const call: Call = {
      url,
      method: init.method,
      headers: init.headers as Record<string, string>,
      body: JSON.parse(init.body as string),
    };
    calls.push(call);
    return respond(call, init.signal!);
  };
  return { fetch, calls };
}

/** Never answers; rejects like undici when the signal aborts. */
const hang = async (_call: Call, signal: AbortSignal): Promise<Response> =>
  new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error));
  });

function setup(options: { respond?: Parameters<typeof fakeFetch>[0]; timeoutMs?: number; maxQueue?: number } = {}) {
  let now = Date.UTC(2030, 0, 2, 3, 4, 5);
  const { fetch, calls } = fakeFetch(options.respond);
  const logger = new FakeLogger();
  const webhook = new WebhookNotifier({
    url: 'http://hooks.example/alerts',
    headers: { authorization: 'Bearer t' },
    timeoutMs: options.timeoutMs ?? 1_000,
    ...(options.maxQueue ? { maxQueue: options.maxQueue } : {}),
    fetch,
    logger,
  });
  const engine = new AlertEngine({
    rules: [rule],
    clock: { now: () => now },
    notifiers: [webhook],
    idGenerator: () => 'id-1',
    logger,
  });
  const evaluate = (ms: number, value: number): AlertEvent[] => {
    now += ms;
    return engine.evaluate([{ metric: 'lat', value, labels: { route: 'GET /x' } }]);
  };
  return { webhook, engine, calls, logger, evaluate };
}

describe('WebhookNotifier', () => {
  it('POSTs the transition as JSON with its headers', async () => {
    const { webhook, engine, calls, evaluate } = setup();
    evaluate(0, 600);
    await engine.flush();
    expect(calls).toEqual([
      {
        url: 'http://hooks.example/alerts',
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
        body: {
          version: 1,
          event: 'fired',
          at: '2030-01-02T03:04:05.000Z',
          severity: 'warning',
          previousSeverity: null,
          text: '[FIRING warning] latency {route="GET /x"}: lat = 600 (threshold > 500)',
          alert: {
            id: 'id-1',
            rule: 'latency',
            metric: 'lat',
            labels: { route: 'GET /x' },
            severity: 'warning',
            state: 'firing',
            comparison: '>',
            value: 600,
            threshold: 500,
            clearThreshold: 400,
            startedAt: Date.UTC(2030, 0, 2, 3, 4, 5),
            firedAt: Date.UTC(2030, 0, 2, 3, 4, 5),
            escalatedAt: null,
            resolvedAt: null,
            resolveReason: null,
            updatedAt: Date.UTC(2030, 0, 2, 3, 4, 5),
            description: 'Latency is high',
            summary: '[FIRING warning] latency {route="GET /x"}: lat = 600 (threshold > 500)',
          },
        },
      },
    ]);
    expect(webhook.stats()).toEqual({ sent: 1, failed: 0, dropped: 0, queued: 0, lastError: null });
  });

  it('sends fired then resolved, in order', async () => {
    const { engine, calls, evaluate } = setup();
    evaluate(0, 600);
    evaluate(1_000, 100);
    await engine.flush();
    expect(calls.map((call) => (call.body as { event: string }).event)).toEqual(['fired', 'resolved']);
    expect((calls[1].body as { at: string }).at).toBe('2030-01-02T03:04:06.000Z');
  });

  it('counts a 500 as a failure and logs it; evaluation goes on', async () => {
    const { webhook, engine, logger, evaluate } = setup({ respond: async () => new Response('down', { status: 500 }) });
    expect(evaluate(0, 600).map((event) => event.kind)).toEqual(['fired']);
    expect(evaluate(1, 100).map((event) => event.kind)).toEqual(['resolved']);
    await engine.flush();
    expect(webhook.stats()).toEqual({ sent: 0, failed: 2, dropped: 0, queued: 0, lastError: 'HTTP 500' });
    expect(logger.warnings).toEqual(['alert webhook failed for fired latency: HTTP 500', 'alert webhook failed for resolved latency: HTTP 500']);
    expect(engine.stats().notificationFailures).toBe(0); // the notifier never rejects
  });

  it('counts a network error as a failure', async () => {
    const { webhook, engine, evaluate } = setup({
      respond: async () => {
        throw new TypeError('fetch failed');
      },
    });
    evaluate(0, 600);
    await engine.flush();
    expect(webhook.stats()).toMatchObject({ failed: 1, lastError: 'fetch failed' });
  });

  it('aborts a request that outlives timeoutMs; evaluation is not held up meanwhile', async () => {
    const { webhook, engine, calls, evaluate } = setup({ respond: hang, timeoutMs: 30 });
    // evaluate is synchronous: both transitions are done while the first request still hangs
    expect(evaluate(0, 600).map((event) => event.kind)).toEqual(['fired']);
    expect(evaluate(1, 100).map((event) => event.kind)).toEqual(['resolved']);
    expect(engine.active()).toEqual([]);
    expect(webhook.stats()).toEqual({ sent: 0, failed: 0, dropped: 0, queued: 2, lastError: null });

    await engine.flush();
    expect(calls).toHaveLength(2);
    expect(webhook.stats()).toEqual({ sent: 0, failed: 2, dropped: 0, queued: 0, lastError: 'timed out after 30 ms' });
  });

  it('drops events beyond maxQueue and counts them', async () => {
    const { webhook, engine, logger, evaluate } = setup({ respond: hang, timeoutMs: 20, maxQueue: 1 });
    evaluate(0, 600);
    evaluate(1, 100);
    expect(webhook.stats()).toMatchObject({ queued: 1, dropped: 1 });
    expect(logger.warnings).toEqual(['alert webhook queue full (1): dropped resolved latency']);
    await webhook.flush();
    await engine.flush();
    expect(webhook.stats()).toMatchObject({ queued: 0, dropped: 1, failed: 1 });
  });

  it('rejects a bad url, timeout or queue size', () => {
    expect(() => new WebhookNotifier({ url: 'not a url' })).toThrow('WebhookNotifier: invalid url "not a url"');
    expect(() => new WebhookNotifier({ url: 'http://x', timeoutMs: 0 })).toThrow('WebhookNotifier: timeoutMs must be a finite number > 0 (got 0)');
    expect(() => new WebhookNotifier({ url: 'http://x', maxQueue: 0 })).toThrow('WebhookNotifier: maxQueue must be an integer > 0 (got 0)');
  });

  it('toWebhookPayload carries the previous severity of an escalation', () => {
    const alert = { severity: 'critical', summary: 's' } as AlertEvent['alert'];
    expect(toWebhookPayload({ kind: 'escalated', at: 0, alert, previousSeverity: 'warning' })).toEqual({
      version: 1,
      event: 'escalated',
      at: '1970-01-01T00:00:00.000Z',
      severity: 'critical',
      previousSeverity: 'warning',
      text: 's',
      alert,
    });
  });
});
