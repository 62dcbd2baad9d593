/**
 * The database baseline: one primary-key SELECT through a `pg` Pool per request, behind a bare
 * `node:http` route (no framework, no auth), in its own process. The table is shaped like the
 * API's conversations (uuid key, a few columns) and seeded by the process at start.
 */
import { createServer } from 'node:http';
import pg from 'pg';

const ROWS = 10_000;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX ?? 10) });

await pool.query(`CREATE TABLE IF NOT EXISTS bench_rows (
  id uuid PRIMARY KEY, user_id uuid NOT NULL, title varchar(200), model varchar(100) NOT NULL,
  message_count integer NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)`);
await pool.query(`INSERT INTO bench_rows
  SELECT gen_random_uuid(), gen_random_uuid(), 'conversation ' || n, 'fake-model', n % 100, now(), now()
  FROM generate_series(1, ${ROWS}) AS n`);
await pool.query('ANALYZE bench_rows');
const ids = (await pool.query<{ id: string }>('SELECT id FROM bench_rows')).rows.map((r) => r.id);
let next = 0;

const server = createServer((req, res) => {
  if (req.url === '/ready') {
    res.writeHead(200).end();
    return;
  }
  const id = ids[next++ % ids.length];
  pool.query('SELECT id, user_id, title, model, message_count, created_at, updated_at FROM bench_rows WHERE id = $1', [id]).then(
    (result) => {
      const body = JSON.stringify(result.rows[0]);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
    (err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(err.message);
    },
  );
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');

const stop = (): void => {
  server.close();
  server.closeAllConnections();
  void pool.end().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
