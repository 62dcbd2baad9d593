import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Task } from '../core/task.types.js';
import { LifecycleBatcher, type LifecycleStore } from './lifecycle-batcher.js';

/**
 * The lifecycle batcher on a fake store that keeps rows in memory and applies the same rules as the
 * SQL: a claim needs the row pending (or its lease expired), a completion needs the caller's token;
 * a row marked `locked` is skipped by the batched statements (SKIP LOCKED) and waited for by the
 * single ones.
 */

interface Row {
  status: 'pending' | 'running' | 'completed';
  token: string | null;
  attempts: number;
  result: unknown;
  locked: boolean;
}

function taskOf(id: string, row: Row): Task {
  const at = new Date(0);
  return {
    id,
    type: 't',
    ownerId: null,
    priority: 'normal',
    status: row.status,
    payload: null,
    attempts: row.attempts,
    maxAttempts: 3,
    timeoutMs: 1_000,
    idempotencyKey: null,
    result: row.result,
    error: null,
    createdAt: at,
    startedAt: at,
    finishedAt: null,
    updatedAt: at,
  };
}

class FakeStore implements LifecycleStore {
  readonly rows = new Map<string, Row>();
  readonly calls: string[] = [];
  failBatches = false;

  add(status: Row['status'] = 'pending', token: string | null = null): string {
    const id = randomUUID();
    this.rows.set(id, { status, token, attempts: status === 'pending' ? 0 : 1, result: null, locked: false });
    return id;
  }

  private tryClaim(id: string, token: string): Task | null {
    const row = this.rows.get(id);
    if (row === undefined || row.status !== 'pending') return null;
    row.status = 'running';
    row.token = token;
    row.attempts++;
    return taskOf(id, row);
  }

  private tryComplete(id: string, token: string, result: unknown): boolean {
    const row = this.rows.get(id);
    if (row === undefined || row.status !== 'running' || row.token !== token) return false;
    row.status = 'completed';
    row.token = null;
    row.result = result;
    return true;
  }

  async claimMany(claims: Array<{ id: string; token: string; leaseMs: number }>): Promise<Map<string, Task>> {
    this.calls.push(`claimMany(${claims.length})`);
    await Promise.resolve();
    if (this.failBatches) throw new Error('batch failed');
    const out = new Map<string, Task>();
    for (const c of claims) {
      if (this.rows.get(c.id)?.locked) continue;
      const task = this.tryClaim(c.id, c.token);
      if (task !== null) out.set(c.token, task);
    }
    return out;
  }

  async claim(id: string, token: string): Promise<Task | null> {
    this.calls.push('claim');
    await Promise.resolve();
    return this.tryClaim(id, token);
  }

  async completeMany(completions: Array<{ id: string; token: string; resultJson: string }>): Promise<Set<string>> {
    this.calls.push(`completeMany(${completions.length})`);
    await Promise.resolve();
    if (this.failBatches) throw new Error('batch failed');
    const out = new Set<string>();
    for (const c of completions) {
      if (this.rows.get(c.id)?.locked) continue;
      if (this.tryComplete(c.id, c.token, JSON.parse(c.resultJson))) out.add(c.token);
    }
    return out;
  }

  async complete(id: string, token: string, result: unknown): Promise<boolean> {
    this.calls.push('complete');
    await Promise.resolve();
    return this.tryComplete(id, token, result ?? null);
  }
}

describe('LifecycleBatcher', () => {
  it('coalesces concurrent claims into one statement, each caller getting its own task', async () => {
    const store = new FakeStore();
    const ids = [store.add(), store.add(), store.add()];
    const batcher = new LifecycleBatcher(store);
    const tokens = ids.map(() => randomUUID());
    const tasks = await Promise.all(ids.map((id, i) => batcher.claim(id, tokens[i], 30_000)));
    expect(store.calls).toEqual(['claimMany(3)']);
    expect(tasks.map((t) => t?.id)).toEqual(ids);
    expect(ids.map((id) => store.rows.get(id))).toEqual(tokens.map((token) => expect.objectContaining({ status: 'running', token, attempts: 1 })));
  });

  it('a claim the batch did not answer is asked alone: null when the task is not claimable', async () => {
    const store = new FakeStore();
    const free = store.add();
    const taken = store.add('running', randomUUID());
    const batcher = new LifecycleBatcher(store);
    const [a, b] = await Promise.all([batcher.claim(free, randomUUID(), 30_000), batcher.claim(taken, randomUUID(), 30_000)]);
    expect(a?.id).toBe(free);
    expect(b).toBeNull();
    expect(store.calls).toEqual(['claimMany(2)', 'claim']);
  });

  it('a row the batch skipped as locked is claimed alone', async () => {
    const store = new FakeStore();
    const ids = [store.add(), store.add()];
    store.rows.get(ids[1])!.locked = true;
    const batcher = new LifecycleBatcher(store);
    const tasks = await Promise.all(ids.map((id) => batcher.claim(id, randomUUID(), 30_000)));
    expect(tasks.map((t) => t?.id)).toEqual(ids);
    expect(store.calls).toEqual(['claimMany(2)', 'claim']);
  });

  it('two claims of one task in one batch: exactly one wins', async () => {
    const store = new FakeStore();
    const id = store.add();
    const batcher = new LifecycleBatcher(store);
    const tasks = await Promise.all([batcher.claim(id, randomUUID(), 30_000), batcher.claim(id, randomUUID(), 30_000)]);
    expect(tasks.filter((t) => t !== null)).toHaveLength(1);
    expect(store.rows.get(id)).toMatchObject({ status: 'running', attempts: 1 });
  });

  it('coalesces completions; a stale token is refused while the others are recorded', async () => {
    const store = new FakeStore();
    const tokens = [randomUUID(), randomUUID(), randomUUID()];
    const ids = tokens.map((t) => store.add('running', t));
    const batcher = new LifecycleBatcher(store);
    const outcomes = await Promise.all([
      batcher.complete(ids[0], tokens[0], { n: 0 }),
      batcher.complete(ids[1], randomUUID(), { n: 1 }), // its lease was taken over
      batcher.complete(ids[2], tokens[2], undefined),
    ]);
    expect(outcomes).toEqual([true, false, true]);
    expect(store.calls).toEqual(['completeMany(3)', 'complete']);
    expect(store.rows.get(ids[0])).toMatchObject({ status: 'completed', result: { n: 0 } });
    expect(store.rows.get(ids[1])).toMatchObject({ status: 'running', token: tokens[1] });
    expect(store.rows.get(ids[2])).toMatchObject({ status: 'completed', result: null });
  });

  it('a failed batch runs each item alone with the single statements', async () => {
    const store = new FakeStore();
    const tokens = [randomUUID(), randomUUID()];
    const ids = tokens.map((t) => store.add('running', t));
    store.failBatches = true;
    const batcher = new LifecycleBatcher(store);
    expect(await Promise.all(ids.map((id, i) => batcher.complete(id, tokens[i], i)))).toEqual([true, true]);
    expect(store.calls).toEqual(['completeMany(2)', 'complete', 'complete']);
  });

  it('a result JSON cannot represent fails its own caller at once, and no other', async () => {
    const store = new FakeStore();
    const tokens = [randomUUID(), randomUUID()];
    const ids = tokens.map((t) => store.add('running', t));
    const batcher = new LifecycleBatcher(store);
    expect(() => batcher.complete(ids[0], tokens[0], { n: 1n })).toThrow(TypeError);
    expect(await batcher.complete(ids[1], tokens[1], 'ok')).toBe(true);
    expect(store.rows.get(ids[0])).toMatchObject({ status: 'running' });
  });
});
