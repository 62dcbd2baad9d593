import { Body, Controller, Get, Headers, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthenticatedUser } from '../auth/owner.js';
import { idempotencyKeyOf } from '../common/idempotency-key.js';
import { SseWriter } from '../common/sse.js';
import { TaskView } from '../tasks/task.views.js';
import { MessageService } from './message.service.js';
import { AcceptedReplyView, MessagePageView, MessageView, ReplyView } from './message.views.js';
import { ListMessagesQuery, PostMessageDto } from './messages.dto.js';

@ApiTags('messages')
@ApiBearerAuth()
@Controller('v1/conversations/:id/messages')
export class MessagesController {
  constructor(private readonly messages: MessageService) {}

  @Get()
  @ApiOkResponse({ type: MessagePageView })
  async list(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id') id: string,
    @Query() query: ListMessagesQuery,
  ): Promise<MessagePageView> {
    const page = await this.messages.page(user.id, id, query.limit, query.before);
    return { items: page.items.map((m) => MessageView.of(m)), nextCursor: page.nextCursor };
  }

  @Post()
  @ApiCreatedResponse({ type: ReplyView, description: 'mode "sync"; header X-Cache: HIT|MISS' })
  @ApiAcceptedResponse({ type: AcceptedReplyView, description: 'mode "async"' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'mode "async": the same key returns the same task' })
  @ApiProduces('application/json', 'text/event-stream')
  async post(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id') id: string,
    @Body() body: PostMessageDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const mode = body.mode ?? 'sync';
    if (mode === 'async') {
      const key = idempotencyKeyOf(idempotencyKey);
      const accepted = await this.messages.submitReply(user.id, id, {
        content: body.content,
        ...(body.cache === undefined ? {} : { cache: body.cache }),
        ...(body.priority === undefined ? {} : { priority: body.priority }),
        ...(key === undefined ? {} : { idempotencyKey: key }),
      });
      const view: AcceptedReplyView = { userMessage: MessageView.of(accepted.userMessage), task: TaskView.of(accepted.task) };
      await reply.status(202).header('location', `/v1/tasks/${accepted.task.id}`).send(view);
      return;
    }
    const options = { content: body.content, ...(body.cache === undefined ? {} : { cache: body.cache }) };

    if (mode === 'sync') {
      const result = await this.messages.reply(user.id, id, options);
      const view: ReplyView = { userMessage: MessageView.of(result.userMessage), assistantMessage: MessageView.of(result.assistantMessage) };
      await reply.status(201).header('x-cache', result.cached ? 'HIT' : 'MISS').send(view);
      return;
    }

    const sse = new SseWriter(reply);
    try {
      const result = await this.messages.reply(
        user.id,
        id,
        { ...options, signal: sse.signal },
        {
          onDelta: (delta) => sse.send({ delta }),
          onToolCall: (call) => sse.send({ toolCall: { id: call.id, name: call.function.name, arguments: call.function.arguments } }),
          onToolResult: (toolResult) => sse.send({ toolResult }),
        },
      );
      // Whether the answer came from cache is in the final message's `cached` field.
      sse.send({ done: true, message: MessageView.of(result.assistantMessage) });
      sse.end();
    } catch (error) {
      sse.fail(error, (statusCode, message) => ({ error: { statusCode, message } }));
    }
  }
}
