import { PRIORITIES, type Priority } from '@chat/async';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional } from 'class-validator';
import type { Tool } from './tool.js';

export class InvokeToolDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: "Checked against the tool's JSON Schema" })
  @IsObject()
  arguments!: Record<string, unknown>;

  @ApiPropertyOptional({ enum: ['sync', 'async'], default: 'sync', description: '"async": run as a task, answer 202 { task }' })
  @IsOptional()
  @IsIn(['sync', 'async'])
  mode?: 'sync' | 'async';

  @ApiPropertyOptional({ enum: PRIORITIES, default: 'normal', description: 'mode "async": the priority of the task' })
  @IsOptional()
  @IsIn(PRIORITIES)
  priority?: Priority;
}

export class ToolView {
  @ApiProperty() name!: string;
  @ApiProperty() description!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'JSON Schema of the arguments' })
  parameters!: Record<string, unknown>;
  @ApiProperty() cacheable!: boolean;
  @ApiProperty({ type: Number, nullable: true }) ttlSeconds!: number | null;

  static of(tool: Tool): ToolView {
    return {
      name: tool.name,
      description: tool.description,
      parameters: tool.parameters,
      cacheable: tool.cacheable,
      ttlSeconds: tool.ttlSeconds,
    };
  }
}

export class ToolListView {
  @ApiProperty({ type: [ToolView] }) items!: ToolView[];
}

export class ToolResultView {
  @ApiProperty({ description: 'What the tool returned' }) result!: unknown;
  @ApiProperty() cached!: boolean;
}
