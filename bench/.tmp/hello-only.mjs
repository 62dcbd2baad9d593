import { BenchRunner } from '../dist/bench.runner.js';
import { CleanupStack } from '../dist/cleanup.stack.js';
import { renderReport } from '../dist/report.table.js';
import { machineInfo } from '../dist/machine.info.js';
const cleanup = new CleanupStack();
const scenario = { name: 'hello-vs-hello', description: 'runner self-test', baselines: ['hello'], prepare: async () => ({ targets: [{ name: 'hello again', request: { method: 'GET', url: 'http://127.0.0.1:1/x' } }], teardown: async () => {} }) };
// Point the subject at the baseline's own URL once it is up.
const runner = new BenchRunner({ durationSeconds: 2, warmupSeconds: 1, rounds: 2, connections: 100 }, cleanup, (l) => console.error('[bench]', l));
const origPrepare = scenario.prepare;
scenario.prepare = async () => { const p = await origPrepare(); p.targets[0].request.url = runner['baselines'].get('hello').targets[0].request.url; return p; };
const results = await runner.run([scenario]);
console.log(renderReport(machineInfo(), { durationSeconds: 2, warmupSeconds: 1, rounds: 2, connections: 100 }, results));
console.log(await cleanup.runAll());
