import { Module, type DynamicModule } from '@nestjs/common';
import { AiModule } from './ai/ai.module.js';
import { OpenAiController } from './ai/openai.controller.js';
import { ConversationsController } from './conversations/conversations.controller.js';
import { ConversationsModule } from './conversations/conversations.module.js';
import { DashboardModule } from './dashboard/dashboard.module.js';
import { MessagesController } from './messages/messages.controller.js';
import { MessagesModule } from './messages/messages.module.js';
import { AdminMonitorController } from './monitoring/admin-monitor.controller.js';
import { AdminTasksController } from './tasks/admin-tasks.controller.js';
import { TasksController } from './tasks/tasks.controller.js';
import { ToolsController } from './tools/tools.controller.js';
import { ToolsModule } from './tools/tools.module.js';
import { AdminUsersController } from './users/admin-users.controller.js';
import { UsersModule } from './users/users.module.js';

/**
 * Every public and admin route. The services live in their own modules, which a worker imports
 * too (it runs the same code for tasks); only `ROLE=api|all` imports this one, so a worker serves
 * health and nothing else.
 */
@Module({})
export class PublicApiModule {
  static forRoot(): DynamicModule {
    return {
      module: PublicApiModule,
      imports: [UsersModule, AiModule, ConversationsModule, MessagesModule, ToolsModule, DashboardModule],
      controllers: [
        AdminUsersController,
        AdminMonitorController,
        AdminTasksController,
        ConversationsController,
        MessagesController,
        OpenAiController,
        TasksController,
        ToolsController,
      ],
    };
  }
}
