// `npm test`: the unit tests, then the end-to-end suite in the lab (which
// needs the machine to itself: one pool, one systemd), then one plain summary
// line over every run. Both run on the pinned Node 22 (scripts/node fetches it:
// the machine's own node may be older), whatever node runs this script.
// VM_STATE_TEST_NODES=22,24 runs the unit tests on each of those (CI does), the
// e2e suite on the first. `--only unit` or `--only e2e` runs one suite; other
// arguments go to every vitest run.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const majors = (process.env.VM_STATE_TEST_NODES ?? '22').split(',').filter(Boolean);
const args = process.argv.slice(2);
const only = args.indexOf('--only');
const suites = only === -1 ? ['unit', 'e2e'] : [args[only + 1]];
const extra = only === -1 ? args : args.toSpliced(only, 2);

const nodeOf = (major) => execFileSync(join(ROOT, 'scripts', 'node'), [major], { encoding: 'utf8' }).trim();
const runs = [];
if (suites.includes('unit')) for (const major of majors) runs.push(['unit', major]);
if (suites.includes('e2e')) runs.push(['e2e', majors[0]]);

const dir = mkdtempSync(join(tmpdir(), 'vm-state-test-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
let status = 0;
for (const [project, major] of runs) {
  const node = nodeOf(major);
  console.log(`\n== ${project} tests on Node ${major} (${node})`);
  const out = join(dir, `${project}-${major}.json`);
  const r = spawnSync(
    node,
    [
      VITEST,
      'run',
      '--project',
      project,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${out}`,
      ...extra,
    ],
    // That node first on PATH too, for whatever the tests start by name (bin/vm-state's `env node`).
    { stdio: 'inherit', cwd: ROOT, env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` } },
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
