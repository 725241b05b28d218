import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSchema, type Config } from '../../src/schemas/config.js';
import { RecordingRunner } from './recording-runner.js';
import type { RunResult } from '../../src/io/runner.js';
import { ZFS_PROPERTIES } from '../../src/io/zfs-parse.js';

/** A snapshot by name, or with its used bytes and creation time (seconds since the epoch) chosen. */
export type SnapshotSpec = string | { name: string; used?: number; created?: number };

export interface StateSpec {
  name: string;
  snapshots?: SnapshotSpec[];
  /** pool/.../state@snap this state was cloned from */
  origin?: string;
  mounted?: boolean;
  /** Where it is mounted; default statesDir/<name>. */
  mountpoint?: string;
}

/** `zfs get -H -p -o name,property,value … -r parent` text as OpenZFS 2.x prints it. */
export function zfsGetText(
  parent: string,
  statesDir: string,
  states: StateSpec[],
  {
    t0 = 1_764_000_000,
    used = 2048,
    referenced = 1024,
  }: { t0?: number; used?: number; referenced?: number } = {},
): string {
  const rows: string[] = [];
  const add = (name: string, props: Record<string, string | number>) => {
    for (const [k, v] of Object.entries(props)) rows.push(`${name}\t${k}\t${v}`);
  };
  add(parent, {
    type: 'filesystem',
    used: 1000,
    available: 9000,
    referenced: 100,
    origin: '-',
    mountpoint: statesDir,
    mounted: 'yes',
    creation: t0,
  });
  let t = t0;
  for (const s of states) {
    const ds = `${parent}/${s.name}`;
    add(ds, {
      type: 'filesystem',
      used,
      available: 9000,
      referenced,
      origin: s.origin ?? '-',
      mountpoint: s.mountpoint ?? `${statesDir}/${s.name}`,
      mounted: s.mounted === false ? 'no' : 'yes',
      creation: ++t,
    });
    for (const spec of s.snapshots ?? []) {
      const snap = typeof spec === 'string' ? { name: spec } : spec;
      add(`${ds}@${snap.name}`, {
        type: 'snapshot',
        used: snap.used ?? 0,
        available: '-',
        referenced,
        origin: '-',
        mountpoint: '-',
        mounted: '-',
        creation: snap.created ?? ++t,
      });
    }
  }
  return `${rows.join('\n')}\n`;
}

export function systemctlShowText(
  units: string[],
  running: readonly string[],
  startedAtMicros: Record<string, number> = {},
): string {
  return units
    .map((u) => {
      const on = running.includes(u);
      return [
        `Id=${u}`,
        'LoadState=loaded',
        `ActiveState=${on ? 'active' : 'inactive'}`,
        `SubState=${on ? 'running' : 'dead'}`,
        `MainPID=${on ? 4242 : 0}`,
        'Result=success',
        `InactiveExitTimestampMonotonic=${startedAtMicros[u] ?? 0}`,
      ].join('\n');
    })
    .join('\n\n');
}

/**
 * A throw-away hypervisor layout in a temp dir (states dir, slot dirs,
 * assignments file) with a recording runner that answers the reads from
 * `states` and `running`, as the real zfs and systemctl would.
 */
export function makeWorld(
  opts: {
    states?: StateSpec[];
    running?: string[];
    assignments?: Record<string, string>;
    /** When each running slot's unit began to start (CLOCK_MONOTONIC µs); default unknown (0). */
    startedAtMicros?: Record<string, number>;
  } = {},
) {
  const root = mkdtempSync(join(tmpdir(), 'vm-state-test-'));
  const config: Config = ConfigSchema.parse({
    statesDir: join(root, 'states'),
    slotsDir: join(root, 'microvms'),
    assignmentsFile: join(root, 'etc', 'assignments.json'),
    lockFile: join(root, 'run', 'vm-state.lock'),
    runDir: join(root, 'run', 'vm-state'),
    owner: 'root',
    group: 'root',
  });
  mkdirSync(config.statesDir, { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'run'), { recursive: true }); // /run exists on every host
  for (const s of opts.states ?? []) mkdirSync(join(config.statesDir, s.name), { recursive: true });
  if (opts.assignments) writeFileSync(config.assignmentsFile, JSON.stringify(opts.assignments));
  const parent = `${config.pool}/${config.dataset}`;
  const states = opts.states ?? [];
  // Units start and stop as systemctl is told (a failed call changes nothing).
  const running = new Set((opts.running ?? []).map((s) => `microvm@${s}.service`));
  const startedAt: Record<string, number> = Object.fromEntries(
    Object.entries(opts.startedAtMicros ?? {}).map(([s, us]) => [`microvm@${s}.service`, us]),
  );
  const runner: RecordingRunner = new RecordingRunner()
    // zfs create/clone make the mountpoint directory, as the real ones do.
    .respond((argv) => {
      if (argv[0] === 'zfs' && (argv[1] === 'create' || argv[1] === 'clone')) {
        const mp = argv.find((a) => a.startsWith('mountpoint='));
        if (mp) mkdirSync(mp.slice('mountpoint='.length), { recursive: true });
      }
      return undefined;
    })
    .respond((argv) =>
      argv[0] === 'zfs' && argv[1] === 'get' && argv.includes('-r')
        ? { stdout: zfsGetText(parent, config.statesDir, states) }
        : undefined,
    )
    // A scoped read (`-d 0|1` of some datasets) is answered from what `-r` of the parent would say, as zfs would.
    .respond((argv) =>
      argv[0] === 'zfs' && argv[1] === 'get' && argv.includes('-d')
        ? scopedZfsGet(runner, argv, parent)
        : undefined,
    )
    .respond((argv) => {
      if (argv[0] !== 'systemctl' || argv[1] !== 'show') return undefined;
      const units = argv.slice(argv.indexOf('--') + 1);
      return { stdout: systemctlShowText(units, [...running], startedAt) };
    })
    .respond((argv) => {
      if (argv[0] === 'systemctl' && argv[1] === 'start') {
        running.add(argv[2]!);
        startedAt[argv[2]!] = Number(process.hrtime.bigint() / 1000n); // as systemd stamps it
      }
      if (argv[0] === 'systemctl' && argv[1] === 'stop') running.delete(argv[2]!);
      return undefined;
    });
  const env = {
    VM_STATE_CONFIG: join(root, 'etc', 'config.json'),
  };
  writeFileSync(env.VM_STATE_CONFIG, JSON.stringify(config));
  return { root, config, runner, env, parent, running, runningBefore: [...running] };
}

/**
 * Answers `zfs get -H -p -o name,property,value PROPS -d N DATASETS…` from the
 * runner's own answer to `-r` of the parent: the datasets and, at depth 1, their
 * children and snapshots; `clones` derived from the origins; a dataset not there
 * is "cannot open" on stderr with exit 1, as zfs reports it while printing the rest.
 */
export function scopedZfsGet(
  runner: RecordingRunner,
  argv: readonly string[],
  parent: string,
): Partial<RunResult> {
  const props = argv[argv.indexOf('name,property,value') + 1]!.split(',');
  const depth = Number(argv[argv.indexOf('-d') + 1]);
  const targets = argv.slice(argv.indexOf('-d') + 2);
  const full = runner.answer([
    ...argv
      .slice(0, argv.indexOf('-d'))
      .map((a, i) => (i === argv.indexOf('name,property,value') + 1 ? ZFS_PROPERTIES.join(',') : a)),
    '-r',
    parent,
  ]);
  if (full.exitCode !== 0) return full;
  const rows = full.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t') as [string, string, string]);
  const names = new Set(rows.map(([n]) => n));
  const clonesOf = new Map<string, string[]>();
  for (const [n, p, v] of rows)
    if (p === 'origin' && v !== '-') clonesOf.set(v, [...(clonesOf.get(v) ?? []), n]);
  const within = (n: string, t: string) =>
    n === t ||
    (depth >= 1 &&
      (n.startsWith(`${t}@`) || (n.startsWith(`${t}/`) && !n.slice(t.length + 1).includes('/'))));
  const out: string[] = [];
  const missing: string[] = [];
  for (const t of targets) {
    if (!names.has(t)) {
      missing.push(`cannot open '${t}': dataset does not exist`);
      continue;
    }
    for (const n of [...names].filter((x) => within(x, t))) {
      for (const p of props) {
        const v =
          p === 'clones'
            ? n.includes('@')
              ? (clonesOf.get(n) ?? []).join(',')
              : '-'
            : rows.find((r) => r[0] === n && r[1] === p)?.[2];
        if (v !== undefined) out.push(`${n}\t${p}\t${v}`);
      }
    }
  }
  return {
    stdout: out.map((l) => `${l}\n`).join(''),
    stderr: missing.join('\n'),
    exitCode: missing.length ? 1 : 0,
  };
}

/** Sends `signal` to this process once, when the first `<tool> <verb>` call runs: Ctrl-C in the middle of a plan. */
export function signalAtFirst(
  w: ReturnType<typeof makeWorld>,
  verb: string,
  signal: NodeJS.Signals = 'SIGINT',
): void {
  let sent = false;
  w.runner.respond((argv) => {
    if (argv[1] === verb && !sent) {
      sent = true;
      process.emit(signal, signal);
    }
    return undefined;
  });
}
