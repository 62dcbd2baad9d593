/**
 * The quotes app as a process of its own (configured by `QUOTES_*` variables, see quotes.config.ts),
 * run by the lifecycle test through the TypeScript loader in `child/`. Shutdown is Nest's own
 * (`enableShutdownHooks`): on SIGTERM the workers stop taking tasks and drain, then the Redis and
 * database connections close and the monitor flushes.
 */
import { startQuotesApp } from './quotes.app.js';
import { quotesConfigFromEnv, QuotesConfigError, type QuotesConfig } from './quotes.config.js';

function readConfig(): QuotesConfig {
  try {
    return quotesConfigFromEnv(process.env);
  } catch (error) {
    if (!(error instanceof QuotesConfigError)) throw error;
    // One line naming the variable, and nothing started.
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

const config = readConfig();

const { app, url } = await startQuotesApp(config, { port: Number(process.env['PORT'] ?? 0), logger: ['log', 'error', 'warn'] });
app.enableShutdownHooks(['SIGTERM', 'SIGINT']);

if (process.env['QUOTES_EXIT_ON_ITS_OWN'] === '1') {
  // Nest re-raises the signal once its shutdown is done, to die of it. This listener absorbs that
  // re-raise, so the process ends only when nothing is left in its event loop: a connection, timer
  // or worker left open would keep it alive, which is what the lifecycle test looks for.
  let signals = 0;
  process.on('SIGTERM', () => {
    signals++;
    process.stdout.write(signals === 1 ? `SIGTERM ${Date.now()}\n` : `SHUTDOWN DONE ${Date.now()}\n`);
    if (signals !== 2) return;
    // Diagnostics only (unref'd: it never keeps the process alive itself).
    setTimeout(() => process.stdout.write(`STILL RUNNING ${JSON.stringify(process.getActiveResourcesInfo())}\n`), 2_000).unref();
  });
}
process.once('exit', (code) => process.stdout.write(`EXIT ${code} ${Date.now()}\n`));
process.stdout.write(`LISTENING ${url}\n`);
