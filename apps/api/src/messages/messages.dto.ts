import { PRIORITIES, type Priority } from '@chat/async';
import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Max, Min } from 'class-validator';

export const REPLY_MODES = ['sync', 'async', 'stream'] as const;
export type ReplyMode = (typeof REPLY_MODES)[number];

export class PostMessageDto {
  @ApiProperty({ minLength: 1, maxLength: 32_000 })
  @IsString()
  @Length(1, 32_000)
  content!: string;

  @ApiPropertyOptional({ enum: REPLY_MODES, default: 'sync' })
  @IsOptional()
  @IsIn(REPLY_MODES)
  mode?: ReplyMode;

  @ApiPropertyOptional({ enum: PRIORITIES, default: 'normal', description: 'mode "async": the priority of the answer task' })
  @IsOptional()
  @IsIn(PRIORITIES)
  priority?: Priority;

  @ApiPropertyOptional({ description: 'false: bypass the AI-response cache (read and write)', default: true })
  @IsOptional()
  @IsBoolean()
  cache?: boolean;
}

export class ListMessagesQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;

  @ApiPropertyOptional({ format: 'uuid', description: 'Return messages older than this one' })
  @IsOptional()
  @IsUUID('all')
  before?: string;
}
