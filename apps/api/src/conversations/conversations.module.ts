import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AiModule } from '../ai/ai.module.js';
import { ConversationEntity } from '../database/entities/conversation.entity.js';
import { ConversationService } from './conversation.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([ConversationEntity]), AiModule],
  providers: [ConversationService],
  exports: [ConversationService],
})
export class ConversationsModule {}
