import http from 'node:http';
import type { HttpRequestSpec } from './bench.types.js';

export interface Sent {
  /** 0 when no response came (connection error); see `error`. */
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** From the first byte written to the last byte read. */
  ms: number;
  error?: string;
}

/**
 * One request over `agent` (node:http, so that a keep-alive agent with a known socket count can be
 * opened before a burst and the burst then measures the server, not TCP handshakes). Never throws.
 */
export function send(request: HttpRequestSpec, agent: http.Agent, timeoutMs = 30_000): Promise<Sent> {
  return new Promise((resolve) => {
    const started = performance.now();
    const done = (sent: Omit<Sent, 'ms'>): void => resolve({ ...sent, ms: performance.now() - started });
    const headers: Record<string, string | number> = { ...request.headers };
    if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
    const req = http.request(request.url, { method: request.method, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', (err) => done({ status: 0, headers: {}, body: '', error: err.message }));
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', (err) => done({ status: 0, headers: {}, body: '', error: err.message }));
    req.end(request.body);
  });
}

/** Opens `count` keep-alive sockets on `agent` to `url`'s server (concurrent GETs of `url`), so that they are idle and ready. */
export async function openConnections(url: string, agent: http.Agent, count: number): Promise<void> {
  const sent = await Promise.all(Array.from({ length: count }, () => send({ method: 'GET', url }, agent)));
  const bad = sent.find((s) => s.status < 200 || s.status > 299);
  if (bad) throw new Error(`GET ${url} answered ${bad.status}${bad.error ? ` (${bad.error})` : ''} while opening connections`);
}
