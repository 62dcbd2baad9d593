import { createUser, startApi, type StartApiOptions, type StartedApi } from '@chat/testing';

export interface BenchApi {
  api: StartedApi;
  /** Headers of a freshly created user's bearer key. */
  userHeaders: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The API as it runs in production for one client: real PostgreSQL (a fresh
 * database), warn-level logs, and no rate limit, since the bench is one client
 * sending far more than any per-user quota.
 */
export async function startBenchApi(options: StartApiOptions = {}): Promise<BenchApi> {
  const api = await startApi({ database: 'fresh', rateLimitPerMinute: 0, ...options, env: { LOG_LEVEL: 'warn', ...options.env } });
  try {
    const user = await createUser(api, 'bench');
    return {
      api,
      userHeaders: { authorization: `Bearer ${user.apiKey}` },
      stop: async () => {
        const code = await api.stop();
        if (code !== 0) throw new Error(`the API exited with code ${code} on SIGTERM\n${api.logs().slice(-4000)}`);
      },
    };
  } catch (err) {
    await api.stop();
    throw err;
  }
}
