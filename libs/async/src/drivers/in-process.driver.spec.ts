import { afterEach, describe, expect, it, vi } from 'vitest';
import { ShutdownError } from '../core/errors.js';
import type { Priority } from '../core/task.types.js';
import { InProcessDriver } from './in-process.driver.js';
import type { JobRunner, QueueJob, RunOutcome } from './queue-driver.js';

/** The in-process driver alone, with a fake JobRunner: no database, no Redis. */

function job(taskId: string, priority: Priority = 'normal'): QueueJob {
  return { taskId, type: 'test', priority };
}

interface Gate {
  promise: Promise<RunOutcome>;
  open: (outcome?: RunOutcome) => void;
}

function gate(): Gate {
  let open!: (outcome?: RunOutcome) => void;
  const promise = new Promise<RunOutcome>((resolve) => {
    open = (outcome = { kind: 'done' }) => resolve(outcome);
  });
  return { promise, open };
}

/** A runner that records what it runs and answers with `outcome(taskId, call)` (default: done at once). */
function recorder(outcome: (taskId: string, call: number) => RunOutcome | Promise<RunOutcome> = () => ({ kind: 'done' })): {
  run: JobRunner;
  ran: string[];
  signals: Map<string, AbortSignal>;
} {
  const ran: string[] = [];
  const signals = new Map<string, AbortSignal>();
  return {
    ran,
    signals,
    run: async (taskId, signal) => {
      ran.push(taskId);
      signals.set(taskId, signal);
      return outcome(taskId, ran.filter((id) => id === taskId).length);
    },
  };
}

/** Lets queued promise callbacks and immediates run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('InProcessDriver', () => {
  const drivers: InProcessDriver[] = [];
  function driver(): InProcessDriver {
    const d = new InProcessDriver();
    drivers.push(d);
    return d;
  }

  afterEach(async () => {
    vi.useRealTimers();
    await Promise.all(drivers.splice(0).map((d) => d.close()));
  });

  it('is always available and says what it is', () => {
    const d = driver();
    expect(d.kind).toBe('in-process');
    expect(d.isAvailable()).toBe(true);
  });

  it('runs the highest priority first and FIFO within a level', async () => {
    const d = driver();
    const pattern: Priority[] = ['low', 'normal', 'critical', 'high', 'urgent', 'normal', 'low', 'critical', 'urgent', 'high', 'normal', 'low', 'high', 'critical', 'urgent', 'low'];
    const jobs = pattern.map((p, i) => job(`${p}-${i}`, p));
    await d.enqueue(jobs.slice(0, 5));
    for (const j of jobs.slice(5)) await d.enqueue([j]);
    expect(await d.counts()).toEqual({ waiting: 16, delayed: 0, active: 0 });

    const r = recorder();
    await d.startWorker(r.run, 1);
    await vi.waitFor(() => expect(r.ran).toHaveLength(16));

    const rank: Record<Priority, number> = { critical: 0, urgent: 1, high: 2, normal: 3, low: 4 };
    const expected = jobs
      .map((j, i) => ({ id: j.taskId, rank: rank[j.priority], i }))
      .sort((a, b) => a.rank - b.rank || a.i - b.i)
      .map((x) => x.id);
    expect(r.ran).toEqual(expected);
    expect(await d.counts()).toEqual({ waiting: 0, delayed: 0, active: 0 });
  });

  it('orders jobs queued while a job runs, too', async () => {
    const d = driver();
    const first = gate();
    const r = recorder((id) => (id === 'first' ? first.promise : { kind: 'done' }));
    await d.startWorker(r.run, 1);
    await d.enqueue([job('first', 'low')]);
    await d.enqueue([job('n1', 'normal'), job('l1', 'low'), job('c1', 'critical'), job('n2', 'normal'), job('c2', 'critical')]);
    await settle();
    expect(r.ran).toEqual(['first']);
    first.open();
    await vi.waitFor(() => expect(r.ran).toHaveLength(6));
    expect(r.ran).toEqual(['first', 'c1', 'c2', 'n1', 'n2', 'l1']);
  });

  it('never holds one task id twice: waiting, active or delayed', async () => {
    vi.useFakeTimers();
    const d = driver();
    await d.enqueue([job('a'), job('a'), job('b')]);
    await d.enqueue([job('a', 'critical')]);
    expect(await d.counts()).toEqual({ waiting: 2, delayed: 0, active: 0 });

    const a = gate();
    const r = recorder((id, call) => (id === 'a' && call === 1 ? a.promise : { kind: 'done' }));
    await d.startWorker(r.run, 1);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.ran).toEqual(['a']);
    await d.enqueue([job('a')]); // while active
    a.open({ kind: 'retry', delayMs: 1_000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(r.ran).toEqual(['a', 'b']);
    await d.enqueue([job('a')]); // while delayed
    expect(await d.counts()).toEqual({ waiting: 0, delayed: 1, active: 0 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(r.ran).toEqual(['a', 'b', 'a']);

    // Once done, the id may be queued again (an admin retry).
    await d.enqueue([job('a')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.ran).toEqual(['a', 'b', 'a', 'a']);
  });

  it('runs a job again after the retry delay, not before', async () => {
    vi.useFakeTimers();
    const d = driver();
    const r = recorder((_, call) => (call < 3 ? { kind: 'retry', delayMs: call * 1_000 } : { kind: 'done' }));
    await d.startWorker(r.run, 4);
    await d.enqueue([job('t')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.ran).toHaveLength(1);
    expect(await d.counts()).toEqual({ waiting: 0, delayed: 1, active: 0 });

    await vi.advanceTimersByTimeAsync(999);
    expect(r.ran).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.ran).toHaveLength(2);

    await vi.advanceTimersByTimeAsync(1_999);
    expect(r.ran).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.ran).toHaveLength(3);
    expect(await d.counts()).toEqual({ waiting: 0, delayed: 0, active: 0 });
  });

  it('a runner that throws (store unreachable) is tried again a second later', async () => {
    vi.useFakeTimers();
    const d = driver();
    const r = recorder((_, call) => {
      if (call === 1) throw new Error('database down');
      return { kind: 'done' };
    });
    await d.startWorker(r.run, 1);
    await d.enqueue([job('t')]);
    await vi.advanceTimersByTimeAsync(999);
    expect(r.ran).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.ran).toHaveLength(2);
  });

  it('runs at most `concurrency` jobs at once', async () => {
    const d = driver();
    const gates = new Map<string, Gate>();
    let running = 0;
    let peak = 0;
    const run: JobRunner = async (taskId) => {
      running++;
      peak = Math.max(peak, running);
      const g = gate();
      gates.set(taskId, g);
      const outcome = await g.promise;
      running--;
      return outcome;
    };
    await d.enqueue(['a', 'b', 'c', 'd', 'e'].map((id) => job(id)));
    await d.startWorker(run, 2);
    await settle();
    expect(await d.counts()).toEqual({ waiting: 3, delayed: 0, active: 2 });
    expect([...gates.keys()]).toEqual(['a', 'b']);
    gates.get('a')!.open();
    await vi.waitFor(() => expect([...gates.keys()]).toEqual(['a', 'b', 'c']));
    for (const id of ['b', 'c']) gates.get(id)!.open();
    await vi.waitFor(() => expect(gates.size).toBe(5));
    for (const id of ['d', 'e']) gates.get(id)!.open();
    await vi.waitFor(async () => expect(await d.counts()).toEqual({ waiting: 0, delayed: 0, active: 0 }));
    expect(peak).toBe(2);
  });

  it('pauseWorker waits for running jobs and starts no new ones until resumeWorker', async () => {
    const d = driver();
    const first = gate();
    const r = recorder((id) => (id === 'first' ? first.promise : { kind: 'done' }));
    await d.startWorker(r.run, 1);
    await d.enqueue([job('first')]);
    await settle();

    let paused = false;
    const pausing = d.pauseWorker().then(() => {
      paused = true;
    });
    await d.enqueue([job('second')]);
    await settle();
    expect(paused).toBe(false);
    first.open();
    await pausing;
    await settle();
    expect(r.ran).toEqual(['first']);
    expect(await d.counts()).toEqual({ waiting: 1, delayed: 0, active: 0 });

    d.resumeWorker();
    await vi.waitFor(() => expect(r.ran).toEqual(['first', 'second']));
  });

  it('a released job (not stopping) goes back in line and runs again', async () => {
    const d = driver();
    const r = recorder((_, call) => (call === 1 ? { kind: 'release' } : { kind: 'done' }));
    await d.startWorker(r.run, 1);
    await d.enqueue([job('t')]);
    await vi.waitFor(() => expect(r.ran).toEqual(['t', 't']));
  });

  it('stopWorker waits for a job that finishes before the deadline, without aborting it', async () => {
    const d = driver();
    const r = recorder(async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return { kind: 'done' };
    });
    await d.startWorker(r.run, 1);
    await d.enqueue([job('quick'), job('queued')]);
    await settle();
    await d.stopWorker(10_000);
    expect(r.ran).toEqual(['quick']);
    expect(r.signals.get('quick')!.aborted).toBe(false);
    // Stopped: nothing more is taken, even when queued after.
    await d.enqueue([job('late')]);
    await settle();
    expect(r.ran).toEqual(['quick']);
  });

  it('stopWorker past its deadline aborts the running jobs’ signals with ShutdownError and waits for the runner', async () => {
    const d = driver();
    const finished: string[] = [];
    const signals = new Map<string, AbortSignal>();
    // Each attempt runs until its signal aborts, then takes a little while to give its task back.
    const run: JobRunner = (taskId, signal) => {
      signals.set(taskId, signal);
      return new Promise<RunOutcome>((resolve) => {
        signal.addEventListener('abort', () => {
          setTimeout(() => {
            finished.push(taskId);
            resolve({ kind: 'release' });
          }, 20);
        });
      });
    };
    await d.startWorker(run, 2);
    await d.enqueue([job('long-1'), job('long-2'), job('queued')]);
    await settle();
    expect([...signals.keys()]).toEqual(['long-1', 'long-2']);

    const started = performance.now();
    await d.stopWorker(100);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    for (const id of ['long-1', 'long-2']) {
      expect(signals.get(id)!.aborted).toBe(true);
      expect(signals.get(id)!.reason).toBeInstanceOf(ShutdownError);
    }
    // It waited for both runners to give their tasks back, and started nothing else.
    expect(finished.sort()).toEqual(['long-1', 'long-2']);
    expect(signals.has('queued')).toBe(false);
    // Released jobs are not put back in line in a stopping driver (the next worker gets them from the table).
    expect(await d.counts()).toEqual({ waiting: 1, delayed: 0, active: 0 });
  });

  it('close clears delayed retries', async () => {
    vi.useFakeTimers();
    const d = driver();
    const r = recorder(() => ({ kind: 'retry', delayMs: 5_000 }));
    await d.startWorker(r.run, 1);
    await d.enqueue([job('t'), job('u')]);
    await vi.advanceTimersByTimeAsync(0);
    expect(await d.counts()).toEqual({ waiting: 0, delayed: 2, active: 0 });
    await d.close();
    expect(await d.counts()).toEqual({ waiting: 0, delayed: 0, active: 0 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(r.ran).toEqual(['t', 'u']);
  });
});
