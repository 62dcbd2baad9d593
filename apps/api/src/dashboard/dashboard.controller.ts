import { Controller, Get, Headers, Param, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AdminPage, Public } from '../auth/auth.decorators.js';
import { notFound } from '../common/app-error.js';
import { DashboardAssets, type DashboardResponse } from './dashboard.assets.js';
import { DashboardPageErrorFilter } from './dashboard-page.filter.js';

function send(reply: FastifyReply, response: DashboardResponse): void {
  void reply.status(response.status).headers(response.headers).send(response.body ?? undefined);
}

/**
 * `GET /admin`: the operator's dashboard, a static page that draws `GET /v1/admin/health` and
 * refreshes itself (see docs/dashboard.md). The page needs the admin token (header or `?token=`);
 * its scripts and styles under /admin/assets/ hold no data and are public.
 */
@ApiTags('admin')
@Controller('admin')
export class DashboardController {
  constructor(private readonly assets: DashboardAssets) {}

  @Get()
  @AdminPage()
  @UseFilters(DashboardPageErrorFilter)
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The dashboard page. Admin token as `Authorization: Bearer` or `?token=`; optional `refresh` (seconds) and `minutes` (window).' })
  page(@Res() reply: FastifyReply): void {
    send(reply, this.assets.pageResponse());
  }

  @Get('assets/:name')
  @Public()
  @ApiExcludeEndpoint()
  asset(@Param('name') name: string, @Headers('if-none-match') ifNoneMatch: string | undefined, @Res() reply: FastifyReply): void {
    const response = this.assets.assetResponse(name, ifNoneMatch);
    if (response === null) throw notFound('Dashboard asset');
    send(reply, response);
  }
}
