import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * PostgreSQL compiled to WASM (PGlite), served in-process over the Postgres wire protocol on a
 * private Unix socket, so the app reaches it through the very same TypeORM `postgres` driver as a
 * real server. PGlite is a single session: the pool in front of it must have exactly one connection.
 */
export class EmbeddedDatabase {
  private constructor(
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
    private readonly socketDir: string,
    /** A `postgres://` URL that `pg` understands for the socket. */
    readonly url: string,
  ) {}

  /** @param dataDir a directory for the files, or `memory` to keep nothing. */
  static async start(dataDir: string): Promise<EmbeddedDatabase> {
    let location = 'memory://';
    if (dataDir !== 'memory') {
      location = resolve(dataDir, 'pglite');
      await mkdir(location, { recursive: true });
    }
    const db = await PGlite.create(location);
    const socketDir = await mkdtemp(join(tmpdir(), 'chat-pglite-'));
    const port = 5432;
    // pg connects to "<host>/.s.PGSQL.<port>" when the host is a directory.
    const server = new PGLiteSocketServer({ db, path: join(socketDir, `.s.PGSQL.${port}`) });
    await server.start();
    const url = `postgres://postgres@localhost:${port}/postgres?host=${encodeURIComponent(socketDir)}`;
    return new EmbeddedDatabase(db, server, socketDir, url);
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.db.close();
    await rm(this.socketDir, { recursive: true, force: true });
  }
}
