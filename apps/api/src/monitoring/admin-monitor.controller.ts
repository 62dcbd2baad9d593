import { PerformanceMonitorService, type MonitorReport } from '@chat/monitoring';
import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { AdminOnly } from '../auth/auth.decorators.js';

export class MonitorReportQuery {
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
@Controller('v1/admin/monitor')
export class AdminMonitorController {
  constructor(private readonly monitor: PerformanceMonitorService) {}

  /**
   * What the monitor found: per-route figures and per-minute series over the last `minutes`, the
   * costliest query shapes, slow queries with their plans, N+1 findings, verified index
   * suggestions, active and recent alerts.
   */
  @Get()
  report(@Query() query: MonitorReportQuery): MonitorReport {
    return this.monitor.report(query.minutes * 60_000);
  }
}
