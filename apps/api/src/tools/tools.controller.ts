import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthenticatedUser } from '../auth/owner.js';
import { ToolService } from './tool.service.js';
import { InvokeToolDto, ToolListView, ToolResultView, ToolView } from './tools.dto.js';

@ApiTags('tools')
@ApiBearerAuth()
@Controller('v1/tools')
export class ToolsController {
  constructor(private readonly tools: ToolService) {}

  @Get()
  @ApiOkResponse({ type: ToolListView })
  list(): ToolListView {
    return { items: this.tools.list().map((t) => ToolView.of(t)) };
  }

  @Post(':name/invoke')
  @HttpCode(200)
  @ApiOkResponse({ type: ToolResultView })
  invoke(@CurrentUser() user: AuthenticatedUser, @Param('name') name: string, @Body() body: InvokeToolDto): Promise<ToolResultView> {
    return this.tools.invoke(user.id, name, body.arguments);
  }
}
