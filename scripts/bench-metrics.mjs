// Benchmark (not a test) of `vm-state metrics` at BENCH_STATES states (default 100) with
// BENCH_SNAPSHOTS snapshots each (default 50: 5000 in all), in the lab (zfs-fuse), against the
// raw reads it needs (the `zfs get -r` and `systemctl show` that `list` makes), interleaved round
// by round with `list` and `metrics --output`; and the child processes it spawns. Prints a
// Markdown table for the README. Run: npm run bench -- --metrics. Needs no lab/reset: its
// states are a dataset tree of their own, gone again at the end.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const STATES = Number(process.env.BENCH_STATES ?? 100);
const SNAPSHOTS = Number(process.env.BENCH_SNAPSHOTS ?? 50);
const UNITS = [1, 2, 3, 4, 5].map((i) => `microvm@slot${i}.service`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// A tree of its own beside the layout (lab/reset leaves it alone, and it leaves the tests'
// states, assignments and config alone): the lab is shared.
const P = 'microvms/benchmetrics';
const CONFIG = '/tmp/benchmetrics-config.json';
const ENV =
  `VM_STATE_CONFIG=${CONFIG} VM_STATE_DATASET=benchmetrics VM_STATE_STATES_DIR=/var/lib/benchmetrics ` +
  'VM_STATE_ASSIGNMENTS_FILE=/tmp/benchmetrics-assignments.json';

const lab = (script) =>
  execFileSync(`${ROOT}lab/exec`, ['bash', '-c', `export ${ENV}; ${script}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
/** Wall time of a snippet, measured inside the lab (no nsenter overhead), in ms. */
const timed = (script) =>
  Number(
    lab(`s=$(date +%s%N); { ${script}; } >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000 ))`),
  ) / 1000;
// zfs-fuse answers busy for a while after an unmount.
const drop = () =>
  lab(
    `for i in $(seq 1 50); do zfs destroy -r ${P} 2>/dev/null && break; sleep 0.3; done; ` +
      `! zfs list ${P} 2>/dev/null`,
  );

execFileSync(`${ROOT}lab/up`, [], { stdio: 'inherit' });
lab(`echo '{}' > ${CONFIG}`);
if (lab(`zfs list -H -o name ${P} 2>/dev/null || true`).trim()) drop();
process.stderr.write(
  `bench: ${STATES} states, then ${SNAPSHOTS} recursive snapshots (sequential on zfs-fuse)...\n`,
);
const t0 = Date.now();
lab(
  `zfs create -o mountpoint=/var/lib/benchmetrics ${P} && ` +
    `for i in $(seq -w 1 ${STATES}); do zfs create ${P}/st$i || exit 1; done; ` +
    `for j in $(seq 1 ${SNAPSHOTS}); do zfs snapshot -r ${P}@snap$j || exit 1; done`,
);
process.stderr.write(`bench: made in ${Math.round((Date.now() - t0) / 1000)} s\n`);

// What `list` reads (src/io/zfs-parse.ts, ZFS_PROPERTIES; src/io/systemd-parse.ts), by hand.
const props = lab(
  `VM_STATE_TRACE=1 vm-state list 2>&1 >/dev/null | grep '^+ zfs get' | cut -d' ' -f8`,
).trim();
const unitProps = lab(
  `VM_STATE_TRACE=1 vm-state list 2>&1 >/dev/null | grep '^+ systemctl' | cut -d' ' -f5`,
).trim();
const raw =
  `zfs get -H -p -o name,property,value ${props} -r ${P}; ` +
  `systemctl show -p ${unitProps} -- ${UNITS.join(' ')}`;
const variants = [
  ['raw reads: `zfs get -r` + `systemctl show` (sequential)', raw],
  ['`vm-state metrics`', 'vm-state metrics'],
  ['`vm-state metrics --output /tmp/bench.prom`', 'vm-state metrics --output /tmp/bench.prom'],
  ['`vm-state metrics --json`', 'vm-state --json metrics'],
  ['`vm-state list` (the same reads)', 'vm-state list'],
];
for (const [, script] of variants) timed(script); // warm-up: also writes the compile cache
const samples = variants.map(() => []);
for (let i = 0; i < RUNS; i++) variants.forEach(([, script], k) => samples[k].push(timed(script)));
const ms = samples.map(median);

const count = (script) => lab(script).trim();
const snaps = count(`zfs list -H -t snapshot -o name -r ${P} | grep -c '/st'`);
const procs = count('VM_STATE_TRACE=1 vm-state metrics 2>&1 >/dev/null | grep -c "^+ "');
const lines = count('vm-state metrics | grep -vc "^#"');
const bytes = count('vm-state metrics | wc -c');
const node = count('node --version');
drop();

console.log(`\n| in the lab, Node ${node} (median of ${RUNS} rounds, interleaved) | value |\n|---|---|`);
console.log(`| states / snapshots of states | ${STATES} / ${snaps} |`);
for (const [k, [label]] of variants.entries())
  console.log(`| ${label} | ${ms[k].toFixed(0)} ms${k ? ` (${(ms[k] / ms[0]).toFixed(2)}×)` : ''} |`);
console.log(`| child processes spawned by \`metrics\` | ${procs} |`);
console.log(`| samples / size of the exposition | ${lines} / ${Math.round(Number(bytes) / 1024)} KiB |`);
