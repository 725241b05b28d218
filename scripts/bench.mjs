// Benchmark (not a test): what `vm-state list` costs against the raw zfs and
// systemctl calls it needs, at 100 states / 500 snapshots in the lab (on the
// node the lab binds), and what `vm-state --help` costs against a bare node
// start on the host, on each pinned Node of BENCH_NODES (default 22,24, from
// scripts/node). Prints Markdown tables for the README. Run: npm run bench
// (brings the lab up if needed); `npm run bench -- --host-only`: the host part.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAB_EXEC = `${ROOT}lab/exec`;
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const NODES = (process.env.BENCH_NODES ?? '22,24').split(',').filter(Boolean);
const P = 'microvms/storage/states';
const UNITS = [1, 2, 3, 4, 5].map((i) => `microvm@slot${i}.service`);

/** The raw calls `list` needs, one after the other, as an operator would type them. */
const RAW_LIST = `zfs get -H -p -o name,property,value type,used,available,referenced,origin,mountpoint,mounted,creation,guid,userrefs,vm-state:replica-of,vm-state:synced,vm-state:sent -r ${P}; systemctl show -p Id,LoadState,ActiveState,SubState,MainPID,Result,InactiveExitTimestampMonotonic -- ${UNITS.join(' ')}`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall time of a shell snippet run inside the lab, measured inside (no nsenter overhead). */
function timeInLab(script) {
  const out = execFileSync(
    LAB_EXEC,
    [
      'bash',
      '-c',
      `s=$(date +%s%N); { ${script}; } >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000 ))`,
    ],
    { encoding: 'utf8' },
  );
  return Number(out.trim()) / 1000; // ms
}

// On the host, vm-state runs with a compile cache of its own, written by a first run.
const HOST_ENV = { ...process.env, VM_STATE_CACHE_DIR: mkdtempSync(join(tmpdir(), 'vm-state-bench-')) };
const NO_CACHE = { ...HOST_ENV, VM_STATE_CACHE_DIR: '' };

function timeOnHost(argv, env = HOST_ENV) {
  const t0 = process.hrtime.bigint();
  spawnSync(argv[0], argv.slice(1), { stdio: 'ignore', env });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function peakKb(argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { encoding: 'utf8', env: HOST_ENV });
  return Number(r.stderr.trim().split('\n').at(-1));
}

/** Medians of each variant, timed one of each per round (see the list variants below). */
function interleaved(variants, rounds, time) {
  for (const v of variants) time(v); // warm-up: also writes the compile cache
  const samples = variants.map(() => []);
  for (let i = 0; i < rounds; i++) variants.forEach((v, k) => samples[k].push(time(v)));
  return samples.map(median);
}

execFileSync('node', ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
if (process.argv.includes('--ops')) {
  await import('./bench-ops.mjs');
  process.exit(0);
}
if (process.argv.includes('--metrics')) {
  await import('./bench-metrics.mjs');
  process.exit(0);
}
if (process.argv.includes('--mcp')) {
  await import('./bench-mcp.mjs');
  process.exit(0);
}
if (process.argv.includes('--replication')) {
  await import('./bench-replication.mjs');
  process.exit(0);
}
if (process.argv.includes('--scale')) {
  execFileSync(`${ROOT}lab/up`, [], { stdio: 'inherit' });
  execFileSync(`${ROOT}lab/reset`, [], { stdio: 'inherit' });
  scaleBench();
  process.exit(0);
}

// The host first: `--host-only` stops after it (no lab needed).
const host = NODES.map((major) => {
  const node = execFileSync(`${ROOT}scripts/node`, [major], { encoding: 'utf8' }).trim();
  // To a pipe `--help` is the text the build saved; a command's help (and `--help` on a
  // terminal) is commander's, from the bundle.
  const help = [node, `${ROOT}bin/vm-state`, '--help'];
  const commandHelp = [node, `${ROOT}bin/vm-state`, 'list', '--help'];
  const [bare, warm, command, cold] = interleaved(
    [[[node, '-e', '0']], [help], [commandHelp], [commandHelp, NO_CACHE]],
    RUNS,
    ([argv, env]) => timeOnHost(argv, env),
  );
  const helpKb = median(Array.from({ length: 5 }, () => peakKb(help)));
  const bareKb = median(Array.from({ length: 5 }, () => peakKb([node, '-e', '0'])));
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  return { version, bare, warm, command, cold, helpKb, bareKb };
});

const f = (x) => x.toFixed(0);
console.log(`| on the host (median of ${RUNS}) | ${host.map((h) => `Node ${h.version}`).join(' | ')} |`);
console.log(`|---|${host.map(() => '---|').join('')}`);
const cells = (fn) => host.map(fn).join(' | ');
const against = (key) => cells((h) => `${f(h[key])} ms (${(h[key] / h.bare).toFixed(2)}×)`);
console.log(`| node -e 0 | ${cells((h) => `${f(h.bare)} ms`)} |`);
console.log(`| vm-state --help (to a pipe) | ${against('warm')} |`);
console.log(`| vm-state list --help (the bundle) | ${against('command')} |`);
console.log(`| vm-state list --help, no compile cache | ${against('cold')} |`);
console.log(
  `| peak memory --help / node -e 0 | ${cells((h) => `${h.helpKb} KB / ${h.bareKb} KB (${(h.helpKb / h.bareKb).toFixed(2)}×)`)} |`,
);
if (process.argv.includes('--host-only')) process.exit(0);

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

// Interleaved, one of each per round: the lab's speed drifts over a run, and
// timing each variant in a block of its own turned that drift into the ratio.
const variants = [
  ['raw calls: zfs get -r + systemctl show (sequential)', RAW_LIST],
  ['vm-state list (compile cache written by the warm-up run)', 'vm-state list'],
  ['vm-state list, no compile cache (VM_STATE_CACHE_DIR= )', 'VM_STATE_CACHE_DIR= vm-state list'],
  ['vm-state list --json', 'vm-state list --json'],
];
const labNode = execFileSync(LAB_EXEC, ['node', '--version'], { encoding: 'utf8' }).trim();
const rows = interleaved(variants, RUNS, ([, script]) => timeInLab(script)).map((ms, k) => [
  variants[k][0],
  ms,
]);
const [tRaw, tList, , tJson] = rows.map(([, ms]) => ms);
const trace = execFileSync(
  LAB_EXEC,
  ['bash', '-c', 'VM_STATE_TRACE=1 vm-state list 2>&1 >/dev/null | grep -c "^+ "'],
  {
    encoding: 'utf8',
  },
).trim();
const snaps = execFileSync(LAB_EXEC, ['bash', '-c', `zfs list -H -t snapshot -o name -r ${P} | wc -l`], {
  encoding: 'utf8',
}).trim();

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

console.log(`\n| measurement in the lab, Node ${labNode} (median of ${RUNS}) | value |\n|---|---|`);
console.log(`| states / snapshots in the pool | 100 / ${snaps} |`);
for (const [label, ms] of rows) console.log(`| ${label} | ${f(ms)} ms |`);
console.log(`| list ÷ raw calls | ${(tList / tRaw).toFixed(2)}× (json ${(tJson / tRaw).toFixed(2)}×) |`);
console.log(`| child processes spawned by list | ${trace} |`);
console.log(`\n| command (in order, small pool) | child processes | wall time |\n|---|---|---|`);
for (const [cmd, procs, ms] of perCommand) console.log(`| \`${cmd}\` | ${procs} | ${ms} ms |`);

/**
 * `--scale`: every command that touches a few states, on a pool of 500 states x 10
 * snapshots and then on one of 5, in one run: its cost must follow its work, not
 * the pool. Each command runs ROUNDS times (a pair that undoes itself, so every
 * round starts alike); medians.
 */
function scaleBench() {
  const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 5);
  const BIG = Number(process.env.BENCH_SCALE_STATES ?? 500);
  const lab = (script) =>
    execFileSync(LAB_EXEC, ['bash', '-c', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  process.stderr.write(
    `bench: ${BIG} states, then 10 recursive snapshots (sequential: zfs-fuse deadlocks on parallel creates)...\n`,
  );
  lab(
    `for i in $(seq -w 1 ${BIG}); do zfs create ${P}/st$i || exit 1; done; for j in $(seq 1 10); do zfs snapshot -r ${P}@snap$j || exit 1; done`,
  );
  lab('vm-state assign slot1 st001 && vm-state assign slot2 st002 && systemctl start microvm@slot1.service');
  const commands = [
    // The undos destroy (--now): a delete into the trash keeps a clone's helper snapshot alive.
    ['create newone', 'vm-state --yes delete --now newone'],
    ['--yes delete newone', 'vm-state create newone'],
    ['assign slot3 st003', 'vm-state assign slot3 st004'],
    ['migrate st005 slot2', 'vm-state migrate st002 slot2'],
    ['snapshot slot1 x', 'vm-state snapshot delete st001@x'],
    ['snapshot delete st001@x', 'vm-state snapshot slot1 x'],
    ['clone st003 c1', 'vm-state --yes delete --now c1'],
    ['restore st003@snap10 r1', 'vm-state --yes delete --now r1'],
    ['show st003', 'true'],
    ['snapshots st003', 'true'],
    ['prune st003 --keep 10', 'true'],
    ['preflight slot2', 'true'],
  ];
  // The pairs' setup: newone exists for the delete row, st001@x for snapshot delete.
  const measure = () => {
    const out = [];
    for (const [args, undo] of commands) {
      if (args.startsWith('--yes delete newone')) lab('vm-state create newone');
      if (args.startsWith('snapshot delete')) lab('vm-state snapshot slot1 x');
      const times = [];
      let procs = '';
      for (let i = 0; i < ROUNDS; i++) {
        // systemd refuses a unit's sixth start within 10 s: migrate's rounds start slot2 twice each.
        const r = lab(
          `systemctl reset-failed 'microvm@*'; s=$(date +%s%N); VM_STATE_TRACE=1 vm-state ${args} 2>/tmp/trace >/dev/null; e=$(date +%s%N); grep -c "^+ " /tmp/trace; echo $(( (e - s) / 1000 )); ${undo} >/dev/null 2>&1`,
        );
        const [p, us] = r.trim().split('\n');
        procs = p;
        times.push(Number(us) / 1000);
      }
      if (args.startsWith('--yes delete newone')) lab('vm-state --yes delete --now newone');
      if (args.startsWith('snapshot delete')) lab('vm-state snapshot delete st001@x');
      out.push({ args, procs, ms: median(times) });
    }
    return out;
  };
  // list against its raw calls at this size, interleaved round by round.
  const [rawMs, listMs] = interleaved([RAW_LIST, 'vm-state list'], ROUNDS + 2, timeInLab);
  const big = measure();
  process.stderr.write(`bench: at ${BIG} states: ${JSON.stringify(big)}\n`);
  process.stderr.write('bench: down to 5 states...\n');
  // zfs-fuse unmounts asynchronously: a destroy right after can be "busy" once.
  lab(
    `for i in $(seq -w 6 ${BIG}); do zfs destroy -r ${P}/st$i || { sleep 0.3; zfs destroy -r ${P}/st$i; } || exit 1; done`,
  );
  const small = measure();
  console.log(
    `\n| command (median of ${ROUNDS}) | ${BIG} states × 10 snapshots | 5 states × 10 | ratio | processes |`,
  );
  console.log('|---|---|---|---|---|');
  big.forEach((b, i) => {
    const s = small[i];
    const ms = (x) => `${x.toFixed(0)} ms`;
    console.log(
      `| \`vm-state ${b.args}\` | ${ms(b.ms)} | ${ms(s.ms)} | ${(b.ms / s.ms).toFixed(2)}× | ${b.procs} |`,
    );
  });
  console.log(
    `\n| \`vm-state list\` at ${BIG} states × 10 snapshots (median of ${ROUNDS + 2}) | raw calls ${rawMs.toFixed(0)} ms | list ${listMs.toFixed(0)} ms | ${(listMs / rawMs).toFixed(2)}× |`,
  );
  lab(`for j in $(seq 1 10); do zfs destroy ${P}@snap$j; done`); // the recursive snapshots' own, on the parent
  execFileSync(`${ROOT}lab/reset`, [], { stdio: 'inherit' });
}
