import autocannon from 'autocannon';
import type { Measurement, Target } from './bench.types.js';

function drive(target: Target, connections: number, durationSeconds: number): Promise<autocannon.Result> {
  const { method, url, headers, body } = target.request;
  return autocannon({ url, method, headers, body, connections, duration: durationSeconds, timeout: target.timeoutSeconds ?? 10 });
}

/** Load the target without recording anything: absorbs JIT compilation, pool growth and cold caches. */
export async function warmUp(target: Target, connections: number, durationSeconds: number): Promise<void> {
  await drive(target, connections, durationSeconds);
}

export async function measureOnce(target: Target, connections: number, durationSeconds: number): Promise<Measurement> {
  const result = await drive(target, connections, durationSeconds);
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
