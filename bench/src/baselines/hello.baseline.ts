import { fileURLToPath } from 'node:url';
import { freePort, spawnNode } from '@chat/testing';
import type { Baseline, Prepared } from '../bench.types.js';
import { waitUntilOk } from '../http.probe.js';

const HELLO_ENTRY = fileURLToPath(new URL('./hello.app.js', import.meta.url));

export const helloBaseline: Baseline = {
  name: 'hello',
  description: 'bare NestJS 12 on Fastify, GET /hello → { hello: "world" }, own process',
  async prepare(): Promise<Prepared> {
    const port = await freePort();
    const proc = spawnNode(HELLO_ENTRY, { ...process.env, PORT: String(port), HOST: '127.0.0.1' });
    const url = `http://127.0.0.1:${port}/hello`;
    try {
      await waitUntilOk(url, 15_000, proc.hasExited);
    } catch (err) {
      await proc.stop('SIGKILL');
      throw new Error(`hello baseline did not start: ${(err as Error).message}\n${proc.logs.toString()}`, { cause: err });
    }
    return {
      targets: [{ name: 'hello (Nest+Fastify)', request: { method: 'GET', url }, serverPid: proc.child.pid ?? undefined }],
      teardown: async () => {
        await proc.stop();
      },
    };
  },
};
