// Prints Vitest's JSON report as the one closing line CI reads: "N passed, N failed[, N skipped]".
// Usage: node scripts/test-summary.mjs <vitest.json> [vitest exit code]
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log(`no test report at ${file}: ${error.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const skipped = report.numPendingTests + report.numTodoTests;
// A file that fails to load counts as a failure even though none of its tests ran.
const failedSuites = report.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0).length;
let failed = report.numFailedTests + failedSuites;
// Vitest fails a run for errors outside any test (unhandled rejections) with a non-zero exit code
// (passed as the second argument) while every test passed: count that as a failure too.
const vitestExitCode = Number(process.argv[3] ?? 0);
if ((report.success === false || vitestExitCode !== 0) && failed === 0) {
  console.log('Vitest reported errors outside the tests (see "Unhandled Errors" above)');
  failed = 1;
}
console.log(`${report.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || report.numPassedTests === 0 ? 1 : 0);
