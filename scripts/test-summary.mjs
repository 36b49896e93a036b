// Prints the plain closing line CI reads: "N passed, M failed".
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
try {
  const r = JSON.parse(readFileSync(process.argv[2] ?? '.test-results.json', 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed = (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
  for (const suite of r.testResults ?? []) {
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failed += 1;
  }
} catch {
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed`);
