/**
 * The fake OpenAI-compatible model in a process of its own (started by upstream.process.ts), so
 * that its timers — latency, time to first token, token pacing — run on an event loop that the
 * load generator does not also drive. Its counters are served on a second port (`STATS_PORT`,
 * `GET /stats`); the model listens on `PORT`.
 */
import { createServer } from 'node:http';
import { startFakeUpstream, type FakeUpstreamOptions } from '@chat/testing';

const options = JSON.parse(process.env.UPSTREAM_OPTIONS ?? '{}') as FakeUpstreamOptions;
const fake = await startFakeUpstream({ ...options, port: Number(process.env.PORT) });

const stats = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    // The recorded requests are of no use here and would only grow under load.
    fake.requests.splice(0);
    const body = JSON.stringify({
      calls: fake.calls,
      streamedCalls: fake.streamedCalls,
      toolCallReplies: fake.toolCallReplies,
      inFlight: fake.inFlight,
      maxInFlight: fake.maxInFlight,
      connections: fake.connections,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  res.writeHead(404).end();
});
stats.listen(Number(process.env.STATS_PORT), '127.0.0.1');

const stop = (): void => {
  stats.close();
  void fake.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
