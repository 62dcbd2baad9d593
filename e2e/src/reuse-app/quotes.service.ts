import { setTimeout as sleep } from 'node:timers/promises';
import type { SubmitResult, Task } from '@chat/async';
import type { CacheNamespace } from '@chat/cache';
import { PerformanceIntegrationService } from '@chat/integration';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource, Repository } from 'typeorm';
import { QuoteEntity, type Quote } from './quote.entity.js';
import { QUOTES_CONFIG, type QuotesConfig } from './quotes.config.js';

/** What `quote.analyse` gets: the quote, and (to make a slow task) how long to take first. */
export interface AnalysePayload {
  quoteId: number;
  delayMs?: number;
}

export interface AnalyseResult {
  words: number;
}

export class QuoteNotFoundError extends Error {
  override readonly name = 'QuoteNotFoundError';
  constructor(readonly quoteId: number) {
    super(`quote ${quoteId} does not exist`);
  }
}

export const ANALYSE_TASK = 'quote.analyse';

/**
 * The app's one service. It uses the performance layer only through `PerformanceIntegrationService`:
 * a cache namespace of its own for quote reads, a task type whose handler writes the analysis back,
 * and two counters of its own on `/metrics`.
 */
@Injectable()
export class QuotesService implements OnModuleInit {
  private readonly quotes: Repository<Quote>;
  private readonly cache: CacheNamespace;
  /** prom-client counters, registered where `/metrics` reads them. */
  private readonly loads: ReturnType<PerformanceIntegrationService['counter']>;
  private readonly reads: ReturnType<PerformanceIntegrationService['counter']>;

  constructor(
    @Inject(PerformanceIntegrationService) private readonly performance: PerformanceIntegrationService,
    @Inject(getDataSourceToken()) dataSource: DataSource,
    @Inject(QUOTES_CONFIG) config: QuotesConfig,
  ) {
    this.quotes = dataSource.getRepository(QuoteEntity);
    this.cache = performance.cacheNamespace('quotes', { ttlMs: config.cacheTtlMs, graceMs: 0 });
    this.loads = performance.counter('quotes_loads_total', 'Quotes read from the database (cache misses, or every read with the cache off).');
    this.reads = performance.counter('quotes_reads_total', 'Quote reads, by whether the cache answered.', ['cached']);
  }

  onModuleInit(): void {
    this.performance.registerTask<AnalysePayload, AnalyseResult>(ANALYSE_TASK, {
      handle: async (context) => {
        const { task, signal } = context;
        const { quoteId, delayMs } = task.payload;
        // A slow analysis honours the signal: on shutdown past the deadline it stops and the task is given back.
        if (delayMs !== undefined && delayMs > 0) await sleep(delayMs, undefined, { signal });
        const result = await context.complete(async (manager) => {
          const quote = await manager.findOneBy(QuoteEntity, { id: quoteId });
          if (quote === null) throw new QuoteNotFoundError(quoteId);
          const words = quote.text.split(/\s+/).filter(Boolean).length;
          await manager.update(QuoteEntity, { id: quoteId }, { wordCount: words, analysedAt: new Date() });
          return { words };
        });
        // The cached quote is out of date now, in every process sharing Redis.
        await this.cache.delete(String(quoteId));
        return result;
      },
      defaults: { attempts: 3, timeoutMs: 120_000 },
    });
  }

  async create(text: string, author: string): Promise<Quote> {
    return this.quotes.save(this.quotes.create({ text, author }));
  }

  /** A quote through the cache; `cached` says whether the cache answered. */
  async get(id: number): Promise<{ quote: Quote; cached: boolean }> {
    const { value, source } = await this.cache.getOrLoad<Quote | null>(
      String(id),
      async () => {
        this.loads.inc();
        return this.quotes.findOneBy({ id });
      },
      { shouldCache: (quote) => quote !== null },
    );
    if (value === null) throw new QuoteNotFoundError(id);
    const cached = source !== 'loader';
    this.reads.inc({ cached: String(cached) });
    return { quote: value, cached };
  }

  /** Queues the analysis of a quote (throws `QueueUnavailableError` when the queue is off or down). */
  async analyse(id: number, delayMs?: number): Promise<SubmitResult<AnalysePayload>> {
    if (!(await this.quotes.existsBy({ id }))) throw new QuoteNotFoundError(id);
    return this.performance.submitTask<AnalysePayload>(ANALYSE_TASK, delayMs === undefined ? { quoteId: id } : { quoteId: id, delayMs });
  }

  task(id: string): Promise<Task | null> {
    return this.performance.task(id);
  }
}
