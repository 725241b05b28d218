// Benchmark (not a test) of `vm-state auto-snapshot` at N states (BENCH_STATES, default 100)
// against the raw `zfs snapshot` calls the same snapshots need (zfs-fuse: one per snapshot;
// OpenZFS: one call takes them all), in the lab, interleaved round by round. The states live
// under their own parent (microvms/benchops), so lab/reset and other tests leave them alone.
// Run: npm run bench -- --ops.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const N = Number(process.env.BENCH_STATES ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PARENT = 'microvms/benchops';
const DIR = '/var/lib/benchops';
const ENV = `VM_STATE_DATASET=benchops VM_STATE_STATES_DIR=${DIR}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const lab = (script) =>
  execFileSync(`${ROOT}lab/exec`, ['bash', '-c', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
const timed = (s) =>
  Number(lab(`s=$(date +%s%N); { ${s}; } >/dev/null 2>&1; e=$(date +%s%N); echo $((e - s))`)) / 1e6;

/** Removes the bench's tree; zfs-fuse answers busy for a while after an unmount. */
const destroyTree = () =>
  lab(
    `zfs list ${PARENT} >/dev/null 2>&1 || exit 0; zfs unmount -f ${PARENT} 2>/dev/null; ` +
      `for i in $(seq 1 100); do zfs destroy -r ${PARENT} 2>/dev/null && exit 0; sleep 0.2; done; exit 1`,
  );

execFileSync(`${ROOT}lab/up`, [], { stdio: 'inherit' });
destroyTree();
lab(`zfs create -o mountpoint=${DIR} ${PARENT}`);
console.error(`bench: creating ${N} states...`);
lab(`for i in $(seq -w 1 ${N}); do zfs create ${PARENT}/st$i; done`);
const openZfs = lab('test -d /sys/module/zfs && echo yes || echo no').trim() === 'yes';
const names = lab(`zfs list -H -o name -d 1 ${PARENT} | tail -n +2`).trim().split('\n');

const raw = [];
const ours = [];
let processes = 0;
for (let r = 0; r < ROUNDS; r++) {
  const snaps = names.map((n) => `${n}@raw${r}`);
  raw.push(
    timed(openZfs ? `zfs snapshot ${snaps.join(' ')}` : snaps.map((s) => `zfs snapshot ${s}`).join('; ')),
  );
  // A new period each round (VM_STATE_NOW), a policy that keeps everything: the snapshots alone.
  const now = new Date(Date.UTC(2026, 0, 1, r)).toISOString();
  const env = `${ENV} VM_STATE_NOW=${now} VM_STATE_CONFIG=/tmp/bench-ops.json`;
  lab(`echo '{"policies":{"default":{"latest":1000}}}' > /tmp/bench-ops.json`);
  ours.push(timed(`env ${env} vm-state auto-snapshot`));
}
// Once more in a period of its own, counting the child processes (VM_STATE_TRACE prints each).
processes = lab(
  `env ${ENV} VM_STATE_CONFIG=/tmp/bench-ops.json VM_STATE_NOW=2026-02-01T00:00:00Z VM_STATE_TRACE=1 ` +
    `vm-state auto-snapshot 2>&1 >/dev/null | grep -c '^+ '`,
).trim();
// zfs-fuse answers busy for a while after an unmount.
lab(
  `zfs unmount ${PARENT} 2>/dev/null; for i in $(seq 1 50); do zfs destroy -r ${PARENT} && break; sleep 0.2; done`,
);
console.log(
  `| auto-snapshot, ${N} states (${openZfs ? 'OpenZFS' : 'zfs-fuse'}, lab; median of ${ROUNDS}) | value |`,
);
console.log('|---|---|');
console.log(
  `| raw: ${openZfs ? 'one `zfs snapshot` of all' : `${N} \`zfs snapshot\` calls`} | ${median(raw).toFixed(0)} ms |`,
);
console.log(
  `| \`vm-state auto-snapshot\` (reads, snapshots, policy) | ${median(ours).toFixed(0)} ms (${(median(ours) / median(raw)).toFixed(2)}×) |`,
);
console.log(`| child processes of \`vm-state auto-snapshot\` | ${processes} |`);
