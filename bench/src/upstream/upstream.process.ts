import { fileURLToPath } from 'node:url';
import { freePort, spawnNode, type FakeUpstreamOptions } from '@chat/testing';
import { waitUntilOk } from '../http.probe.js';

const ENTRY = fileURLToPath(new URL('./upstream.app.js', import.meta.url));

/** The fake model's counters, as its process reports them (cumulative since it started). */
export interface UpstreamStats {
  /** POST /v1/chat/completions received. */
  calls: number;
  streamedCalls: number;
  toolCallReplies: number;
  inFlight: number;
  maxInFlight: number;
  connections: number;
}

export interface UpstreamProcess {
  /** http://127.0.0.1:<port>/v1, for the API's AI_BASE_URL. */
  baseUrl: string;
  pid: number;
  options: FakeUpstreamOptions;
  stats(): Promise<UpstreamStats>;
  stop(): Promise<void>;
}

/** Starts the fake OpenAI-compatible model (testing/src/upstream.fake.ts) in its own process. */
export async function startUpstreamProcess(options: FakeUpstreamOptions): Promise<UpstreamProcess> {
  const port = await freePort();
  const statsPort = await freePort();
  const proc = spawnNode(ENTRY, { ...process.env, PORT: String(port), STATS_PORT: String(statsPort), UPSTREAM_OPTIONS: JSON.stringify(options) });
  const statsUrl = `http://127.0.0.1:${statsPort}/stats`;
  try {
    await waitUntilOk(statsUrl, 15_000, proc.hasExited);
    await waitUntilOk(`http://127.0.0.1:${port}/v1/models`, 15_000, proc.hasExited);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw new Error(`the fake upstream did not start: ${(err as Error).message}\n${proc.logs.toString()}`, { cause: err });
  }
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    pid: proc.child.pid ?? -1,
    options,
    async stats() {
      const res = await fetch(statsUrl, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`fake upstream stats answered ${res.status}`);
      return (await res.json()) as UpstreamStats;
    },
    async stop() {
      const code = await proc.stop();
      if (code !== 0) throw new Error(`the fake upstream exited with code ${code}\n${proc.logs.toString().slice(-2000)}`);
    },
  };
}
