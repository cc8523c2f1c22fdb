// Sums the jest JSON results of every package and prints "N passed, N failed".
// A package whose tests did not produce results, or a suite that failed to run, counts as failed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
let passed = 0;
let failed = 0;
const lines = [];
for (const group of ['packages', 'apps']) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const pkgDir = join(dir, name);
    const pj = join(pkgDir, 'package.json');
    if (!existsSync(pj)) continue;
    const scripts = JSON.parse(readFileSync(pj, 'utf8')).scripts ?? {};
    if (!scripts.test) continue;
    const file = join(pkgDir, '.test-results', 'jest.json');
    if (!existsSync(file)) {
      lines.push(`${group}/${name}: no test results`);
      failed += 1;
      continue;
    }
    const r = JSON.parse(readFileSync(file, 'utf8'));
    const p = r.numPassedTests ?? 0;
    const f = (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
    passed += p;
    failed += f;
    lines.push(`${group}/${name}: ${p} passed, ${f} failed`);
  }
}
for (const l of lines) console.log(l);
if (process.argv.includes('--extra-failure') && failed === 0) {
  console.log('a build, typecheck, lint or test step failed outside jest');
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
