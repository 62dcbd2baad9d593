import autocannon from 'autocannon';
import type { Measurement, Target } from './bench.types.js';

/** How long autocannon drives a target: for a time, or for a number of requests. */
type Length = { durationSeconds: number } | { requests: number };

function drive(target: Target, connections: number, length: Length): Promise<autocannon.Result> {
  const { method, url, headers, body } = target.request;
  const until = 'requests' in length ? { amount: length.requests } : { duration: length.durationSeconds };
  return autocannon({ url, method, headers, body, connections, ...until, timeout: target.timeoutSeconds ?? 10 });
}

/** Load the target without recording anything: absorbs JIT compilation, pool growth and cold caches. */
export async function warmUp(target: Target, connections: number, durationSeconds: number): Promise<void> {
  await drive(target, connections, { durationSeconds });
}

export async function measureOnce(target: Target, connections: number, durationSeconds: number): Promise<Measurement> {
  return measurementOf(await drive(target, connections, { durationSeconds }));
}

/**
 * Exactly `requests` requests (e.g. the same warm-up for processes loaded side by side, whatever
 * share of a core each gets), with the figures of a measurement.
 */
export async function measureRequests(target: Target, connections: number, requests: number): Promise<Measurement> {
  return measurementOf(await drive(target, connections, { requests }));
}

function measurementOf(result: autocannon.Result): Measurement {
  return {
    requestsPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    totalRequests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSeconds: result.duration,
  };
}
