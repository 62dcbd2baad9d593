import { Module } from '@nestjs/common';
import { CalculatorTool } from './calculator.tool.js';
import { CurrentTimeTool } from './current-time.tool.js';
import { SearchMessagesTool } from './search-messages.tool.js';
import { TOOLS, type Tool } from './tool.js';
import { ToolService } from './tool.service.js';
import { ToolTasks } from './tool-tasks.js';

/** To add a tool: write a class implementing `Tool`, list it here. */
const BUILT_IN_TOOLS = [CalculatorTool, CurrentTimeTool, SearchMessagesTool];

@Module({
  providers: [
    ...BUILT_IN_TOOLS,
    { provide: TOOLS, useFactory: (...tools: Tool[]) => tools, inject: BUILT_IN_TOOLS },
    ToolService,
    ToolTasks,
  ],
  exports: [ToolService, ToolTasks],
})
export class ToolsModule {}
