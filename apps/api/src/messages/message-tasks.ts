import { PerformanceIntegrationService } from '@chat/integration';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { CONVERSATION_TITLE_TASK, ConversationTitles, type TitlePayload, type TitleResult } from './conversation-titles.js';
import { CHAT_REPLY_TASK, MessageService, type ChatReplyPayload, type ChatReplyResult } from './message.service.js';

/** Registers the message tasks with the processor (in every role: workers run them, APIs resolve their defaults). */
@Injectable()
export class MessageTasks implements OnModuleInit {
  constructor(
    private readonly performance: PerformanceIntegrationService,
    private readonly messages: MessageService,
    private readonly titles: ConversationTitles,
  ) {}

  onModuleInit(): void {
    this.performance.registerTask<ChatReplyPayload, ChatReplyResult>(CHAT_REPLY_TASK, {
      handle: (context) => this.messages.answerTask(context),
    });
    this.performance.registerTask<TitlePayload, TitleResult>(CONVERSATION_TITLE_TASK, {
      handle: (context) => this.titles.generate(context),
      defaults: { priority: 'low', attempts: 2 },
    });
  }
}
