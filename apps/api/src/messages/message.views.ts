import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { TaskView } from '../tasks/task.views.js';
import type { MessageEntity, MessageRole, StoredToolCall } from '../database/entities/message.entity.js';

class ToolCallFunctionView {
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'JSON text, as the model wrote it' }) arguments!: string;
}

export class ToolCallView {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['function'] }) type!: 'function';
  @ApiProperty({ type: ToolCallFunctionView }) function!: ToolCallFunctionView;
}

export class MessageView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) conversationId!: string;
  @ApiProperty({ enum: ['user', 'assistant', 'tool'] }) role!: MessageRole;
  @ApiProperty() content!: string;
  @ApiPropertyOptional({ type: [ToolCallView] }) toolCalls?: StoredToolCall[];
  @ApiPropertyOptional() toolCallId?: string;
  @ApiPropertyOptional({ description: 'The model that wrote an assistant message' }) model?: string;
  @ApiProperty({ description: 'Served from the AI-response cache' }) cached!: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;

  static of(m: MessageEntity): MessageView {
    const view: MessageView = {
      id: m.id,
      conversationId: m.conversationId,
      role: m.role,
      content: m.content,
      cached: m.cached,
      createdAt: m.createdAt.toISOString(),
    };
    if (m.toolCalls !== null && m.toolCalls.length > 0) view.toolCalls = m.toolCalls;
    if (m.toolCallId !== null) view.toolCallId = m.toolCallId;
    if (m.model !== null) view.model = m.model;
    return view;
  }
}

export class MessagePageView {
  @ApiProperty({ type: [MessageView], description: 'Oldest first' }) items!: MessageView[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `before` for the previous page' })
  nextCursor!: string | null;
}

export class ReplyView {
  @ApiProperty({ type: MessageView }) userMessage!: MessageView;
  @ApiProperty({ type: MessageView }) assistantMessage!: MessageView;
}

export class AcceptedReplyView {
  @ApiProperty({ type: MessageView }) userMessage!: MessageView;
  @ApiProperty({ type: TaskView, description: 'Follow it with GET /v1/tasks/:id; its result holds the assistant message' })
  task!: TaskView;
}
