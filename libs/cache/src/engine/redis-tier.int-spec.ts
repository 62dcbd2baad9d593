import { createServer, type Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { fakeClock } from './cache-engine.contract.js';
import { RedisTier } from './redis-tier.js';

/**
 * A server that speaks just enough of the Redis protocol to complete node-redis's handshake (it
 * answers `CLIENT ...` with +OK) and then never answers a command: a Redis whose connections come
 * up but whose commands all time out. It counts what it is sent, and can drop every connection.
 */
interface MuteRedis {
  url: string;
  /** Connections that completed the handshake. */
  readonly handshakes: number;
  /** Commands received after the handshake (never answered). */
  readonly commands: number;
  /** Connections open now. */
  readonly open: number;
  dropAll(): void;
  close(): Promise<void>;
}

async function startMuteRedis(): Promise<MuteRedis> {
  const sockets = new Set<Socket>();
  let handshakes = 0;
  let commands = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('latin1');
    let buffered = '';
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const { parsed, rest } = parseCommands(buffered);
      buffered = rest;
      for (const args of parsed) {
        if (args[0]?.toUpperCase() === 'CLIENT') {
          if (args[2]?.toUpperCase() === 'LIB-NAME') handshakes++;
          socket.write('+OK\r\n');
        } else {
          commands++;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    get handshakes() {
      return handshakes;
    },
    get commands() {
      return commands;
    },
    get open() {
      return sockets.size;
    },
    dropAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** RESP arrays of bulk strings (what a client sends), and what is left of an incomplete one. */
function parseCommands(input: string): { parsed: string[][]; rest: string } {
  const parsed: string[][] = [];
  let at = 0;
  while (input[at] === '*') {
    const headerEnd = input.indexOf('\r\n', at);
    if (headerEnd < 0) break;
    const count = Number(input.slice(at + 1, headerEnd));
    const args: string[] = [];
    let next = headerEnd + 2;
    while (args.length < count) {
      const lengthEnd = input.indexOf('\r\n', next);
      if (lengthEnd < 0) break;
      const start = lengthEnd + 2;
      const end = start + Number(input.slice(next + 1, lengthEnd));
      if (input.length < end + 2) break;
      args.push(input.slice(start, end));
      next = end + 2;
    }
    if (args.length < count) break;
    parsed.push(args);
    at = next;
  }
  return { parsed, rest: input.slice(at) };
}

describe('RedisTier against a Redis whose connections come up but whose commands time out', () => {
  it('close() settles and leaves no connection open, although a call is still waiting for its reply', async () => {
    const server = await startMuteRedis();
    const tier = new RedisTier({ url: server.url, timeoutMs: 50, breakerFailures: 3, breakerCooldownMs: 2_000, now: Date.now, onError: () => undefined });
    try {
      expect(await tier.ready(5_000)).toBe(true);
      await expect(tier.get('k')).rejects.toThrow(/did not answer/);
      await tier.close();
      await vi.waitFor(() => expect(server.open).toBe(0), { timeout: 5_000, interval: 10 });
      await tier.close(); // idempotent
    } finally {
      await server.close();
    }
  }, 20_000);

  it('each time its connection comes up, one trial call is made, not every call: a handshake alone does not close the circuit', async () => {
    const server = await startMuteRedis();
    // The breaker's clock never moves: its cooldown never lets a trial through, only a connection coming up.
    const clock = fakeClock();
    const tier = new RedisTier({ url: server.url, timeoutMs: 50, breakerFailures: 3, breakerCooldownMs: 60_000, now: clock.now, onError: () => undefined });
    try {
      expect(await tier.ready(5_000)).toBe(true);
      for (let i = 0; i < 5 && tier.breakerState !== 'open'; i++) await tier.get('k').catch(() => undefined);
      expect(tier.breakerState).toBe('open');

      // The connections drop and come back: the handshake succeeds, as it would on such a Redis.
      const handshakes = server.handshakes;
      const commands = server.commands;
      server.dropAll();
      await vi.waitFor(() => expect(server.handshakes).toBeGreaterThanOrEqual(handshakes + 2), { timeout: 5_000, interval: 10 });
      expect(await tier.ready(5_000)).toBe(true);
      await Promise.all(Array.from({ length: 10 }, () => tier.get('k').catch(() => undefined)));

      // One call went to Redis (the trial), timed out, and opened the circuit again for its cooldown.
      expect(server.commands - commands).toBe(1);
      expect(tier.breakerState).toBe('open');
    } finally {
      await tier.close();
      await server.close();
    }
  }, 20_000);
});
