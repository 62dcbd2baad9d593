import { describe, expect, it } from 'vitest';
import { StatementBatcher, UNDECIDED, type Undecided } from './statement-batcher.js';

/** The batcher alone, with fake statements: no database. */

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets queued promise callbacks and immediates run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A fake pair of statements: batches and lone runs recorded; answers the square of each item unless told otherwise. */
function fake(options: { maxBatch?: number; maxInFlight?: number; stallMs?: number } = {}) {
  const batches: number[][] = [];
  const alone: number[] = [];
  const gates: Array<Deferred<void>> = [];
  let gated = false;
  let batchAnswer: (items: number[]) => Array<number | Undecided> = (items) => items.map((i) => i * i);
  let oneAnswer: (item: number) => number = (i) => -i * i;
  const batcher = new StatementBatcher<number, number>({
    maxBatch: options.maxBatch ?? 100,
    maxInFlight: options.maxInFlight ?? 1,
    ...(options.stallMs === undefined ? {} : { stallMs: options.stallMs }),
    runBatch: async (items) => {
      batches.push(items);
      if (gated) {
        const gate = deferred<void>();
        gates.push(gate);
        await gate.promise;
      }
      return batchAnswer(items);
    },
    runOne: async (item) => {
      alone.push(item);
      if (gated) {
        const gate = deferred<void>();
        gates.push(gate);
        await gate.promise;
      }
      return oneAnswer(item);
    },
  });
  return {
    batcher,
    batches,
    alone,
    gates,
    gate(on: boolean) {
      gated = on;
    },
    answerBatch(f: (items: number[]) => Array<number | Undecided>) {
      batchAnswer = f;
    },
    answerOne(f: (item: number) => number) {
      oneAnswer = f;
    },
  };
}

describe('StatementBatcher', () => {
  it('sends calls made in the same turn as one batch, and gives each caller its own outcome', async () => {
    const f = fake();
    const outcomes = await Promise.all([1, 2, 3, 4].map((i) => f.batcher.run(i)));
    expect(f.batches).toEqual([[1, 2, 3, 4]]);
    expect(f.alone).toEqual([]);
    expect(outcomes).toEqual([1, 4, 9, 16]);
  });

  it('runs a lone call through the single statement', async () => {
    const f = fake();
    expect(await f.batcher.run(5)).toBe(-25);
    expect(f.batches).toEqual([]);
    expect(f.alone).toEqual([5]);
  });

  it('splits at maxBatch', async () => {
    const f = fake({ maxBatch: 3, maxInFlight: 10 });
    const outcomes = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((i) => f.batcher.run(i)));
    expect(f.batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(f.alone).toEqual([7]);
    expect(outcomes).toEqual([1, 4, 9, 16, 25, 36, -49]);
  });

  it('holds calls while maxInFlight batches run, then sends them together as soon as one returns', async () => {
    const f = fake({ maxInFlight: 1 });
    f.gate(true);
    const first = [f.batcher.run(1), f.batcher.run(2)];
    await settle();
    expect(f.batches).toEqual([[1, 2]]);
    const later = [3, 4, 5].map((i) => f.batcher.run(i));
    await settle();
    expect(f.batches).toHaveLength(1);
    expect(f.batcher.queued).toBe(3);

    f.gates[0].resolve();
    await settle();
    expect(f.batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    f.gates[1].resolve();
    expect(await Promise.all([...first, ...later])).toEqual([1, 4, 9, 16, 25]);
    expect(f.batcher.running).toBe(0);
  });

  it('runs UNDECIDED items alone; the decided ones keep the batch outcome', async () => {
    const f = fake();
    f.answerBatch((items) => items.map((i) => (i % 2 === 0 ? UNDECIDED : i * i)));
    const outcomes = await Promise.all([1, 2, 3, 4].map((i) => f.batcher.run(i)));
    expect(outcomes).toEqual([1, -4, 9, -16]);
    expect(f.alone).toEqual([2, 4]);
  });

  it('runs every item of a failed batch alone, so that one bad item fails its own caller only', async () => {
    const f = fake();
    f.answerBatch(() => {
      throw new Error('invalid input syntax for type uuid');
    });
    f.answerOne((i) => {
      if (i === 3) throw new Error('bad item 3');
      return -i;
    });
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map((i) => f.batcher.run(i)));
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([-1, -2, 'bad item 3', -4]);
    expect(f.alone.sort()).toEqual([1, 2, 3, 4]);
  });

  it('treats a batch answering the wrong number of outcomes as failed', async () => {
    const f = fake();
    f.answerBatch((items) => items.slice(1).map((i) => i * i));
    expect(await Promise.all([1, 2, 3].map((i) => f.batcher.run(i)))).toEqual([-1, -4, -9]);
  });

  it('items run alone do not hold the batch slot', async () => {
    const f = fake({ maxInFlight: 1 });
    f.answerBatch((items) => items.map(() => UNDECIDED));
    f.gate(true);
    const stuck = [f.batcher.run(1), f.batcher.run(2)];
    await settle();
    f.gates[0].resolve(); // the batch answers: both undecided, both go alone and hang there
    await settle();
    expect(f.alone).toEqual([1, 2]);
    expect(f.batcher.running).toBe(0);

    f.gate(false);
    f.answerBatch((items) => items.map((i) => i * i));
    expect(await Promise.all([f.batcher.run(3), f.batcher.run(4)])).toEqual([9, 16]);
    for (const gate of f.gates.slice(1)) gate.resolve();
    expect(await Promise.all(stuck)).toEqual([-1, -4]);
  });

  it('a batch running past stallMs frees its slot for the next one, and still settles its callers', async () => {
    const f = fake({ maxInFlight: 1, stallMs: 20 });
    f.gate(true);
    const slow = f.batcher.run(7); // alone, stuck behind a row lock
    await settle();
    const next = [f.batcher.run(1), f.batcher.run(2)];
    await new Promise((resolve) => setTimeout(resolve, 60));
    await settle();
    expect(f.batches).toEqual([[1, 2]]);
    for (const gate of f.gates) gate.resolve();
    expect(await Promise.all(next)).toEqual([1, 4]);
    expect(await slow).toBe(-49);
  });

  it('refuses nonsense options', () => {
    const runBatch = async (items: number[]): Promise<number[]> => items;
    const runOne = async (item: number): Promise<number> => item;
    expect(() => new StatementBatcher({ runBatch, runOne, maxBatch: 0, maxInFlight: 1 })).toThrow(RangeError);
    expect(() => new StatementBatcher({ runBatch, runOne, maxBatch: 10, maxInFlight: 0 })).toThrow(RangeError);
  });
});
