import { TaskProcessor } from '@chat/async';
import { CacheEngine } from '@chat/cache';
import { PerformanceMonitorService } from '@chat/monitoring';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';

/** How often the task backlog is read for the monitor (a grouped count on the tasks table). */
const BACKLOG_EVERY_MS = 15_000;

/**
 * Hands cache and task events to the monitor. The libs do not know each other; until
 * `@chat/integration` (issue 6) owns this, the app connects them here.
 */
@Injectable()
export class MonitorWiring implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('MonitorWiring');
  private readonly detach: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly monitor: PerformanceMonitorService,
    private readonly cache: CacheEngine,
    private readonly tasks: TaskProcessor,
  ) {}

  onModuleInit(): void {
    this.detach.push(
      this.cache.onEvent((event) => {
        if (event.type === 'hit') this.monitor.recordCache({ cache: event.cache, outcome: 'hit', ...(event.tier === 'stale' ? {} : { tier: event.tier }) });
        else if (event.type === 'miss') this.monitor.recordCache({ cache: event.cache, outcome: 'miss' });
        else if (event.type === 'error') this.monitor.recordCache({ cache: event.cache, outcome: 'error' });
      }),
    );
    this.detach.push(
      this.tasks.onEvent((event) => {
        switch (event.kind) {
          case 'submitted':
            this.monitor.recordQueue({ kind: 'submitted', type: event.type, priority: event.priority, count: event.count });
            break;
          case 'rejected':
            this.monitor.recordQueue({ kind: 'rejected', count: event.count });
            break;
          case 'started':
            this.monitor.recordQueue({ kind: 'started', type: event.type, priority: event.priority, waitMs: event.waitMs });
            break;
          case 'completed':
            this.monitor.recordQueue({ kind: 'completed', type: event.type, priority: event.priority, runMs: event.runMs });
            break;
          case 'failed':
            this.monitor.recordQueue({ kind: 'failed', type: event.type, priority: event.priority, runMs: event.runMs, final: event.final });
            break;
          case 'released':
            this.monitor.recordQueue({ kind: 'released', type: event.type, priority: event.priority });
            break;
          case 'reconciled':
            break;
        }
      }),
    );
    this.timer = setInterval(() => void this.readBacklog(), BACKLOG_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer !== null) clearInterval(this.timer);
    for (const detach of this.detach.splice(0)) detach();
  }

  private async readBacklog(): Promise<void> {
    try {
      this.monitor.setQueuePending(await this.tasks.store.pendingCount());
    } catch (error) {
      this.logger.debug(`task backlog unavailable: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
