import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../common/app-error.js';
import { toErrorResponse } from '../common/error-response.js';
import { DashboardAssets } from './dashboard.assets.js';

/**
 * True when the client would rather have HTML than JSON (a browser navigating), by `Accept`: it
 * names `text/html` with a higher quality than `application/json`, or the same one earlier.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const ranges = accept.split(',').map((part, index) => {
    const [type = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return { type, q: q === undefined ? 1 : Number(q.slice(2)), index };
  });
  const html = ranges.find((r) => r.type === 'text/html');
  const json = ranges.find((r) => r.type === 'application/json');
  if (html === undefined || !(html.q > 0)) return false;
  return json === undefined || html.q > json.q || (html.q === json.q && html.index < json.index);
}

/**
 * On `GET /admin`, a refused token answers a browser with a small page that asks for the token (a
 * reload after the page dropped `?token=` from the address lands there); any other client gets the
 * contract's JSON error, as on every admin route.
 */
@Catch(AppError)
export class DashboardPageErrorFilter implements ExceptionFilter {
  constructor(private readonly assets: DashboardAssets) {}

  catch(exception: AppError, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const denied = exception.code === 'unauthenticated' ? 401 : exception.code === 'forbidden' ? 403 : null;
    if (denied !== null && prefersHtml(request.headers.accept)) {
      const page = this.assets.unauthorizedResponse(denied);
      void reply.status(page.status).headers(page.headers).send(page.body);
      return;
    }
    const response = toErrorResponse(exception);
    void reply.status(response.status).headers(response.headers).send(response.body);
  }
}
