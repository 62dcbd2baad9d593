import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessProbe } from './process-probe.js';

/** Blocks the event loop (and burns CPU) for `ms`. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

describe('ProcessProbe', () => {
  const probes: ProcessProbe[] = [];
  function probe(...args: ConstructorParameters<typeof ProcessProbe>): ProcessProbe {
    const p = new ProcessProbe(...args);
    probes.push(p);
    return p;
  }
  afterEach(() => {
    for (const p of probes.splice(0)) p.stop();
  });

  it('samples finite, plausible figures stamped with its clock', async () => {
    let t = 1_700_000_000_000;
    const p = probe(() => t);
    await sleep(60);
    t += 60;
    const s = p.sample();
    expect(s.at).toBe(t);
    for (const v of Object.values(s)) expect(Number.isFinite(v)).toBe(true);
    expect(s.rssBytes).toBeGreaterThan(0);
    expect(s.heapTotalBytes).toBeGreaterThan(0);
    expect(s.heapUsedBytes).toBeGreaterThan(0);
    expect(s.heapUsedBytes).toBeLessThanOrEqual(s.heapTotalBytes);
    expect(s.rssBytes).toBeGreaterThanOrEqual(s.heapUsedBytes);
    expect(s.cpuCores).toBeGreaterThanOrEqual(0);
    expect(s.eventLoopLagP99Ms).toBeGreaterThanOrEqual(0);
  });

  it('shows a ~100 ms block between two samples as a lag p99 of at least 50 ms', async () => {
    const p = probe();
    await sleep(50);
    p.sample();
    busy(100);
    await sleep(50);
    expect(p.sample().eventLoopLagP99Ms).toBeGreaterThanOrEqual(50);
  });

  it('sees a block that starts right after one sample and ends right before the next', async () => {
    const p = probe();
    await sleep(50);
    p.sample();
    busy(100);
    expect(p.sample().eventLoopLagP99Ms).toBeGreaterThanOrEqual(50);
  });

  it('covers one interval per sample: a block reported once is not reported again', async () => {
    const p = probe();
    await sleep(50);
    busy(400);
    await sleep(50);
    expect(p.sample().eventLoopLagP99Ms).toBeGreaterThanOrEqual(300);
    await sleep(100);
    // Generous: only has to tell "the 400 ms block again" from scheduling noise on a loaded machine.
    expect(p.sample().eventLoopLagP99Ms).toBeLessThan(300);
  });

  it('does not report its timer resolution as lag when the loop is idle', async () => {
    const p = probe(Date.now, 50);
    await sleep(20);
    p.sample();
    // monitorEventLoopDelay records whole intervals (≥ 50 ms here, at every tick); lag is what exceeds
    // them. The quietest of several idle intervals, so a loaded machine's scheduling noise can't fail it.
    const lags: number[] = [];
    for (let i = 0; i < 6; i++) {
      await sleep(120);
      lags.push(p.sample().eventLoopLagP99Ms);
    }
    expect(Math.min(...lags)).toBeLessThan(40);
  });

  it('measures CPU against real elapsed time, not the injected clock', async () => {
    const t = 1_700_000_000_000; // a frozen test clock
    const p = probe(() => t);
    await sleep(10);
    p.sample();
    busy(100);
    const s = p.sample();
    // One thread spun for ~100 ms of ~100 ms: about one core, certainly not "100 cores" (CPU ms ÷ 1 ms).
    expect(s.cpuCores).toBeGreaterThan(0);
    expect(s.cpuCores).toBeLessThanOrEqual(availableParallelism() + 1);
  });

  it('stop() disables it: a later block is not measured', async () => {
    const p = probe();
    await sleep(50);
    p.sample();
    p.stop();
    busy(100);
    await sleep(50);
    const s = p.sample();
    expect(s.eventLoopLagP99Ms).toBe(0);
    expect(s.rssBytes).toBeGreaterThan(0);
    p.stop(); // idempotent
  });
});
