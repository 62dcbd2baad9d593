import { PRIORITIES, TASK_STATUSES, type Priority, type Task, type TaskStatus } from '@chat/async';
import { ApiProperty } from '@nestjs/swagger';

/** The contract's `Task`. */
export class TaskView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'chat.reply', description: 'chat.reply, tool.invoke or conversation.title' }) type!: string;
  @ApiProperty({ enum: TASK_STATUSES }) status!: TaskStatus;
  @ApiProperty({ enum: PRIORITIES }) priority!: Priority;
  @ApiProperty({ description: 'Attempts started so far' }) attempts!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiProperty({ nullable: true, description: "What the task produced (for chat.reply: { assistantMessage })" }) result!: unknown;
  @ApiProperty({ type: String, nullable: true, description: 'Why the last attempt failed' }) error!: string | null;

  static of(task: Task): TaskView {
    return {
      id: task.id,
      type: task.type,
      status: task.status,
      priority: task.priority,
      attempts: task.attempts,
      createdAt: task.createdAt.toISOString(),
      startedAt: task.startedAt?.toISOString() ?? null,
      finishedAt: task.finishedAt?.toISOString() ?? null,
      result: task.result,
      error: task.error?.message ?? null,
    };
  }
}

/** What operators see: the contract's fields plus what explains a failure. */
export class AdminTaskView extends TaskView {
  @ApiProperty({ type: String, nullable: true }) ownerId!: string | null;
  @ApiProperty() maxAttempts!: number;
  @ApiProperty({ description: 'The error of the last failed attempt: name, message, attempt', nullable: true })
  lastError!: { name: string; message: string; attempt: number } | null;

  static ofAdmin(task: Task): AdminTaskView {
    return { ...TaskView.of(task), ownerId: task.ownerId, maxAttempts: task.maxAttempts, lastError: task.error };
  }
}

export class AdminTaskPageView {
  @ApiProperty({ type: [AdminTaskView], description: 'Newest first' }) items!: AdminTaskView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
