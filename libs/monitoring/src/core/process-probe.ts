import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';

export interface ProcessSample {
  /** Epoch ms. */
  at: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** p99 of the event loop's delay since the previous sample, in ms (0 when none was measured). */
  eventLoopLagP99Ms: number;
  /** CPU time (user + system) over wall time since the previous sample; 1 = one core busy. */
  cpuCores: number;
}

/**
 * The process's own figures: memory, event-loop delay and CPU use. `sample()` is cheap (no syscalls
 * beyond `process.memoryUsage()` and `process.cpuUsage()`).
 *
 * Event-loop delay: an unref'd timer every `resolutionMs` records how late it ran (beyond its
 * interval) into a histogram that each sample reads and resets, so every value covers one interval.
 * This is what `monitorEventLoopDelay` measures, minus its two flaws for per-interval figures: it
 * reports whole intervals (an idle loop shows the resolution as "lag"), and its `reset()` forgets
 * when it last ticked, so the interval spanning a sample — a block right after it — was lost. A
 * block still in progress when `sample()` runs (no tick yet) is counted in that sample.
 *
 * Wall time for `cpuCores` comes from `performance.now()` (monotonic), never from the injected
 * clock, which only stamps `at` (a test clock or a stepped system clock would make it meaningless).
 */
export class ProcessProbe {
  private readonly lag: RecordableHistogram = createHistogram();
  private timer: NodeJS.Timeout | null;
  /** `performance.now()` of the last tick. */
  private lastTick: number;
  /** `performance.now()` and CPU usage at the last sample (or construction). */
  private lastWall: number;
  private lastCpu: NodeJS.CpuUsage;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly resolutionMs = 20,
  ) {
    this.lastTick = this.lastWall = performance.now();
    this.lastCpu = process.cpuUsage();
    this.timer = setInterval(() => this.tick(performance.now()), resolutionMs);
    this.timer.unref();
  }

  sample(): ProcessSample {
    const at = this.now();
    const wall = performance.now();
    // The loop is blocked past a tick that has not run yet (e.g. a block right before this call).
    if (this.timer !== null && wall - this.lastTick > this.resolutionMs) this.tick(wall);
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const lag = this.lag.count > 0 ? this.lag.percentile(99) / 1e6 : 0;
    this.lag.reset();
    const cpuMs = (cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1_000;
    const wallMs = Math.max(1, wall - this.lastWall);
    this.lastCpu = cpu;
    this.lastWall = wall;
    return {
      at,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      eventLoopLagP99Ms: lag,
      cpuCores: Math.max(0, cpuMs) / wallMs,
    };
  }

  /** Stops measuring the event loop (memory and CPU are still sampled on demand). Idempotent. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(t: number): void {
    const lateMs = t - this.lastTick - this.resolutionMs;
    this.lastTick = t;
    // The histogram takes integers ≥ 1 (nanoseconds); on time or early is 1 ns, i.e. no lag.
    this.lag.record(Math.max(1, Math.round(lateMs * 1e6)));
  }
}
