// Benchmark (not a test) of vm-state send between the lab pair (vmstate-lab -> vmstate-peer,
// zfs-fuse, ssh over a unix socket): the throughput of `vm-state send` of a state of
// BENCH_MIB MiB (default 1024) against the raw `zfs snapshot; zfs send | ssh | zfs receive`
// of the same data, interleaved round by round; the same for a 1 MiB state (the fixed cost);
// the bytes an incremental sends after 1 MiB changed; and the downtime of
// `migrate <state> peer:<slot>`. Run: npm run bench -- --replication.
// Both labs need room for the state twice: LAB_POOL_SIZE (lab/up) at least 3 x BENCH_MIB.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MIB = Number(process.env.BENCH_MIB ?? 1024);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const P = 'microvms/storage/states';
const STATES = '/var/lib/microvms/states';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const inLab = (lab, script) =>
  execFileSync(`${ROOT}lab/exec`, ['bash', '-c', script], {
    encoding: 'utf8',
    env: { ...process.env, LAB_NAME: lab },
    maxBuffer: 64 * 1024 * 1024,
  });
const here = (s) => inLab('vmstate-lab', s);
const there = (s) => inLab('vmstate-peer', s);
/** Seconds a snippet takes, timed inside the lab. */
const timed = (s) =>
  Number(here(`s=$(date +%s%N); { ${s}; } >/dev/null; e=$(date +%s%N); echo $((e - s))`)) / 1e9;
/** Drops a received copy there (holds released first: a held snapshot cannot be destroyed). */
const drop = (name) =>
  there(
    `for s in $(zfs list -H -t snapshot -o name -r ${P}/${name} 2>/dev/null); do ` +
      `zfs release vm-state:replica "$s" 2>/dev/null; done; zfs unmount ${P}/${name} 2>/dev/null; ` +
      // zfs-fuse answers busy for a while after an unmount.
      `for i in $(seq 1 50); do zfs destroy -r ${P}/${name} 2>/dev/null && break; sleep 0.2; done; ` +
      `! zfs list ${P}/${name} >/dev/null 2>&1`,
  );

for (const lab of ['vmstate-lab', 'vmstate-peer'])
  execFileSync(`${ROOT}lab/up`, [], { stdio: 'inherit', env: { ...process.env, LAB_NAME: lab } });
for (const lab of ['vmstate-lab', 'vmstate-peer'])
  execFileSync(`${ROOT}lab/reset`, [], { stdio: 'inherit', env: { ...process.env, LAB_NAME: lab } });
const free = Number(there(`zfs get -H -p -o value available ${P}`).trim());
if (free < 2.2 * MIB * 2 ** 20) {
  console.error(
    `bench: the peer has ${Math.round(free / 2 ** 20)} MiB free; BENCH_MIB=${MIB} needs about ${Math.ceil(2.2 * MIB)} (LAB_POOL_SIZE)`,
  );
  process.exit(1);
}

here(
  `vm-state remote add peer vmstate-peer >/dev/null; vm-state create big >/dev/null; vm-state create tiny >/dev/null`,
);
console.error(`bench: writing ${MIB} MiB of random data...`);
here(`dd if=/dev/urandom of=${STATES}/big/data.img bs=1M count=${MIB} status=none; sync; sleep 6`);
here(`dd if=/dev/urandom of=${STATES}/tiny/data.img bs=1M count=1 status=none; sync`);

/** The repl snapshots a send left here, let go and destroyed: the next round is a first send again. */
const forget = (state) =>
  here(
    `for s in $(zfs list -H -t snapshot -o name -r ${P}/${state} | grep vmstate-repl-); do zfs release vm-state:sent-to:peer "$s" 2>/dev/null; zfs destroy "$s"; done`,
  );
/**
 * Raw: what an operator types for the same work, a snapshot of the state's data and one stream
 * of it over the same ssh (no vm-state); vm-state's send takes its own snapshot too.
 */
const rawSend = (state, i) =>
  timed(
    `zfs snapshot ${P}/${state}@raw${i} && zfs send ${P}/${state}@raw${i} | ` +
      `ssh -T -o BatchMode=yes vmstate-peer zfs receive ${P}/rawcopy`,
  );
const raw = [];
const ours = [];
const rawTiny = [];
const oursTiny = [];
for (let i = 0; i < ROUNDS; i++) {
  for (const [state, r, o] of [
    ['big', raw, ours],
    ['tiny', rawTiny, oursTiny],
  ]) {
    r.push(rawSend(state, i));
    here(`zfs destroy ${P}/${state}@raw${i}`);
    drop('rawcopy');
    o.push(timed(`vm-state send ${state} peer:copy`));
    drop('copy');
    forget(state);
    const [a, b] = [r.at(-1), o.at(-1)];
    process.stderr.write(
      `bench: ${state} round ${i + 1}: raw ${a.toFixed(2)} s, vm-state ${b.toFixed(2)} s (${(a / b).toFixed(2)}×)\n`,
    );
  }
}
const rate = (s) => `${Math.round(MIB / s)} MiB/s`;

// Incremental: 1 MiB changed after a send.
here(`vm-state send big peer:copy >/dev/null`);
here(
  `dd if=/dev/urandom of=${STATES}/big/data.img bs=1M count=1 seek=7 conv=notrunc status=none; sync; sleep 6`,
);
const inc = JSON.parse(here(`vm-state --json send big peer:copy`)).send.bytes;
drop('copy');

// Migration downtime: the slot runs the state, then moves to the peer's slot2.
here(`vm-state assign slot1 big >/dev/null; systemctl start microvm@slot1.service`);
const mig = JSON.parse(here(`vm-state --json migrate big peer:slot2`)).migrate.downtimeSeconds;

console.log(`| vm-state send, lab pair (zfs-fuse, ssh over a unix socket; median of ${ROUNDS}) | value |`);
console.log('|---|---|');
console.log(
  `| raw \`zfs send \\| ssh \\| zfs receive\` of ${MIB} MiB | ${median(raw).toFixed(1)} s (${rate(median(raw))}) |`,
);
console.log(
  `| \`vm-state send\` of the same state (full) | ${median(ours).toFixed(1)} s (${rate(median(ours))}) |`,
);
console.log(`| throughput, vm-state ÷ raw | ${(median(raw) / median(ours)).toFixed(2)}× |`);
console.log(
  `| fixed cost: a 1 MiB state, raw → \`vm-state send\` | ${median(rawTiny).toFixed(2)} s → ${median(oursTiny).toFixed(2)} s |`,
);
console.log(`| incremental after 1 MiB changed: bytes sent | ${inc} (${(inc / 2 ** 20).toFixed(2)} MiB) |`);
console.log(
  `| \`migrate big peer:slot2\`: down from the stop here to the start there | ${mig.toFixed(1)} s |`,
);
