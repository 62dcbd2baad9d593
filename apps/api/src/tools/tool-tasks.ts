import { PermanentTaskError, type Priority, type Task } from '@chat/async';
import { PerformanceIntegrationService } from '@chat/integration';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { OwnerId } from '../auth/owner.js';
import { AppError } from '../common/app-error.js';
import { ToolService, type ToolInvocation } from './tool.service.js';

export const TOOL_INVOKE_TASK = 'tool.invoke';

export interface ToolInvokePayload {
  name: string;
  arguments: Record<string, unknown>;
}

/** Tool calls run as tasks (`mode: "async"` on invoke): checked when submitted, run by a worker. */
@Injectable()
export class ToolTasks implements OnModuleInit {
  constructor(
    private readonly performance: PerformanceIntegrationService,
    private readonly tools: ToolService,
  ) {}

  onModuleInit(): void {
    this.performance.registerTask<ToolInvokePayload, ToolInvocation>(TOOL_INVOKE_TASK, {
      handle: async ({ task }) => {
        const owner = task.ownerId as OwnerId | null;
        if (owner === null) throw new PermanentTaskError('a tool.invoke task needs an owner');
        try {
          return await this.tools.invoke(owner, task.payload.name, task.payload.arguments);
        } catch (error) {
          // Bad input stays bad: no retry.
          if (error instanceof AppError && (error.code === 'invalid_input' || error.code === 'not_found')) {
            throw new PermanentTaskError(error.message);
          }
          throw error;
        }
      },
    });
  }

  /** 404 for an unknown tool and 400 for bad arguments now, before anything is queued. */
  async submit(owner: OwnerId, name: string, args: Record<string, unknown>, options: { priority?: Priority; idempotencyKey?: string }): Promise<Task> {
    this.tools.check(name, args);
    const { task, created } = await this.performance.submitTask<ToolInvokePayload>(TOOL_INVOKE_TASK, { name, arguments: args }, { ownerId: owner, ...options });
    if (!created && task.type !== TOOL_INVOKE_TASK) {
      throw new AppError('conflict', 'This Idempotency-Key was already used for another request');
    }
    return task;
  }
}
