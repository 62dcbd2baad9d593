import { CacheEngine, ToolResultCache } from '@chat/cache';
import { PerformanceIntegrationService } from '@chat/integration';
import type { DataSource } from 'typeorm';
import { describe, expect, it, vi } from 'vitest';
import type { ModelToolCall } from '../ai/model-provider.js';
import { ownerIdOf } from '../auth/owner.js';
import { AppError } from '../common/app-error.js';
import type { Clock } from '../common/clock.js';
import { CalculatorTool } from './calculator.tool.js';
import { CurrentTimeTool } from './current-time.tool.js';
import { SearchMessagesTool } from './search-messages.tool.js';
import type { Tool } from './tool.js';
import { ToolService } from './tool.service.js';

const OWNER = ownerIdOf('7d3e2f10-0000-4000-8000-000000000001');
const NOW = new Date('2026-11-22T23:30:05.000Z');
const fixedClock: Clock = { now: () => NOW };

/** The integration service with an in-process (L1-only) tool-result cache: what the app runs without Redis. */
function toolCache(): PerformanceIntegrationService {
  const engine = CacheEngine.create({ redisUrl: null });
  const subsystems = { cache: true, queue: false, monitor: false };
  return new PerformanceIntegrationService({}, subsystems, engine, null, null, new ToolResultCache(engine), null, null);
}

function service(...extra: Tool[]): ToolService {
  return new ToolService([new CalculatorTool(), new CurrentTimeTool(fixedClock), ...extra], toolCache());
}

/** A tool that fails the way infrastructure does. */
const brokenTool: Tool = {
  name: 'broken',
  description: 'always fails',
  parameters: { type: 'object' },
  cacheable: false,
  ttlSeconds: null,
  execute: () => Promise.reject(new Error('connection lost')),
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, the promise resolved');
}

function modelCall(name: string, args: string): ModelToolCall {
  return { id: 'call_1', type: 'function', function: { name, arguments: args } };
}

describe('ToolService', () => {
  it('lists the tools and their specs in registration order', () => {
    const tools = service();
    expect(tools.list().map((t) => t.name)).toEqual(['calculator', 'current_time']);
    expect(tools.specs()).toEqual([
      { name: 'calculator', description: expect.stringContaining('arithmetic'), parameters: new CalculatorTool().parameters },
      { name: 'current_time', description: expect.stringContaining('time zone'), parameters: new CurrentTimeTool(fixedClock).parameters },
    ]);
  });

  it('refuses two tools with one name', () => {
    expect(() => new ToolService([new CalculatorTool(), new CalculatorTool()], toolCache())).toThrow('two tools are named "calculator"');
  });

  describe('invoke', () => {
    it('runs the calculator', async () => {
      expect(await service().invoke(OWNER, 'calculator', { expression: '2+3*4' })).toEqual({
        result: { expression: '2+3*4', value: 14 },
        cached: false,
      });
    });

    it.each([
      ['UTC by default', {}, 'UTC', '2026-11-22, 23:30:05'],
      ['a named time zone', { timezone: 'Europe/Paris' }, 'Europe/Paris', '2026-11-23, 00:30:05'],
      ['another one', { timezone: 'Asia/Tokyo' }, 'Asia/Tokyo', '2026-11-23, 08:30:05'],
    ])('tells the time from the clock in %s', async (_label, args, timezone, local) => {
      const { result } = await service().invoke(OWNER, 'current_time', args);
      expect(result).toEqual({ timezone, iso: '2026-11-22T23:30:05.000Z', local, unixMs: NOW.getTime() });
    });

    it.each([
      ['calculator', {}, "arguments must have required property 'expression'"],
      ['calculator', { expression: 42 }, 'arguments.expression must be string'],
      ['calculator', { expression: '' }, 'arguments.expression must NOT have fewer than 1 characters'],
      ['calculator', { expression: '1'.repeat(1001) }, 'arguments.expression must NOT have more than 1000 characters'],
      ['calculator', { expression: '1+1', extra: 2 }, 'arguments must NOT have additional properties (extra)'],
      ['calculator', null, 'arguments must be object'],
      ['calculator', [], 'arguments must be object'],
      ['calculator', '2+2', 'arguments must be object'],
      ['current_time', { timezone: 5 }, 'arguments.timezone must be string'],
      ['current_time', { timezone: '' }, 'arguments.timezone must NOT have fewer than 1 characters'],
      ['current_time', { tz: 'UTC' }, 'arguments must NOT have additional properties (tz)'],
    ])('rejects bad arguments to %s (%j) naming the field', async (name, args, message) => {
      const error = await rejection(service().invoke(OWNER, name, args));
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'invalid_input', message });
    });

    it('answers not_found for an unknown tool', async () => {
      const error = await rejection(service().invoke(OWNER, 'eval', { code: '1' }));
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'not_found', message: 'Tool "eval" not found' });
    });

    it.each([
      ['calculator', { expression: '1/0' }, 'expression: division by zero'],
      ['calculator', { expression: 'process.exit(1)' }, 'expression: unexpected character "."'],
      ['calculator', { expression: 'process + 1' }, 'expression: unknown name "process"'],
      ['current_time', { timezone: 'Mars/Olympus' }, 'timezone: "Mars/Olympus" is not an IANA time zone'],
    ])('turns a ToolInputError from %s into invalid_input', async (name, args, message) => {
      const error = await rejection(service().invoke(OWNER, name, args));
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'invalid_input', message });
    });

    it('lets other failures through as they are', async () => {
      const error = await rejection(service(brokenTool).invoke(OWNER, 'broken', {}));
      expect(error).not.toBeInstanceOf(AppError);
      expect(error).toEqual(new Error('connection lost'));
    });

    it('fills schema defaults in a copy, leaving the caller\'s arguments as they were', async () => {
      const query = vi.fn<(sql: string, params: unknown[]) => Promise<unknown[]>>().mockResolvedValue([]);
      const search = new SearchMessagesTool({ query } as unknown as DataSource);
      const args = { query: 'pizza' };
      const before = structuredClone(args);

      expect(await service(search).invoke(OWNER, 'search_messages', args)).toEqual({ result: { items: [] }, cached: false });
      // The default limit (10) reached the tool...
      expect(query).toHaveBeenCalledTimes(1);
      expect(query.mock.calls[0]?.[1]).toEqual([OWNER, 'pizza', 10]);
      // ...but not the caller's object.
      expect(args).toEqual(before);
      expect(args).not.toHaveProperty('limit');
    });

    it('passes the owner to the tool', async () => {
      const execute = vi.fn<Tool['execute']>().mockResolvedValue('ok');
      const spy: Tool = { ...brokenTool, name: 'spy', execute };
      await service(spy).invoke(OWNER, 'spy', { a: 1 });
      expect(execute).toHaveBeenCalledWith({ a: 1 }, { owner: OWNER });
    });
  });

  describe('runModelCall', () => {
    it.each([
      ['a calculator call', modelCall('calculator', '{"expression":"2+3"}'), { expression: '2+3', value: 5 }],
      ['empty arguments as {}', modelCall('current_time', ''), { timezone: 'UTC', iso: NOW.toISOString(), local: '2026-11-22, 23:30:05', unixMs: NOW.getTime() }],
    ])('returns the JSON result of %s', async (_label, call, result) => {
      const content = await service().runModelCall(OWNER, call);
      expect(JSON.parse(content)).toEqual(result);
    });

    it.each([
      ['bad JSON', modelCall('calculator', '{"expression": '), 'arguments are not valid JSON'],
      ['an unknown tool', modelCall('shell', '{}'), 'Tool "shell" not found'],
      ['missing arguments', modelCall('calculator', '{}'), "arguments must have required property 'expression'"],
      ['a wrong type', modelCall('calculator', '{"expression":[1]}'), 'arguments.expression must be string'],
      ['a JSON null', modelCall('calculator', 'null'), 'arguments must be object'],
      ['an input the tool refuses', modelCall('calculator', '{"expression":"1%0"}'), 'expression: division by zero'],
    ])('turns %s into an error for the model to read', async (_label, call, message) => {
      const content = await service().runModelCall(OWNER, call);
      expect(JSON.parse(content)).toEqual({ error: message });
    });

    it('lets infrastructure failures through', async () => {
      await expect(service(brokenTool).runModelCall(OWNER, modelCall('broken', '{}'))).rejects.toThrow('connection lost');
    });
  });
});
