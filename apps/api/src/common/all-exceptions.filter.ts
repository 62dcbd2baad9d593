import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { toErrorResponse } from './error-response.js';

/** The one place where thrown errors become HTTP answers (see {@link toErrorResponse}). */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const response = toErrorResponse(exception);
    if (response.logDetail !== undefined) {
      const detail = response.logDetail;
      this.logger.error({
        errorId: response.body.errorId,
        err: detail instanceof Error ? { message: detail.message, stack: detail.stack, name: detail.name } : detail,
      });
    }
    if (reply.sent || reply.raw.headersSent) return; // a stream already answered; it reports its own errors
    void reply.status(response.status).headers(response.headers).send(response.body);
  }
}
