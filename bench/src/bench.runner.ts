import { BASELINES } from './baselines/baseline.registry.js';
import { measureOnce, warmUp } from './autocannon.measure.js';
import type {
  FigureScenario,
  LoadScenario,
  Measurement,
  Prepared,
  RunOptions,
  Scenario,
  ScenarioResult,
  Target,
  TargetResult,
} from './bench.types.js';
import type { CleanupStack } from './cleanup.stack.js';
import { expectOk } from './http.probe.js';
import { processCpuMs } from './process.cpu.js';
import { median } from './stats.util.js';

type Progress = (line: string) => void;

function problemsOf(result: TargetResult): string[] {
  const problems: string[] = [];
  if (result.non2xx > 0) problems.push(`${result.target}: ${result.non2xx} non-2xx responses`);
  if (result.errors > 0) problems.push(`${result.target}: ${result.errors} errors (${result.timeouts} timeouts)`);
  return problems;
}

/**
 * Runs scenarios one after another. Baseline processes are started once and kept
 * for the whole run, but are measured again in every scenario, in rounds interleaved
 * with its subject, so that each ratio compares figures taken under the same conditions.
 */
export class BenchRunner {
  private readonly baselines = new Map<string, Prepared>();

  constructor(
    private readonly options: RunOptions,
    private readonly cleanup: CleanupStack,
    private readonly progress: Progress,
  ) {}

  async run(scenarios: readonly Scenario[]): Promise<ScenarioResult[]> {
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) results.push(await this.runScenario(scenario));
    return results;
  }

  private async baseline(name: string): Promise<Prepared> {
    const started = this.baselines.get(name);
    if (started) return started;
    const baseline = BASELINES.get(name);
    if (!baseline) throw new Error(`unknown baseline "${name}"`);
    this.progress(`starting baseline ${name}: ${baseline.description}`);
    const prepared = await baseline.prepare();
    this.cleanup.push(() => prepared.teardown());
    this.baselines.set(name, prepared);
    return prepared;
  }

  private async runScenario(scenario: Scenario): Promise<ScenarioResult> {
    const started = performance.now();
    const result = await (scenario.kind === 'figure' ? this.runFigure(scenario) : this.runLoad(scenario));
    result.elapsedSeconds = Math.round((performance.now() - started) / 100) / 10;
    this.progress(`${scenario.name} took ${result.elapsedSeconds} s`);
    return result;
  }

  private async runFigure(scenario: FigureScenario): Promise<ScenarioResult> {
    const result: ScenarioResult = { scenario: scenario.name, description: scenario.description, reference: '', results: [], notes: [], failures: [] };
    this.progress(`running scenario ${scenario.name}: ${scenario.description}`);
    try {
      const outcome = await scenario.run({
        options: this.options,
        progress: this.progress,
        onCleanup: (teardown) => this.cleanup.push(teardown),
        baseline: (name) => this.baseline(name),
      });
      result.notes.push(...outcome.lines);
      result.data = outcome.data;
      if (outcome.mix) result.mix = outcome.mix;
      result.failures.push(...outcome.failures);
    } catch (err) {
      result.failures.push(`${scenario.name}: ${(err as Error).message}`);
    }
    return result;
  }

  private async runLoad(scenario: LoadScenario): Promise<ScenarioResult> {
    const result: ScenarioResult = { scenario: scenario.name, description: scenario.description, reference: '', results: [], notes: [], failures: [] };
    let baselineTargets: Target[];
    let subject: Prepared;
    try {
      baselineTargets = [];
      for (const name of scenario.baselines) baselineTargets.push(...(await this.baseline(name)).targets);
      this.progress(`preparing scenario ${scenario.name}: ${scenario.description}`);
      subject = await scenario.prepare(this.options);
    } catch (err) {
      result.failures.push(`${scenario.name} did not start: ${(err as Error).message}`);
      return result;
    }
    const teardown = this.cleanup.push(() => subject.teardown());
    try {
      await this.measureAll(result, baselineTargets, subject.targets, scenario.connections ?? this.options.connections);
      if (subject.verify && result.results.length > 0) {
        try {
          result.notes.push(...(await subject.verify(result.results)));
        } catch (err) {
          result.failures.push(`${scenario.name} verification: ${(err as Error).message}`);
        }
      }
    } finally {
      try {
        await teardown();
      } catch (err) {
        result.failures.push(`${scenario.name} teardown: ${(err as Error).message}`);
      }
    }
    return result;
  }

  private async measureAll(result: ScenarioResult, baselineTargets: Target[], subjectTargets: Target[], connections: number): Promise<void> {
    result.connections = connections;
    if (subjectTargets.filter((t) => t.reference === true).length > 1) {
      result.failures.push('more than one target is marked reference');
      return;
    }
    // The reference (a scenario's own `reference` target, else the first baseline) is measured and listed first.
    const own = subjectTargets.find((t) => t.reference === true);
    const all = [
      ...(own ? [{ t: own, role: 'baseline' as const }] : []),
      ...baselineTargets.map((t) => ({ t, role: 'baseline' as const })),
      ...subjectTargets.filter((t) => t !== own).map((t) => ({ t, role: 'subject' as const })),
    ];
    // One request each first: a 401 or 404 is a setup bug, not something to load-test.
    for (const { t } of all) {
      try {
        await expectOk(t.request);
      } catch (err) {
        result.failures.push(`${t.name}: ${(err as Error).message}`);
      }
    }
    for (const { t } of all) {
      if (t.ratioTo !== undefined && (t.ratioTo === t.name || !all.some((other) => other.t.name === t.ratioTo))) {
        result.failures.push(`${t.name}: ratioTo names no other target of the scenario ("${t.ratioTo}")`);
      }
    }
    if (result.failures.length > 0) return;

    const { warmupSeconds, durationSeconds, rounds } = this.options;
    if (warmupSeconds > 0) {
      for (const { t } of all) {
        this.progress(`warming up ${t.name}: ${connections} connections, ${warmupSeconds} s`);
        await warmUp(t, connections, warmupSeconds);
      }
    }
    const runs = all.map(({ t, role }) => ({ t, role, measurements: [] as Measurement[] }));
    for (let round = 0; round < rounds; round++) {
      // ABC then CBA: a steady drift in machine load then weighs on every target equally.
      for (const run of round % 2 === 0 ? runs : [...runs].reverse()) {
        this.progress(`round ${round + 1}/${rounds}: ${run.t.name}, ${connections} connections, ${durationSeconds} s`);
        const pid = run.t.serverPid;
        const cpuBefore = pid === undefined ? null : processCpuMs(pid);
        const measurement = await measureOnce(run.t, connections, durationSeconds);
        const cpuAfter = pid === undefined ? null : processCpuMs(pid);
        if (cpuBefore !== null && cpuAfter !== null) measurement.serverCpuMs = cpuAfter - cpuBefore;
        run.measurements.push(measurement);
      }
    }

    const reference = runs[0];
    result.reference = reference?.t.name ?? '';
    for (const { t, role, measurements } of runs) {
      // A target's own `ratioTo` (checked above) if it names one, else the scenario's reference.
      const divisor = (t.ratioTo === undefined ? undefined : runs.find((r) => r.t.name === t.ratioTo)) ?? reference;
      const summary: TargetResult = {
        target: t.name,
        role,
        requestsPerSec: median(measurements.map((m) => m.requestsPerSec)),
        p50Ms: median(measurements.map((m) => m.p50Ms)),
        p99Ms: median(measurements.map((m) => m.p99Ms)),
        non2xx: measurements.reduce((n, m) => n + m.non2xx, 0),
        errors: measurements.reduce((n, m) => n + m.errors, 0),
        timeouts: measurements.reduce((n, m) => n + m.timeouts, 0),
        ratio:
          t === reference?.t && t.ratioTo === undefined
            ? null
            : median(measurements.map((m, r) => m.requestsPerSec / (divisor?.measurements[r]?.requestsPerSec ?? Number.NaN))),
        ...(divisor !== reference && divisor !== undefined ? { ratioTo: divisor.t.name } : {}),
        rounds: measurements,
      };
      result.results.push(summary);
      result.failures.push(...problemsOf(summary));
    }
  }
}
