import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpRequestSpec } from './bench.types.js';

/** Sends one request; throws with the status and body unless it is 2xx, so a misconfigured target fails before load is applied. */
export async function expectOk(request: HttpRequestSpec): Promise<string> {
  const res = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
  const text = await res.text();
  if (res.status < 200 || res.status > 299) throw new Error(`${request.method} ${request.url} answered ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

/** Polls `url` until it answers 2xx; `isGone` stops early when the server process has died. */
export async function waitUntilOk(url: string, timeoutMs: number, isGone: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (isGone()) throw new Error(`the process serving ${url} exited before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 2xx within ${timeoutMs} ms`);
    await sleep(100);
  }
}
