// Benchmark (not a test): what `vm-state list` costs against the raw zfs and
// systemctl calls it needs, at 100 states / 500 snapshots in the lab, and what
// `vm-state --help` costs against a bare node start. Prints a Markdown table
// for the README. Run: npm run bench (brings the lab up if needed).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAB_EXEC = `${ROOT}lab/exec`;
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const P = 'microvms/storage/states';
const UNITS = [1, 2, 3, 4, 5].map((i) => `microvm@slot${i}.service`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall time of a shell snippet run inside the lab, measured inside (no nsenter overhead). */
function timeInLab(script) {
  const out = execFileSync(
    LAB_EXEC,
    ['bash', '-c', `s=$(date +%s%N); { ${script}; } >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000 ))`],
    { encoding: 'utf8' },
  );
  return Number(out.trim()) / 1000; // ms
}

// On the host, vm-state runs with a code cache of its own, written the way an
// operator's is: by a run that read the system (here a `list` that finds no pool).
const HOST_ENV = { ...process.env, VM_STATE_CACHE_DIR: mkdtempSync(join(tmpdir(), 'vm-state-bench-')) };

function timeOnHost(argv, env = HOST_ENV) {
  const t0 = process.hrtime.bigint();
  spawnSync(argv[0], argv.slice(1), { stdio: 'ignore', env });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function peakKb(argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { encoding: 'utf8', env: HOST_ENV });
  return Number(r.stderr.trim().split('\n').at(-1));
}

execFileSync('node', ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
execFileSync(`${ROOT}lab/up`, [], { stdio: 'inherit' });
execFileSync(`${ROOT}lab/reset`, [], { stdio: 'inherit' });

process.stderr.write('bench: creating 100 states with 5 snapshots each...\n');
execFileSync(
  LAB_EXEC,
  [
    'bash',
    '-c',
    `for i in $(seq -w 1 100); do zfs create -o mountpoint=/var/lib/microvms/states/st$i ${P}/st$i; for j in 1 2 3 4 5; do zfs snapshot ${P}/st$i@snap$j; done; done`,
  ],
  { stdio: 'inherit' },
);
execFileSync(LAB_EXEC, ['systemctl', 'start', 'microvm@slot1.service']);

const raw = `zfs get -H -p -o name,property,value type,used,available,referenced,origin,mountpoint,mounted,creation -r ${P}; systemctl show -p Id,LoadState,ActiveState,SubState,MainPID,Result,InactiveExitTimestampMonotonic -- ${UNITS.join(' ')}`;
// Interleaved, one of each per round: the lab's speed drifts over a run, and
// timing each variant in a block of its own turned that drift into the ratio.
const variants = [
  ['raw calls: zfs get -r + systemctl show (sequential)', raw],
  ['vm-state list (code cache written by the warm-up run)', 'vm-state list'],
  ['vm-state list, no code cache (VM_STATE_CACHE_DIR= )', 'VM_STATE_CACHE_DIR= vm-state list'],
  ['vm-state list --json', 'vm-state list --json'],
];
for (const [, script] of variants) timeInLab(script); // warm-up
const samples = variants.map(() => []);
for (let i = 0; i < RUNS; i++) variants.forEach(([, script], k) => samples[k].push(timeInLab(script)));
const rows = variants.map(([label], k) => [label, median(samples[k])]);
const [tRaw, tList, , tJson] = rows.map(([, ms]) => ms);
const trace = execFileSync(LAB_EXEC, ['bash', '-c', 'VM_STATE_TRACE=1 vm-state list 2>&1 >/dev/null | grep -c "^+ "'], {
  encoding: 'utf8',
}).trim();
const snaps = execFileSync(LAB_EXEC, ['bash', '-c', `zfs list -H -t snapshot -o name -r ${P} | wc -l`], { encoding: 'utf8' }).trim();

spawnSync(`${ROOT}bin/vm-state`, ['--pool', 'vm-state-bench-none', 'list'], { stdio: 'ignore', env: HOST_ENV });
const help = median(Array.from({ length: RUNS }, () => timeOnHost([`${ROOT}bin/vm-state`, '--help'])));
const helpCold = median(
  Array.from({ length: RUNS }, () => timeOnHost([`${ROOT}bin/vm-state`, '--help'], { ...HOST_ENV, VM_STATE_CACHE_DIR: '' })),
);
const bare = median(Array.from({ length: RUNS }, () => timeOnHost(['node', '-e', '0'])));
const helpKb = median(Array.from({ length: 5 }, () => peakKb(['node', `${ROOT}bin/vm-state`, '--help'])));
const bareKb = median(Array.from({ length: 5 }, () => peakKb(['node', '-e', '0'])));

execFileSync(`${ROOT}lab/reset`, [], { stdio: 'inherit' });

// Every other command once, on a small pool: how many processes and how long.
const perCommand = [];
for (const args of [
  ['create', 'b1'],
  ['assign', 'slot1', 'b1'],
  ['snapshot', 'slot1', 's1'],
  ['clone', 'b1', 'b2'],
  ['restore', 'b1@s1', 'b3'],
  ['migrate', 'b2', 'slot2'],
  ['migrate', 'b1', 'slot1'],
  ['snapshot', 'slot1', 's2', '--stop'],
  ['show', 'b1'],
  ['snapshots'],
  ['--yes', 'delete', 'b3'],
  ['prune', 'b1', '--keep', '1'],
  ['clone', 'b1', 'b4', '--full'],
  ['rename', 'b4', 'b5'],
]) {
  const out = execFileSync(
    LAB_EXEC,
    [
      'bash',
      '-c',
      `s=$(date +%s%N); VM_STATE_TRACE=1 vm-state ${args.join(' ')} 2>&1 >/dev/null | grep -c "^+ "; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`,
    ],
    { encoding: 'utf8' },
  );
  const [procs, ms] = out.trim().split('\n');
  perCommand.push([`vm-state ${args.join(' ')}`, procs, ms]);
}
execFileSync(`${ROOT}lab/reset`, [], { stdio: 'inherit' });

const f = (x) => x.toFixed(0);
console.log(`\n| measurement (median of ${RUNS}) | value |\n|---|---|`);
console.log(`| states / snapshots in the pool | 100 / ${snaps} |`);
for (const [label, ms] of rows) console.log(`| ${label} | ${f(ms)} ms |`);
console.log(`| list ÷ raw calls | ${(tList / tRaw).toFixed(2)}× (json ${(tJson / tRaw).toFixed(2)}×) |`);
console.log(`| child processes spawned by list | ${trace} |`);
console.log(`| vm-state --help / node -e 0 | ${f(help)} ms / ${f(bare)} ms = ${(help / bare).toFixed(2)}× |`);
console.log(`| vm-state --help, no code cache / node -e 0 | ${f(helpCold)} ms = ${(helpCold / bare).toFixed(2)}× |`);
console.log(`| peak memory --help / node -e 0 | ${helpKb} KB / ${bareKb} KB = ${(helpKb / bareKb).toFixed(2)}× |`);
console.log(`\n| command (in order, small pool) | child processes | wall time |\n|---|---|---|`);
for (const [cmd, procs, ms] of perCommand) console.log(`| \`${cmd}\` | ${procs} | ${ms} ms |`);
