import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AiModule } from '../ai/ai.module.js';
import { ConversationsModule } from '../conversations/conversations.module.js';
import { MessageEntity } from '../database/entities/message.entity.js';
import { ToolsModule } from '../tools/tools.module.js';
import { MessageService } from './message.service.js';
import { MessagesController } from './messages.controller.js';

@Module({
  imports: [TypeOrmModule.forFeature([MessageEntity]), ConversationsModule, AiModule, ToolsModule],
  controllers: [MessagesController],
  providers: [MessageService],
  exports: [MessageService],
})
export class MessagesModule {}
