import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  Equals,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateNested,
  registerDecorator,
  type ValidationOptions,
} from 'class-validator';

/** OpenAI's request, field for field. Fields OpenAI accepts but we do not use are accepted and ignored. */

function isTextPart(part: unknown): boolean {
  return (
    typeof part === 'object' &&
    part !== null &&
    (part as { type?: unknown }).type === 'text' &&
    typeof (part as { text?: unknown }).text === 'string'
  );
}

/** `content`: a string, an array of `{ type: "text", text }` parts, or null (assistant with tool calls). */
function IsChatContent(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isChatContent',
      target: target.constructor,
      propertyName: String(propertyName),
      ...(options === undefined ? {} : { options }),
      validator: {
        validate: (value: unknown) =>
          value === null ||
          (typeof value === 'string' && value.length <= 1_000_000) ||
          (Array.isArray(value) && value.length <= 100 && value.every(isTextPart)),
        defaultMessage: () => '$property must be a string, an array of {type:"text",text} parts, or null',
      },
    });
}

/** `stop`: a string or up to 4 strings. */
function IsStop(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isStop',
      target: target.constructor,
      propertyName: String(propertyName),
      ...(options === undefined ? {} : { options }),
      validator: {
        validate: (value: unknown) =>
          value === null ||
          typeof value === 'string' ||
          (Array.isArray(value) && value.length <= 4 && value.every((s) => typeof s === 'string')),
        defaultMessage: () => '$property must be a string or an array of up to 4 strings',
      },
    });
}

/** `tool_choice`: "none" | "auto" | "required" | { type: "function", function: { name } }. */
function IsToolChoice(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isToolChoice',
      target: target.constructor,
      propertyName: String(propertyName),
      ...(options === undefined ? {} : { options }),
      validator: {
        validate: (value: unknown) => {
          if (value === 'none' || value === 'auto' || value === 'required') return true;
          const v = value as { type?: unknown; function?: { name?: unknown } } | null;
          return typeof v === 'object' && v !== null && v.type === 'function' && typeof v.function?.name === 'string';
        },
        defaultMessage: () => '$property must be "none", "auto", "required" or {type:"function",function:{name}}',
      },
    });
}

export class ChatToolCallFunctionDto {
  @ApiProperty() @IsString() @Length(1, 64) name!: string;
  @ApiProperty() @IsString() @MaxLength(100_000) arguments!: string;
}

export class ChatToolCallDto {
  @ApiProperty() @IsString() @Length(1, 200) id!: string;
  @ApiProperty({ enum: ['function'] }) @Equals('function') type!: 'function';
  @ApiProperty({ type: ChatToolCallFunctionDto })
  @ValidateNested()
  @Type(() => ChatToolCallFunctionDto)
  function!: ChatToolCallFunctionDto;
}

export class ChatMessageDto {
  @ApiProperty({ enum: ['system', 'developer', 'user', 'assistant', 'tool'] })
  @IsIn(['system', 'developer', 'user', 'assistant', 'tool'])
  role!: 'system' | 'developer' | 'user' | 'assistant' | 'tool';

  @ApiPropertyOptional({ description: 'string, text parts, or null for an assistant message with tool calls' })
  @IsOptional()
  @IsChatContent()
  content?: string | Array<{ type: 'text'; text: string }> | null;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) name?: string;

  @ApiPropertyOptional({ type: [ChatToolCallDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(128)
  @ValidateNested({ each: true })
  @Type(() => ChatToolCallDto)
  tool_calls?: ChatToolCallDto[];

  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 200) tool_call_id?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100_000) refusal?: string | null;
}

export class ChatFunctionDto {
  @ApiProperty() @IsString() @Length(1, 64) name!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(10_000) description?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) @IsOptional() @IsObject() parameters?: Record<string, unknown>;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() strict?: boolean | null;
}

export class ChatToolDto {
  @ApiProperty({ enum: ['function'] }) @Equals('function') type!: 'function';
  @ApiProperty({ type: ChatFunctionDto })
  @ValidateNested()
  @Type(() => ChatFunctionDto)
  function!: ChatFunctionDto;
}

export class StreamOptionsDto {
  @ApiPropertyOptional() @IsOptional() @IsBoolean() include_usage?: boolean;
}

export class ChatCompletionRequestDto {
  @ApiProperty({ example: 'local' }) @IsString() @Length(1, 100) model!: string;

  @ApiProperty({ type: [ChatMessageDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(2_000)
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  messages!: ChatMessageDto[];

  @ApiPropertyOptional() @IsOptional() @IsBoolean() stream?: boolean | null;
  @ApiPropertyOptional({ type: StreamOptionsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto | null;

  @ApiPropertyOptional() @IsOptional() @IsNumber() @Min(0) @Max(2) temperature?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsNumber() @Min(0) @Max(1) top_p?: number | null;
  @ApiPropertyOptional({ description: 'Only 1 is supported' }) @IsOptional() @IsInt() @Min(1) @Max(1) n?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) @Max(1_000_000) max_tokens?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) @Max(1_000_000) max_completion_tokens?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsInt() seed?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsStop() stop?: string | string[] | null;
  @ApiPropertyOptional() @IsOptional() @IsNumber() @Min(-2) @Max(2) presence_penalty?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsNumber() @Min(-2) @Max(2) frequency_penalty?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsObject() logit_bias?: Record<string, number> | null;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() logprobs?: boolean | null;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(20) top_logprobs?: number | null;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(256) user?: string;

  @ApiPropertyOptional({ type: [ChatToolDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(128)
  @ValidateNested({ each: true })
  @Type(() => ChatToolDto)
  tools?: ChatToolDto[];

  @ApiPropertyOptional() @IsOptional() @IsToolChoice() tool_choice?: 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };
  @ApiPropertyOptional() @IsOptional() @IsBoolean() parallel_tool_calls?: boolean;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) @IsOptional() @IsObject() response_format?: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) @IsOptional() @IsObject() metadata?: Record<string, string> | null;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() store?: boolean | null;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(32) service_tier?: string | null;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(32) reasoning_effort?: string | null;
}
