import type { ProcessorStats } from '@chat/async';
import { PerformanceIntegrationService } from '@chat/integration';
import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators.js';
import { AppError, notFound } from '../common/app-error.js';
import { AdminTaskPageView, AdminTaskView } from './task.views.js';
import { ListTasksQuery } from './tasks.dto.js';

@ApiTags('admin')
@ApiBearerAuth()
@AdminOnly()
@Controller('v1/admin/tasks')
export class AdminTasksController {
  constructor(private readonly performance: PerformanceIntegrationService) {}

  /** Tasks newest first, e.g. `?status=failed` for those whose attempts ran out. */
  @Get()
  @ApiOkResponse({ type: AdminTaskPageView })
  async list(@Query() query: ListTasksQuery): Promise<AdminTaskPageView> {
    const page = await this.performance.tasks({
      limit: query.limit,
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    });
    return { items: page.items.map((t) => AdminTaskView.ofAdmin(t)), nextCursor: page.nextCursor };
  }

  /** Counts by status and priority, wait and run percentiles, throughput, failures by type. */
  @Get('stats')
  stats(): Promise<ProcessorStats> {
    return this.performance.taskStats();
  }

  @Get(':id')
  @ApiOkResponse({ type: AdminTaskView })
  async get(@Param('id') id: string): Promise<AdminTaskView> {
    const task = await this.performance.task(id);
    if (task === null) throw notFound('Task');
    return AdminTaskView.ofAdmin(task);
  }

  /** A failed task gets a fresh set of attempts and is queued again; 409 when it is not failed. */
  @Post(':id/retry')
  @HttpCode(200)
  @ApiOkResponse({ type: AdminTaskView })
  async retry(@Param('id') id: string): Promise<AdminTaskView> {
    const task = await this.performance.retryTask(id);
    if (task !== null) return AdminTaskView.ofAdmin(task);
    const existing = await this.performance.task(id);
    if (existing === null) throw notFound('Task');
    throw new AppError('conflict', `Only a failed task can be retried; this one is ${existing.status}`);
  }
}
