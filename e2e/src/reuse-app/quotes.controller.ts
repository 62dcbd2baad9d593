import { PerformanceIntegrationService, type DashboardData, type HealthStatus } from '@chat/integration';
import { BadRequestException, Body, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post } from '@nestjs/common';
import type { Quote } from './quote.entity.js';
import { QuotesService } from './quotes.service.js';

interface TaskView {
  id: string;
  type: string;
  status: string;
  attempts: number;
  result: unknown;
}

function quoteId(raw: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) throw new BadRequestException('id must be a positive integer');
  return id;
}

function text(body: unknown, field: string, max: number): string {
  const value = (body as Record<string, unknown> | null | undefined)?.[field];
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    throw new BadRequestException(`${field} must be a non-empty string of at most ${max} characters`);
  }
  return value;
}

@Controller()
export class QuotesController {
  constructor(
    @Inject(QuotesService) private readonly quotes: QuotesService,
    @Inject(PerformanceIntegrationService) private readonly performance: PerformanceIntegrationService,
  ) {}

  @Post('quotes')
  create(@Body() body: unknown): Promise<Quote> {
    return this.quotes.create(text(body, 'text', 2_000), text(body, 'author', 200));
  }

  @Get('quotes/:id')
  get(@Param('id') id: string): Promise<{ quote: Quote; cached: boolean }> {
    return this.quotes.get(quoteId(id));
  }

  /** 202 with the task; `delayMs` makes a slow analysis (to see shutdown drain a running task). */
  @Post('quotes/:id/analyses')
  @HttpCode(202)
  async analyse(@Param('id') id: string, @Body() body: { delayMs?: unknown } | undefined): Promise<TaskView> {
    const delayMs = body?.delayMs;
    if (delayMs !== undefined && (typeof delayMs !== 'number' || !Number.isInteger(delayMs) || delayMs < 0)) {
      throw new BadRequestException('delayMs must be a non-negative integer');
    }
    const { task } = await this.quotes.analyse(quoteId(id), delayMs);
    return view(task);
  }

  @Get('tasks/:id')
  async task(@Param('id') id: string): Promise<TaskView> {
    const task = await this.quotes.task(id);
    if (task === null) throw new NotFoundException(`task ${id} does not exist`);
    return view(task);
  }

  @Get('health')
  health(): Promise<HealthStatus> {
    return this.performance.health();
  }

  @Get('dashboard')
  dashboard(): Promise<DashboardData> {
    return this.performance.dashboard(5);
  }
}

function view(task: { id: string; type: string; status: string; attempts: number; result: unknown }): TaskView {
  return { id: task.id, type: task.type, status: task.status, attempts: task.attempts, result: task.result };
}
