import { QueueFullError, QueueUnavailableError } from '@chat/async';
import { Catch, HttpException, Inject, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { QuoteNotFoundError } from './quotes.service.js';

/** Every error of the app to HTTP, in one place: the queue's refusals are a 503 with `Retry-After`. */
@Catch()
export class QuotesErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('QuotesErrors');

  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = this.adapterHost.httpAdapter;
    const reply: unknown = host.switchToHttp().getResponse();
    if (error instanceof QueueUnavailableError || error instanceof QueueFullError) {
      http.setHeader(reply, 'retry-after', String(error.retryAfterSeconds));
      http.reply(reply, { error: error.name, message: error.message }, 503);
    } else if (error instanceof QuoteNotFoundError) {
      http.reply(reply, { error: error.name, message: error.message }, 404);
    } else if (error instanceof HttpException) {
      http.reply(reply, error.getResponse(), error.getStatus());
    } else {
      this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      http.reply(reply, { error: 'InternalError', message: 'internal error' }, 500);
    }
  }
}
