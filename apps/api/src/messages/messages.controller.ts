import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthenticatedUser } from '../auth/owner.js';
import { invalidInput } from '../common/app-error.js';
import { SseWriter } from '../common/sse.js';
import { MessageService } from './message.service.js';
import { MessagePageView, MessageView, ReplyView } from './message.views.js';
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
  @ApiProduces('application/json', 'text/event-stream')
  async post(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id') id: string,
    @Body() body: PostMessageDto,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const mode = body.mode ?? 'sync';
    if (mode === 'async') {
      throw invalidInput('mode "async" needs the async task processor, which this server does not run yet; use "sync" or "stream"');
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
