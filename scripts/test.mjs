// `npm test`: the unit tests, then the end-to-end suite in the lab (which
// needs the machine to itself: one pool, one systemd), then one plain summary
// line over both. Extra arguments go to both vitest runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'vm-state-test-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
let status = 0;
for (const project of ['unit', 'e2e']) {
  const out = join(dir, `${project}.json`);
  const r = spawnSync(
    'npx',
    ['vitest', 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  try {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    totals.passed += j.numPassedTests;
    totals.failed += j.numFailedTests;
    totals.skipped += j.numPendingTests + (j.numTodoTests ?? 0);
    if (j.numTotalTests === 0) status ||= 1; // a suite that ran nothing is not green
  } catch {
    totals.failed += 1; // the run died before it could report
  }
  status ||= r.status ?? 1;
  if (status !== 0) break;
}
console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(status);
