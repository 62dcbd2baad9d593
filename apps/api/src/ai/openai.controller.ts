import { Body, Controller, Get, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthenticatedUser } from '../auth/owner.js';
import { SseWriter } from '../common/sse.js';
import { ChatCompletionRequestDto } from './chat-completions.dto.js';
import { ChatCompletionsService } from './chat-completions.service.js';
import { ModelRegistry } from './model-registry.js';

/** OpenAI-compatible endpoints: the official `openai` client pointed at `<host>/v1` works unchanged. */
@ApiTags('openai-compatible')
@ApiBearerAuth()
@Controller('v1')
export class OpenAiController {
  constructor(
    private readonly models: ModelRegistry,
    private readonly completions: ChatCompletionsService,
  ) {}

  @Get('models')
  @ApiOkResponse({ description: 'OpenAI model list' })
  listModels(): { object: 'list'; data: Array<Record<string, unknown>> } {
    return {
      object: 'list',
      data: this.models.list().map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.ownedBy, description: m.description })),
    };
  }

  @Post('chat/completions')
  @HttpCode(200)
  @ApiProduces('application/json', 'text/event-stream')
  @ApiHeader({ name: 'Cache-Control', required: false, description: 'no-cache or no-store: bypass the AI-response cache' })
  @ApiOkResponse({ description: 'chat.completion, or chat.completion.chunk events when stream is true; header X-Cache: HIT|MISS' })
  async create(
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: ChatCompletionRequestDto,
    @Headers('cache-control') cacheControl: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const cache = !/\bno-(cache|store)\b/i.test(cacheControl ?? '');
    if (body.stream !== true) {
      const output = await this.completions.create(user.id, body, cache);
      if (output.kind !== 'completion') throw new Error('expected a completion');
      await reply.status(200).header('x-cache', output.cached ? 'HIT' : 'MISS').send(output.body);
      return;
    }
    const sse = new SseWriter(reply);
    try {
      const output = await this.completions.create(user.id, body, cache, sse.signal);
      if (output.kind !== 'stream') throw new Error('expected a stream');
      sse.setHeader('x-cache', output.cached ? 'HIT' : 'MISS');
      for await (const chunk of output.chunks) sse.send(chunk);
      sse.send('[DONE]', true);
      sse.end();
    } catch (error) {
      sse.fail(error, (code, message) => ({ error: { message: Array.isArray(message) ? message.join('; ') : message, type: 'api_error', code } }));
    }
  }
}
