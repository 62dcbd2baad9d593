import { PerformanceIntegrationService } from '@chat/integration';
import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthenticatedUser } from '../auth/owner.js';
import { notFound } from '../common/app-error.js';
import { TaskView } from './task.views.js';

@ApiTags('tasks')
@ApiBearerAuth()
@Controller('v1/tasks')
export class TasksController {
  constructor(private readonly performance: PerformanceIntegrationService) {}

  /** The caller's task; someone else's id answers 404, as an unknown one does. */
  @Get(':id')
  @ApiOkResponse({ type: TaskView })
  async get(@CurrentUser() user: AuthenticatedUser, @Param('id') id: string): Promise<TaskView> {
    const task = await this.performance.task(id, user.id);
    if (task === null) throw notFound('Task');
    return TaskView.of(task);
  }
}
