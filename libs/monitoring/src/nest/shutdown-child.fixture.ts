/**
 * Run as its own Node process by `performance-monitor.shutdown.int-spec.ts` (through a TypeScript
 * loader): starts the test app on `MONITOR_TEST_DATABASE_URL`, makes the monitor use everything it
 * has (capture, N+1, the explain connection, the advisor, /metrics), closes the app, prints one
 * `RESULT <json>` line about what is left, and then does nothing: the process must exit on its own.
 */
import pg from 'pg';
import type { ExplainConnection } from '../analysis/explain-connection.js';
import { QueryCapture } from '../queries/query-capture.js';
import { startTestApp } from './test-app.fixture.js';

interface ServiceInternals {
  capture: QueryCapture | null;
  explainConnection: ExplainConnection | null;
  timer: NodeJS.Timeout | null;
  monitor: { probe: { timer: NodeJS.Timeout | null } | null };
}

const url = process.env['MONITOR_TEST_DATABASE_URL'];
if (url === undefined) throw new Error('MONITOR_TEST_DATABASE_URL is not set');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sessions on the test database other than the caller's own. */
async function otherSessions(): Promise<Array<{ application_name: string; state: string | null }>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ application_name: string; state: string | null }>(
      'SELECT application_name, state FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    return rows;
  } finally {
    await client.end();
  }
}

// slowQueryMs 0: every query is slow, so the explain connection and the advisor are in use.
const t = await startTestApp(url, { slowQueryMs: 0, evaluateEveryMs: 50 });
const internals = t.service as unknown as ServiceInternals;
const capture = internals.capture;
const explain = internals.explainConnection;
if (capture === null || explain === null) throw new Error('the monitor has no capture or no explain connection');

for (const path of ['/items/1/children-one-by-one', '/items/by-code/code-5', '/items/3', '/probe/fail', '/nowhere', '/metrics']) await t.request(path);
// Wait until a plan came from the monitor's own connection (explains are rate-limited).
for (let i = 0; i < 200 && !t.service.report().slowQueries.some((q) => q.plan !== null); i++) await sleep(50);
const sessionsBefore = await otherSessions();
const before = {
  instrumented: capture.instrumented,
  nPlusOne: t.service.report().nPlusOne.map((f) => f.route),
  planned: t.service.report().slowQueries.filter((q) => q.plan !== null).length,
  explainSessions: sessionsBefore.filter((s) => s.application_name === 'chat-monitoring-explain').length,
  sessions: sessionsBefore.length,
};

await t.app.close();

let explainClosed: string | null = null;
try {
  await explain.session({ readOnly: true }, () => Promise.resolve());
} catch (error) {
  explainClosed = error instanceof Error ? error.message : String(error);
}
// uninstrument() released the DataSource: another capture may take it.
let recaptured: boolean;
try {
  new QueryCapture(t.dataSource).instrument().uninstrument();
  recaptured = true;
} catch {
  recaptured = false;
}
// The server ends a backend a moment after its client has gone.
let sessionsAfter = await otherSessions();
for (let i = 0; i < 40 && sessionsAfter.length > 0; i++) {
  await sleep(50);
  sessionsAfter = await otherSessions();
}

const after = {
  instrumented: capture.instrumented,
  capturedClients: capture.stats().clients,
  capturedPools: capture.stats().pools,
  recaptured,
  explainClosed,
  serviceTimer: internals.timer === null,
  probeTimer: internals.monitor.probe === null || internals.monitor.probe.timer === null,
  dataSourceInitialized: t.dataSource.isInitialized,
  sessions: sessionsAfter,
};
process.stdout.write(`RESULT ${JSON.stringify({ before, after })}\n`);

// Diagnostics only (unref'd: it never keeps the process alive itself).
setTimeout(() => {
  process.stdout.write(`STILL RUNNING ${JSON.stringify(process.getActiveResourcesInfo())}\n`);
}, 5_000).unref();
