import type { FastifyReply } from 'fastify';
import { toErrorResponse } from './error-response.js';

/**
 * Server-sent events on a Fastify reply. Headers are sent with the first event, so a failure before
 * anything was streamed still answers a normal JSON error with the right status.
 */
export class SseWriter {
  private started = false;
  private readonly abortController = new AbortController();

  constructor(
    private readonly reply: FastifyReply,
    private readonly extraHeaders: Record<string, string> = {},
  ) {
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) this.abortController.abort(new Error('client disconnected'));
    });
  }

  /** Aborted when the client goes away before the stream ends. */
  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  get hasStarted(): boolean {
    return this.started;
  }

  setHeader(name: string, value: string): void {
    this.extraHeaders[name] = value;
  }

  /** Writes `data: <json>`; `raw` writes the data field as given (e.g. `[DONE]`). */
  send(data: unknown, raw = false): void {
    if (this.signal.aborted) return;
    if (!this.started) this.start();
    this.reply.raw.write(`data: ${raw ? String(data) : JSON.stringify(data)}\n\n`);
  }

  end(): void {
    if (!this.started) this.start();
    this.reply.raw.end();
  }

  /** After the stream started, an error can only be told in-band; before, it is rethrown for the filter. */
  fail(error: unknown, shape: (status: number, message: string | string[]) => unknown): void {
    if (!this.started) throw error;
    const { status, body } = toErrorResponse(error);
    this.send(shape(status, body.message));
    this.reply.raw.end();
  }

  private start(): void {
    this.started = true;
    this.reply.hijack();
    const headers: Record<string, string | number | string[]> = {};
    for (const [name, value] of Object.entries(this.reply.getHeaders())) {
      if (value !== undefined) headers[name] = value;
    }
    this.reply.raw.writeHead(200, {
      ...headers,
      ...this.extraHeaders,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
  }
}
