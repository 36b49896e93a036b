// Prints the plain closing line CI reads: "N passed, M failed". Each check named in
// TASKFORGE_FAILED_CHECKS (space-separated: typecheck, lint, …) that failed counts as one failure.
import { readFileSync } from 'node:fs';

const failedChecks = (process.env.TASKFORGE_FAILED_CHECKS ?? '').split(/\s+/).filter(Boolean);
let passed = 0;
let failed = failedChecks.length;
try {
  const r = JSON.parse(readFileSync(process.argv[2] ?? '.test-results.json', 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
  for (const suite of r.testResults ?? []) {
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failed += 1;
  }
} catch {
  failed += 1;
}
if (failedChecks.length > 0) console.log(`checks failed: ${failedChecks.join(', ')} (make check shows why)`);
console.log(`${passed} passed, ${failed} failed`);
