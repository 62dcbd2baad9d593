import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertEngine } from './alert-engine.js';
import type { AlertRule } from './alert.types.js';
import { WebhookNotifier } from './webhook-notifier.js';

/** The global fetch against a real HTTP server on 127.0.0.1 (no external service needed). */

const rule: AlertRule = {
  name: 'latency',
  description: 'Latency is high',
  metric: 'lat',
  comparison: '>',
  levels: [{ severity: 'warning', threshold: 500 }],
  forMs: 0,
};

interface Received {
  method: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

let server: Server;
let url: string;
let received: Received[];
let handler: (res: ServerResponse) => void;
const hanging = new Set<ServerResponse>();

beforeEach(async () => {
  received = [];
  handler = (res) => res.writeHead(204).end();
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method, contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      handler(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

afterEach(async () => {
  for (const res of hanging) res.destroy();
  hanging.clear();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function setup(timeoutMs = 2_000): { engine: AlertEngine; webhook: WebhookNotifier; evaluate: (value: number) => string[] } {
  let now = 0;
  const logger = { warn: () => undefined };
  const webhook = new WebhookNotifier({ url, timeoutMs, logger });
  const engine = new AlertEngine({ rules: [rule], clock: { now: () => now++ }, notifiers: [webhook], idGenerator: () => 'id', logger });
  return { engine, webhook, evaluate: (value) => engine.evaluate({ lat: value }).map((event) => event.kind) };
}

describe('WebhookNotifier against a real HTTP server', () => {
  it('delivers fired and resolved as JSON POSTs, in order', async () => {
    const { engine, webhook, evaluate } = setup();
    expect(evaluate(600)).toEqual(['fired']);
    expect(evaluate(100)).toEqual(['resolved']);
    await engine.flush();
    expect(received.map((r) => [r.method, r.contentType, (r.body as { event: string }).event])).toEqual([
      ['POST', 'application/json', 'fired'],
      ['POST', 'application/json', 'resolved'],
    ]);
    expect(webhook.stats()).toEqual({ sent: 2, failed: 0, dropped: 0, queued: 0, lastError: null });
  });

  it('a 500 is counted as a failure and evaluation carries on', async () => {
    handler = (res) => res.writeHead(500).end('boom');
    const { engine, webhook, evaluate } = setup();
    expect(evaluate(600)).toEqual(['fired']);
    await engine.flush();
    expect(received).toHaveLength(1);
    expect(webhook.stats()).toEqual({ sent: 0, failed: 1, dropped: 0, queued: 0, lastError: 'HTTP 500' });
    expect(evaluate(100)).toEqual(['resolved']);
  });

  it('a server that never answers is cut off at timeoutMs without blocking evaluation', async () => {
    handler = (res) => void hanging.add(res);
    const { engine, webhook, evaluate } = setup(100);
    const started = performance.now();
    expect(evaluate(600)).toEqual(['fired']);
    expect(evaluate(100)).toEqual(['resolved']);
    expect(engine.active()).toEqual([]);
    expect(webhook.stats()).toMatchObject({ queued: 2, failed: 0 }); // evaluation did not wait for them
    await engine.flush();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190); // two sequential 100 ms timeouts
    expect(elapsed).toBeLessThan(2_000);
    expect(webhook.stats()).toEqual({ sent: 0, failed: 2, dropped: 0, queued: 0, lastError: 'timed out after 100 ms' });
  });
});
