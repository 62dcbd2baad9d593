import autocannon from 'autocannon';
import { MixRecorder } from './mix.recorder.js';
import { nextRequest, seededRandom, type ConnectionState, type MixWeights, type OperationName, type PlannedRequest, type UserData } from './mix.plan.js';

export interface MixEndpoint {
  /** http://127.0.0.1:<port> of one API process. */
  url: string;
  connections: number;
}

export interface MixRun {
  endpoints: MixEndpoint[];
  users: UserData[];
  weights: MixWeights;
  repeatShare: number;
  durationSeconds: number;
  /** Per-request timeout, s. */
  timeoutSeconds: number;
}

/** What autocannon itself counted, summed over the endpoints. */
export interface DriverTotals {
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  durationSeconds: number;
}

interface Context {
  state?: ConnectionState;
  planned?: PlannedRequest;
  xCache?: string;
}

/**
 * Drives the mix: one autocannon instance per API process (its share of the connections), every
 * connection drawing its next operation at random (mix.plan.ts) and keeping to one user. Latencies
 * are attributed to operations through the response event (the connection's context still holds
 * the request just answered), so that the report has per-operation percentiles beside the totals.
 *
 * autocannon gives each connection a fresh context before every request built by `setupRequest`
 * (it clears it when its list of requests wraps, here after every request), so the connection's
 * state is handed over: the response event, which autocannon emits synchronously just before the
 * same connection builds its next request, leaves the state in `handoff`; `setupRequest` takes it.
 */
export async function driveMix(run: MixRun, recorder: MixRecorder): Promise<DriverTotals> {
  let connectionSerial = 0;
  let handoff: ConnectionState | undefined;
  const newState = (): ConnectionState => {
    const n = connectionSerial++;
    const user = run.users[n % run.users.length];
    if (user === undefined) throw new Error('driveMix: no users');
    return { user, random: seededRandom(0x5eed + n), serial: 0, tag: `c${n}` };
  };

  const instances = run.endpoints
    .filter((e) => e.connections > 0)
    .map((endpoint) => {
      const instance = autocannon({
        url: endpoint.url,
        connections: endpoint.connections,
        duration: run.durationSeconds,
        timeout: run.timeoutSeconds,
        requests: [
          {
            setupRequest: (request: any, context: Context) => {
              context.state = handoff ?? newState();
              handoff = undefined;
              const planned = nextRequest(context.state, run.weights, run.repeatShare);
              context.planned = planned;
              return {
                ...request,
                method: planned.method,
                path: planned.path,
                headers: {
                  authorization: context.state.user.authorization,
                  ...(planned.body === undefined ? {} : { 'content-type': 'application/json' }),
                },
                body: planned.body ?? '',
              };
            },
            onResponse: (status: number, body: string, context: Context, headers: Record<string, string>) => {
              const planned = context.planned;
              if (planned === undefined || context.state === undefined) return;
              // The created conversation receives the repeated prompt next.
              if (planned.operation === 'create conversation' && status === 201) {
                try {
                  context.state.repeatInto = (JSON.parse(body) as { id: string }).id;
                } catch {
                  // not JSON: the next draw is a fresh one
                }
              }
              context.xCache = headers['x-cache'] ?? headers['X-Cache'];
            },
          },
        ] as any,
      }) as unknown as autocannon.Instance & Promise<autocannon.Result>;
      // Emitted right after onResponse, before the connection builds its next request.
      (instance as any).on('response', (client: any, status: number, _bytes: number, ms: number) => {
        const context = client.requestIterator?.context as Context | undefined;
        const operation: OperationName | undefined = context?.planned?.operation;
        if (operation !== undefined) recorder.record(operation, status, ms, context?.xCache);
        handoff = context?.state;
      });
      return instance;
    });
  const results = await Promise.all(instances);
  return {
    requests: results.reduce((n, r) => n + r.requests.total, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    timeouts: results.reduce((n, r) => n + r.timeouts, 0),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    durationSeconds: Math.max(...results.map((r) => r.duration)),
  };
}
