import { Body, Controller, Get, Headers, Param, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthenticatedUser } from '../auth/owner.js';
import { idempotencyKeyOf } from '../common/idempotency-key.js';
import { TaskView } from '../tasks/task.views.js';
import { ToolService } from './tool.service.js';
import { ToolTasks } from './tool-tasks.js';
import { InvokeToolDto, ToolListView, ToolResultView, ToolView } from './tools.dto.js';

@ApiTags('tools')
@ApiBearerAuth()
@Controller('v1/tools')
export class ToolsController {
  constructor(
    private readonly tools: ToolService,
    private readonly toolTasks: ToolTasks,
  ) {}

  @Get()
  @ApiOkResponse({ type: ToolListView })
  list(): ToolListView {
    return { items: this.tools.list().map((t) => ToolView.of(t)) };
  }

  @Post(':name/invoke')
  @ApiOkResponse({ type: ToolResultView })
  @ApiAcceptedResponse({ type: TaskView, description: 'mode "async"' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'mode "async": the same key returns the same task' })
  async invoke(
    @CurrentUser() user: AuthenticatedUser,
    @Param('name') name: string,
    @Body() body: InvokeToolDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (body.mode === 'async') {
      const key = idempotencyKeyOf(idempotencyKey);
      const task = await this.toolTasks.submit(user.id, name, body.arguments, {
        ...(body.priority === undefined ? {} : { priority: body.priority }),
        ...(key === undefined ? {} : { idempotencyKey: key }),
      });
      await reply.status(202).header('location', `/v1/tasks/${task.id}`).send(TaskView.of(task));
      return;
    }
    const result: ToolResultView = await this.tools.invoke(user.id, name, body.arguments);
    await reply.status(200).send(result);
  }
}
