import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthenticatedUser } from '../auth/owner.js';
import { ConversationService } from './conversation.service.js';
import {
  ConversationPageView,
  ConversationView,
  CreateConversationDto,
  ListConversationsQuery,
  UpdateConversationDto,
} from './conversations.dto.js';

@ApiTags('conversations')
@ApiBearerAuth()
@Controller('v1/conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationService) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: ConversationView })
  async create(@CurrentUser() user: AuthenticatedUser, @Body() body: CreateConversationDto): Promise<ConversationView> {
    return ConversationView.of(await this.conversations.create(user.id, body));
  }

  @Get()
  @ApiOkResponse({ type: ConversationPageView })
  async list(@CurrentUser() user: AuthenticatedUser, @Query() query: ListConversationsQuery): Promise<ConversationPageView> {
    const page = await this.conversations.list(user.id, query.limit, query.cursor);
    return { items: page.items.map((c) => ConversationView.of(c)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOkResponse({ type: ConversationView })
  async get(@CurrentUser() user: AuthenticatedUser, @Param('id') id: string): Promise<ConversationView> {
    return ConversationView.of(await this.conversations.get(user.id, id));
  }

  @Patch(':id')
  @ApiOkResponse({ type: ConversationView })
  async update(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id') id: string,
    @Body() body: UpdateConversationDto,
  ): Promise<ConversationView> {
    return ConversationView.of(await this.conversations.update(user.id, id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  async remove(@CurrentUser() user: AuthenticatedUser, @Param('id') id: string): Promise<void> {
    await this.conversations.remove(user.id, id);
  }
}
