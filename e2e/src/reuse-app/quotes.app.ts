import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { QuotesConfig } from './quotes.config.js';
import { QuotesAppModule } from './quotes.module.js';

export interface StartedQuotesApp {
  app: NestFastifyApplication;
  /** `http://127.0.0.1:<port>` */
  url: string;
}

/** Creates the quotes app on Fastify and listens on `port` (0: any free port) on 127.0.0.1. */
export async function startQuotesApp(
  config: QuotesConfig,
  options: { port?: number; logger?: Array<'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal'> } = {},
): Promise<StartedQuotesApp> {
  const app = await NestFactory.create<NestFastifyApplication>(QuotesAppModule.forRoot(config), new FastifyAdapter(), {
    logger: options.logger ?? ['error', 'warn'],
  });
  await app.listen(options.port ?? 0, '127.0.0.1');
  const address = app.getHttpServer().address();
  if (address === null || typeof address === 'string') throw new Error('the quotes app has no TCP address');
  return { app, url: `http://127.0.0.1:${address.port}` };
}
