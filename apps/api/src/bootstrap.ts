import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { randomBytes, randomUUID } from 'node:crypto';
import { LogController, type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import { PinoNestLogger } from './common/logger.js';
import { requestContext } from './common/request-context.js';
import type { AppConfig } from './config/app-config.js';
import { APP_VERSION } from './config/app-version.js';
import { EmbeddedDatabase } from './database/embedded-database.js';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface RunningApp {
  app: NestFastifyApplication;
  url: string;
  adminToken: string;
  /** Stops taking requests, lets in-flight ones finish, closes connections and the embedded database. */
  close(): Promise<void>;
}

/** Builds and starts the API. `main.ts` adds process concerns (signals, exit codes) on top. */
export async function startApp(config: AppConfig, logger: Logger): Promise<RunningApp> {
  const adminToken = config.adminToken ?? randomBytes(24).toString('base64url');
  if (config.adminToken === null) {
    logger.warn({ adminToken }, 'ADMIN_TOKEN is unset: generated an admin token for this run (set ADMIN_TOKEN to choose one)');
  }

  const embedded = config.databaseUrl === null ? await EmbeddedDatabase.start(config.dataDir) : null;
  if (embedded !== null) {
    logger.info({ dataDir: config.dataDir }, 'DATABASE_URL is unset: using the embedded PostgreSQL (PGlite)');
  }

  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // One line per request is written by the onResponse hook below, with the route template.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: true,
    // The root logger's mixin adds `reqId` from the request context to every line, Fastify's own
    // included; binding it again in the per-request child would print the key twice.
    childLoggerFactory: (parent: FastifyBaseLogger, _bindings: unknown, options: Parameters<FastifyBaseLogger['child']>[1]) =>
      parent.child({}, options),
  });
  const fastify = adapter.getInstance();
  // Every log line written while serving a request carries its id.
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    requestContext.run({ requestId: request.id }, done);
  });
  // While shutting down, every response closes its connection: a keep-alive socket left idle after
  // its last in-flight request would otherwise hold the server open until its keep-alive timeout.
  let closing = false;
  fastify.addHook('onSend', (_request, reply, _payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done();
  });
  // One line per request at `info`. Not registered at all when that level is off (LOG_LEVEL=warn, as
  // in production): the line would be dropped, but `routeOptions` (a getter that builds and freezes an
  // object) and the hook's dispatch would still cost every request. The level is fixed at start.
  if (logger.isLevelEnabled('info')) {
    fastify.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 100) / 100,
        },
        'request',
      );
      done();
    });
  }

  let app: NestFastifyApplication;
  try {
    app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot({ config, secrets: { adminToken }, database: { url: embedded?.url ?? config.databaseUrl ?? '', embedded: embedded !== null } }),
      adapter,
      { logger: new PinoNestLogger(logger), abortOnError: false },
    );
  } catch (error) {
    await embedded?.stop();
    throw error;
  }

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Chat API')
      .setDescription('Users, conversations, messages, AI answers, tools, and OpenAI-compatible endpoints.')
      .setVersion(APP_VERSION)
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });

  await app.init();
  // JSON only: Fastify's text parser and Nest's form parser would let other bodies reach the DTOs;
  // without them, another content type is a 415.
  fastify.removeContentTypeParser(['text/plain', 'application/x-www-form-urlencoded']);
  await app.listen({ port: config.port, host: config.host });
  const address = fastify.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, role: config.role, embeddedDatabase: embedded !== null, redis: config.redisUrl !== null }, 'listening');

  return {
    app,
    url,
    adminToken,
    close: async () => {
      closing = true;
      // Sockets that finish their response from now on close (onSend above); idle ones close now.
      const idle = setInterval(() => fastify.server.closeIdleConnections(), 100);
      try {
        await app.close();
      } finally {
        clearInterval(idle);
      }
      await embedded?.stop();
    },
  };
}
