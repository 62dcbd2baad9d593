import { describe, expect, it } from 'vitest';
import { LeaseKeeper, type LeaseStore } from './lease-keeper.js';

/** The heartbeat sweep on a fake store: which leases it renews, in how many statements, and when it calls a lease lost. */

class FakeLeases implements LeaseStore {
  /** token → 'ok' (renewable), 'lost' (someone else's), 'locked' (skipped by the batch, renewable alone). */
  readonly state = new Map<string, 'ok' | 'lost' | 'locked'>();
  readonly calls: string[] = [];
  failBatch = false;

  async heartbeatMany(leases: Array<{ id: string; token: string; leaseMs: number }>): Promise<Set<string>> {
    this.calls.push(`heartbeatMany(${leases.map((l) => l.token).join(',')})`);
    await Promise.resolve();
    if (this.failBatch) throw new Error('connection reset');
    return new Set(leases.filter((l) => this.state.get(l.token) === 'ok').map((l) => l.token));
  }

  async heartbeat(_id: string, token: string): Promise<boolean> {
    this.calls.push(`heartbeat(${token})`);
    await Promise.resolve();
    return this.state.get(token) !== 'lost';
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('LeaseKeeper', () => {
  it('renews every due lease in one statement, and none that was renewed (or taken) within the last half-interval', async () => {
    const store = new FakeLeases();
    const keeper = new LeaseKeeper(store, 30_000);
    const lost: string[] = [];
    const t0 = performance.now();
    for (const t of ['a', 'b']) {
      store.state.set(t, 'ok');
      keeper.add(`id-${t}`, t, () => lost.push(t));
    }
    await keeper.sweep(t0 + keeper.intervalMs / 4); // just taken: not due
    await keeper.sweep(t0 + keeper.intervalMs);
    await keeper.sweep(t0 + keeper.intervalMs * 1.25); // renewed a moment ago: not due
    expect(store.calls).toEqual(['heartbeatMany(a,b)']);
    expect(lost).toEqual([]);
    keeper.close();
  });

  it('asks a lease the batch skipped alone, and calls onLost only when it really is someone else’s', async () => {
    const store = new FakeLeases();
    const keeper = new LeaseKeeper(store, 30_000);
    const lost: string[] = [];
    store.state.set('ok', 'ok');
    store.state.set('busy', 'locked');
    store.state.set('gone', 'lost');
    for (const t of ['ok', 'busy', 'gone']) keeper.add(t, t, () => lost.push(t));
    await keeper.sweep(performance.now() + keeper.intervalMs);
    await settle();
    expect(store.calls).toEqual(['heartbeatMany(ok,busy,gone)', 'heartbeat(busy)', 'heartbeat(gone)']);
    expect(lost).toEqual(['gone']);
    keeper.close();
  });

  it('skips a lease held by its attempt (ctx.complete) and one removed; a failed sweep is retried next time', async () => {
    const store = new FakeLeases();
    const keeper = new LeaseKeeper(store, 30_000);
    for (const t of ['a', 'b', 'c']) {
      store.state.set(t, 'ok');
      keeper.add(t, t, () => undefined);
    }
    keeper.hold('b', true);
    keeper.remove('c');
    store.failBatch = true;
    const t1 = performance.now() + keeper.intervalMs;
    await keeper.sweep(t1);
    store.failBatch = false;
    await keeper.sweep(t1 + 1);
    keeper.hold('b', false);
    await keeper.sweep(t1 + 2);
    expect(store.calls).toEqual(['heartbeatMany(a)', 'heartbeatMany(a)', 'heartbeatMany(b)']);
    keeper.close();
  });

  it('never calls onLost for a lease removed while its renewal was in flight', async () => {
    const store = new FakeLeases();
    const keeper = new LeaseKeeper(store, 30_000);
    const lost: string[] = [];
    store.state.set('x', 'lost');
    keeper.add('x', 'x', () => lost.push('x'));
    const sweeping = keeper.sweep(performance.now() + keeper.intervalMs);
    keeper.remove('x');
    await sweeping;
    await settle();
    expect(lost).toEqual([]);
  });

  it('runs its timer only while it keeps leases', () => {
    const keeper = new LeaseKeeper(new FakeLeases(), 900);
    expect(keeper.intervalMs).toBe(300);
    expect(new LeaseKeeper(new FakeLeases(), 300).intervalMs).toBe(250);
    keeper.add('a', 'a', () => undefined);
    expect(keeper.size).toBe(1);
    keeper.remove('a');
    expect(keeper.size).toBe(0);
    keeper.close();
  });
});
