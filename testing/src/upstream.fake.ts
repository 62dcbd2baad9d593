import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  completionObject,
  defaultReply,
  estimatePromptTokens,
  newReplyContext,
  streamPlan,
  type CompletionReply,
} from './upstream.reply.js';

export interface FakeUpstreamOptions {
  /** Delay before the response headers (default 0). */
  latencyMs?: number;
  /** Streaming: delay before the first content chunk (default 0). */
  timeToFirstTokenMs?: number;
  /** Streaming pace (default: unlimited). */
  tokensPerSecond?: number;
  /** Model name it reports (default 'fake-model'). */
  model?: string;
  /**
   * Non-streaming answers take as long as their stream would (time to first token, then one token
   * per 1/tokensPerSecond) before the body is sent, as a real model's do. Default false: a
   * non-streaming answer follows `latencyMs` at once.
   */
  paceNonStreaming?: boolean;
  /**
   * The default (unscripted) text answer is padded with filler words up to this many tokens, so that
   * token pacing has something to pace. Default: no padding (`echo: <prompt>`). Scripted replies and
   * tool calls are never padded.
   */
  replyTokens?: number;
  /** Port to listen on (default 0: any free port), e.g. when the fake runs in a process of its own. */
  port?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON; the raw text when it is not JSON; undefined without a body. */
  body: any;
}

export type ScriptedReply =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { drop: true }
  | CompletionReply;

export interface FakeUpstream {
  /** http://127.0.0.1:<port>/v1 */
  baseUrl: string;
  /** POST /v1/chat/completions received. */
  readonly calls: number;
  /** TCP connections accepted since start or the last reset (shows whether clients keep connections alive). */
  readonly connections: number;
  /** Of `calls`, those that asked for `stream: true`. */
  readonly streamedCalls: number;
  /** Chat completions answered with tool calls (scripted, or the default reply's `CALL <tool> <json>`). */
  readonly toolCallReplies: number;
  /** Chat completions being answered now, and the most at once since start or the last reset. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Every request received (GET /v1/models included), in arrival order. */
  readonly requests: RecordedRequest[];
  /** Queues replies for the next chat completions, in order; the default reply is used once the queue is empty. */
  script(...replies: ScriptedReply[]): void;
  setOptions(o: Partial<FakeUpstreamOptions>): void;
  /** Clears calls and the other counters, connections, requests and the script (the options stay). */
  reset(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function openAiError(status: number, message: string): object {
  return { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null } };
}

class FakeUpstreamServer implements FakeUpstream {
  baseUrl = '';
  calls = 0;
  connections = 0;
  streamedCalls = 0;
  toolCallReplies = 0;
  inFlight = 0;
  maxInFlight = 0;
  requests: RecordedRequest[] = [];
  private queue: ScriptedReply[] = [];
  private options: Required<Omit<FakeUpstreamOptions, 'tokensPerSecond' | 'replyTokens'>> & { tokensPerSecond?: number; replyTokens?: number };

  private readonly server = createServer((req, res) => {
    this.handle(req, res).catch((err: unknown) => {
      // Whatever went wrong, answer (or hang up) rather than crash the test process.
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, openAiError(500, `fake upstream failure: ${String(err)}`));
    });
  });

  constructor(options: FakeUpstreamOptions) {
    this.options = { latencyMs: 0, timeToFirstTokenMs: 0, model: 'fake-model', paceNonStreaming: false, port: 0, ...options };
    // Longer than any client's idle keep-alive (undici: 4 s), so that the client, never
    // the server, closes idle sockets; otherwise a reused socket can be reset mid-request.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.on('clientError', (_err, socket) => socket.destroy());
    this.server.on('connection', () => {
      this.connections++;
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}/v1`;
  }

  script(...replies: ScriptedReply[]): void {
    this.queue.push(...replies);
  }

  setOptions(o: Partial<FakeUpstreamOptions>): void {
    this.options = { ...this.options, ...o };
  }

  reset(): void {
    this.calls = 0;
    this.connections = 0;
    this.streamedCalls = 0;
    this.toolCallReplies = 0;
    this.maxInFlight = this.inFlight;
    this.requests = [];
    this.queue = [];
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      // Streams in progress and idle keep-alive sockets would otherwise hold close() open.
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const isCompletion = req.method === 'POST' && path === '/v1/chat/completions';
    if (isCompletion) this.calls++;

    let raw: string;
    try {
      raw = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) sendJson(res, 413, openAiError(413, 'request body too large'), { connection: 'close' });
      return;
    }
    let body: any = undefined;
    let isJson = raw.length > 0;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
        isJson = false;
      }
    }
    this.requests.push({ method: req.method ?? '', path, headers: { ...req.headers }, body });

    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, { object: 'list', data: [{ id: this.options.model, object: 'model', created: 0, owned_by: 'fake-upstream' }] });
      return;
    }
    if (!isCompletion) {
      sendJson(res, 404, openAiError(404, `no route ${req.method ?? ''} ${path}`));
      return;
    }
    if (!isJson || typeof body !== 'object' || body === null || !Array.isArray(body.messages)) {
      sendJson(res, 400, openAiError(400, 'the body must be a JSON object with a messages array'));
      return;
    }
    if (body.stream === true) this.streamedCalls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.answer(body, res);
    } finally {
      this.inFlight--;
    }
  }

  private async answer(body: any, res: ServerResponse): Promise<void> {
    const options = this.options;
    const reply = this.queue.shift() ?? padded(defaultReply(body), options.replyTokens);
    if ('toolCalls' in reply && reply.toolCalls !== undefined && reply.toolCalls.length > 0) this.toolCallReplies++;
    // Timers stop as soon as the client goes away, e.g. when the API times out the call.
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const wait = async (ms: number): Promise<boolean> => {
      if (ms <= 0) return !gone.signal.aborted;
      try {
        await sleep(ms, undefined, { signal: gone.signal });
        return true;
      } catch {
        return false;
      }
    };

    if (!(await wait(options.latencyMs))) return;
    if ('drop' in reply) {
      res.socket?.destroy();
      return;
    }
    if ('status' in reply) {
      sendJson(res, reply.status, reply.body ?? openAiError(reply.status, `scripted ${reply.status}`), reply.headers);
      return;
    }

    const ctx = newReplyContext(options.model);
    const promptTokens = estimatePromptTokens(body);
    const gapMs = options.tokensPerSecond && options.tokensPerSecond > 0 ? 1000 / options.tokensPerSecond : 0;
    if (body.stream !== true) {
      if (options.paceNonStreaming) {
        // As long as the same answer streamed: first token, then the gaps between the others.
        const tokens = streamPlan(reply, ctx, promptTokens).tokens.length;
        if (!(await wait(options.timeToFirstTokenMs + Math.max(0, tokens - 1) * gapMs))) return;
      }
      sendJson(res, 200, completionObject(reply, ctx, promptTokens));
      return;
    }

    const plan = streamPlan(reply, ctx, promptTokens);
    const send = (data: object | string): void => {
      res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    };
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    send(plan.head);
    if (!(await wait(options.timeToFirstTokenMs))) return;
    for (const [i, token] of plan.tokens.entries()) {
      if (i > 0 && !(await wait(gapMs))) return;
      if (gone.signal.aborted) return;
      send(token);
    }
    send(plan.finish);
    if (body.stream_options?.include_usage === true) send(plan.usage);
    send('[DONE]');
    res.end();
  }
}

const FILLER = ['the', 'answer', 'goes', 'on', 'with', 'a', 'few', 'more', 'plain', 'words'];

/** The default text answer, lengthened with filler words to `tokens` tokens (one per word; see splitTokens). */
function padded(reply: CompletionReply, tokens: number | undefined): CompletionReply {
  if (tokens === undefined || reply.content === undefined || (reply.toolCalls?.length ?? 0) > 0) return reply;
  const words = reply.content.split(/\s+/).filter(Boolean);
  for (let i = 0; words.length < tokens; i++) words.push(FILLER[i % FILLER.length] ?? 'word');
  return { ...reply, content: words.join(' ') };
}

/** A dependency-free OpenAI-compatible model server on 127.0.0.1 with scripted and default replies. */
export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const upstream = new FakeUpstreamServer(options);
  await upstream.listen();
  return upstream;
}
