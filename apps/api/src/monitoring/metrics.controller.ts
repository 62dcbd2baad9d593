import { PrometheusController } from '@chat/monitoring';
import { Controller, Get, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AdminOnly } from '../auth/auth.decorators.js';

/**
 * `/metrics` (Prometheus text format) behind the admin token: it names routes and internals, so it
 * is not public. Prometheus sends the token with `authorization: { credentials: <ADMIN_TOKEN> }`.
 */
@ApiTags('operations')
@ApiBearerAuth()
@AdminOnly()
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format 0.0.4' })
  override index(@Res({ passthrough: true }) response: FastifyReply): Promise<string> {
    return super.index(response);
  }
}
