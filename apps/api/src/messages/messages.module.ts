import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AiModule } from '../ai/ai.module.js';
import { ConversationsModule } from '../conversations/conversations.module.js';
import { MessageEntity } from '../database/entities/message.entity.js';
import { ToolsModule } from '../tools/tools.module.js';
import { MessageService } from './message.service.js';
import { ConversationTitles } from './conversation-titles.js';
import { MessageTasks } from './message-tasks.js';

@Module({
  imports: [TypeOrmModule.forFeature([MessageEntity]), ConversationsModule, AiModule, ToolsModule],
  providers: [MessageService, ConversationTitles, MessageTasks],
  exports: [MessageService],
})
export class MessagesModule {}
