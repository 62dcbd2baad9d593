import { describe, expect, it } from 'vitest';
import { parseCli } from './cli.args.js';
import { scenarioResult } from './testing/results.factory.js';

const known = ['light', 'heavy'].map((name) => ({ kind: 'figure' as const, name, description: '', run: () => Promise.resolve({ lines: [], data: null, failures: [] }) }));

describe('command line', () => {
  it('defaults to every scenario, a single API process, 30 s mixes and half the prompts repeated', () => {
    const cli = parseCli([], known);
    expect(cli.scenarios.map((s) => s.name)).toEqual(['light', 'heavy']);
    expect(cli.options).toMatchObject({ topology: 'single', mixDurationSeconds: 30, repeatShare: 0.5, connections: 100, durationSeconds: 5, durationSet: false });
    // A scenario with a window of its own takes --duration only when it is given.
    expect(parseCli(['--duration', '5'], known).options).toMatchObject({ durationSeconds: 5, durationSet: true });
    expect(cli.writeBenchmarks).toBe(false);
    expect(cli.from).toEqual([]);
    expect(parseCli(['--from', 'a.json', '--from', 'b.json'], known).from).toEqual(['a.json', 'b.json']);
  });

  it('takes a scenario, the cluster topology, the mix settings and --write-benchmarks', () => {
    const cli = parseCli(['--scenario', 'heavy', '--topology', 'cluster', '--mix-duration', '10', '--repeat-share', '0', '--write-benchmarks'], known);
    expect(cli.scenarios.map((s) => s.name)).toEqual(['heavy']);
    expect(cli.options).toMatchObject({ topology: 'cluster', mixDurationSeconds: 10, repeatShare: 0 });
    expect(cli.writeBenchmarks).toBe(true);
  });

  it('refuses bad values with the option named', () => {
    expect(() => parseCli(['--topology', 'mesh'], known)).toThrow(/--topology/);
    expect(() => parseCli(['--repeat-share', '1.5'], known)).toThrow(/--repeat-share/);
    expect(() => parseCli(['--scenario', 'nope'], known)).toThrow(/unknown scenario nope/);
    expect(scenarioResult('x').failures).toEqual([]);
  });
});
