import { PerformanceIntegrationService, type DashboardData } from '@chat/integration';
import type { MonitorReport } from '@chat/monitoring';
import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { AdminOnly } from '../auth/auth.decorators.js';
import { AppError } from '../common/app-error.js';

export class WindowQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_440)
  minutes: number = 60;
}

@ApiTags('admin')
@ApiBearerAuth()
@AdminOnly()
@Controller('v1/admin')
export class AdminMonitorController {
  constructor(private readonly performance: PerformanceIntegrationService) {}

  /**
   * The dashboard's data (api-contract.md, "Dashboard JSON"): each component's status, the caches,
   * the queue, requests, queries (slow ones with plans, N+1, index suggestions), alerts, the process,
   * a performance score with its findings, and per-minute series over the last `minutes`.
   */
  @Get('health')
  health(@Query() query: WindowQuery): Promise<DashboardData> {
    return this.performance.dashboard(query.minutes);
  }

  /**
   * What the monitor found, raw: per-route figures and per-minute series, the costliest query
   * shapes, slow queries with their plans, N+1 findings, index suggestions, alerts. 404 with MONITOR=off.
   */
  @Get('monitor')
  report(@Query() query: WindowQuery): MonitorReport {
    const report = this.performance.monitorReport(query.minutes);
    if (report === null) throw new AppError('not_found', 'The monitor is off in this process (MONITOR=off)');
    return report;
  }
}
