import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { it, vi, type TestFunction } from 'vitest';

const LAB = fileURLToPath(new URL('../../lab/', import.meta.url));

/** The lab backend these tests run on: LAB_BACKEND, as lab/up and lab/exec read it (lab/README.md). */
export type Backend = 'fuse' | 'openzfs';
export const backend: Backend = process.env.LAB_BACKEND === 'openzfs' ? 'openzfs' : 'fuse';
/** OpenZFS runs in a QEMU guest under TCG: a vm-state run costs seconds there, not 0.1 s. */
export const slow = backend === 'openzfs';
if (slow) vi.setConfig({ testTimeout: 900_000, hookTimeout: 600_000 });

type It = (name: string, fn: TestFunction, timeout?: number) => void;

/**
 * A test that needs a feature only one backend has (resume tokens, bookmarks: OpenZFS):
 * it runs on that backend and is reported as skipped elsewhere, the reason in its name.
 * `onlyOn('openzfs', 'resume tokens')('a cut receive resumes', async () => ...)`
 */
export function onlyOn(needed: Backend, feature: string): It {
  return (name, fn, timeout) =>
    (backend === needed ? it : it.skip)(`${name} [${needed} only: ${feature}]`, fn, timeout);
}

/**
 * A test left out of the OpenZFS subset for its cost alone (it checks nothing the backend
 * changes: argument parsing, the lock, the launcher): runs on fuse; on OpenZFS it is
 * reported as skipped with the reason in its name, unless LAB_FULL=1 asks for everything.
 */
export function costly(why: string): It {
  const run = backend === 'fuse' || process.env.LAB_FULL === '1';
  return (name, fn, timeout) =>
    (run ? it : it.skip)(run ? name : `${name} [fuse only, costly under TCG: ${why}]`, fn, timeout);
}
export const P = 'microvms/storage/states';
export const STATES = '/var/lib/microvms/states';
export const ASSIGNMENTS = '/etc/vm-state-assignments.json';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

type ShOpts = { input?: string; env?: Record<string, string> };

/** lab/exec in the lab that `labEnv` names (none: the one LAB_NAME and LAB_BACKEND pick). */
async function execIn(labEnv: Record<string, string>, argv: string[], opts: ShOpts): Promise<Ran> {
  const r = await execa(`${LAB}exec`, argv, {
    input: opts.input ?? '',
    reject: false,
    env: { NO_COLOR: '1', ...opts.env, ...labEnv },
  });
  return { code: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Runs a command inside the lab (zfs-fuse container or OpenZFS guest) and returns what it did. */
export const sh = (argv: string[], opts: ShOpts = {}): Promise<Ran> => execIn({}, argv, opts);

/** Runs vm-state in the lab. */
export const vm = (args: string[], opts: { input?: string } = {}) => sh(['vm-state', ...args], opts);

/** Like sh, but the command must succeed. */
export async function ok(argv: string[], opts: { input?: string } = {}): Promise<string> {
  const r = await sh(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/**
 * A shell line that runs `cmd` again while it fails, 25 times 0.2 s at most: zfs-fuse
 * answers "dataset is busy" for a moment after an unmount, as vm-state's own retries know.
 */
export const whileBusy = (cmd: string) =>
  `i=0; until ${cmd}; do i=$((i+1)); [ $i -lt 25 ] || exit 1; sleep 0.2; done`;

export const datasetExists = async (name: string) =>
  (await sh(['zfs', 'list', '-H', '-o', 'name', name])).code === 0;
export const zfsProp = async (name: string, prop: string) =>
  (await ok(['zfs', 'get', '-H', '-o', 'value', prop, name])).trim();
export const activeState = async (slot: string) =>
  (await ok(['systemctl', 'show', '-p', 'ActiveState', '--value', `microvm@${slot}.service`])).trim();
export const readLinkIn = async (path: string) => {
  const r = await sh(['readlink', path]);
  return r.code === 0 ? r.stdout.trim() : null;
};
export async function assignments(): Promise<Record<string, string> | null> {
  const r = await sh(['cat', ASSIGNMENTS]);
  return r.code === 0 ? JSON.parse(r.stdout) : null;
}

/** Everything a test could have changed, for "nothing changed" assertions. */
export async function worldSnapshot(): Promise<string> {
  const zfs = await ok(['zfs', 'list', '-H', '-t', 'all', '-o', 'name,origin,mountpoint', '-r', P]);
  const units = await ok([
    'systemctl',
    'show',
    '-p',
    'ActiveState',
    '--value',
    ...[1, 2, 3, 4, 5].map((i) => `microvm@slot${i}.service`),
  ]);
  const files = await ok([
    'sh',
    '-c',
    `cat ${ASSIGNMENTS} 2>/dev/null; ls -la /var/lib/microvms/slot* 2>/dev/null | grep -v total`,
  ]);
  return `${zfs}\n${units}\n${files}`;
}

/** Back to an empty pool, stopped units, no assignments: every test file starts here. */
export async function resetLab(): Promise<void> {
  const r = await execa(`${LAB}reset`, [], { reject: false });
  if (r.exitCode !== 0) throw new Error(`lab/reset failed: ${r.stderr}`);
}

/**
 * The pair (lab/README.md, "Two labs" and "The pair on OpenZFS"). On fuse: two labs, each with
 * its own zfs-fuse, pool `microvms` and systemd, linked only by sshd on unix sockets; global-setup
 * brings the peer up with the lab. On OpenZFS: the one guest's two sides, each a hypervisor by
 * configuration: the lab (pool `microvms`) and the peer (pool `microvms-peer`, its own vm-state
 * config, slots, units, sshd and host name). Either way their names are their ssh host names
 * and host names: `ssh vmstate-peer vm-state --version` works from vmstate-lab, and back.
 */
export type LabName = 'vmstate-lab' | 'vmstate-peer';
export const PEER: LabName = 'vmstate-peer';
/** Whether the pair exists: on both backends now (kept for the tests that ask). */
export const hasPeer = true;

/** Runs a command inside the named lab of the pair (`LAB_NAME=<lab> lab/exec`). */
export const shOn = (lab: LabName, argv: string[], opts: ShOpts = {}): Promise<Ran> =>
  execIn({ LAB_NAME: lab }, argv, opts);

/** One lab of the pair, by name: what sh, ok, vm and resetLab are for the default lab. */
export interface Lab {
  name: LabName;
  /**
   * Its pool, states parent and states directory: on fuse the same in both labs as in sh's
   * (`microvms`, P, STATES); on OpenZFS the peer's are its second pool's (`microvms-peer`,
   * `microvms-peer/storage/states`, `/var/lib/microvms-peer/states`). Use these for the peer,
   * not literals, and a test runs on both backends.
   */
  pool: string;
  P: string;
  STATES: string;
  /** Where its slot directories are (`/var/lib/microvms`; the OpenZFS peer's `/var/lib/microvms-peer`). */
  slotsDir: string;
  /** Its vm-state's assignments file (the OpenZFS peer's: `/etc/vm-state-peer/assignments.json`). */
  assignmentsFile: string;
  /** Its vm-state's config file, where `remote add` writes (the OpenZFS peer's: `/etc/vm-state-peer/config.json`). */
  configFile: string;
  /** A slot's unit: `microvm@slot2.service` (the OpenZFS peer's: `microvm-peer@slot2.service`). */
  unit(slot: string): string;
  /**
   * The authorized_keys of this lab's sshd (writable; lab/reset puts the lab's own back): root's
   * on fuse and the OpenZFS lab side, `/etc/ssh/peer/authorized_keys` for the OpenZFS peer.
   */
  authorizedKeys: string;
  sh(argv: string[], opts?: ShOpts): Promise<Ran>;
  /** Like sh, but the command must succeed; its stdout. */
  ok(argv: string[], opts?: ShOpts): Promise<string>;
  vm(args: string[], opts?: { input?: string }): Promise<Ran>;
  datasetExists(name: string): Promise<boolean>;
  zfsProp(name: string, prop: string): Promise<string>;
  /** lab/reset there (it also puts root's ssh files back: test key lines go). */
  reset(): Promise<void>;
}

/** Where a lab keeps what a test reads: the OpenZFS peer is the guest's second side. */
const layoutOf = (name: LabName) =>
  backend === 'openzfs' && name === PEER
    ? {
        pool: 'microvms-peer',
        P: 'microvms-peer/storage/states',
        STATES: '/var/lib/microvms-peer/states',
        slotsDir: '/var/lib/microvms-peer',
        assignmentsFile: '/etc/vm-state-peer/assignments.json',
        configFile: '/etc/vm-state-peer/config.json',
        unit: (slot: string) => `microvm-peer@${slot}.service`,
        authorizedKeys: '/etc/ssh/peer/authorized_keys',
      }
    : {
        pool: 'microvms',
        P,
        STATES,
        slotsDir: '/var/lib/microvms',
        assignmentsFile: ASSIGNMENTS,
        configFile: '/etc/vm-state/config.json',
        unit: (slot: string) => `microvm@${slot}.service`,
        authorizedKeys: '/root/.ssh/authorized_keys',
      };

export function labOn(name: LabName): Lab {
  const run = (argv: string[], opts: ShOpts = {}) => shOn(name, argv, opts);
  const must = async (argv: string[], opts: ShOpts = {}) => {
    const r = await run(argv, opts);
    if (r.code !== 0)
      throw new Error(`[${name}] ${argv.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  return {
    name,
    ...layoutOf(name),
    sh: run,
    ok: must,
    vm: (args, opts = {}) => run(['vm-state', ...args], opts),
    datasetExists: async (ds) => (await run(['zfs', 'list', '-H', '-o', 'name', ds])).code === 0,
    zfsProp: async (ds, prop) => (await must(['zfs', 'get', '-H', '-o', 'value', prop, ds])).trim(),
    reset: async () => {
      const r = await execa(`${LAB}reset`, [], { reject: false, env: { LAB_NAME: name } });
      if (r.exitCode !== 0) throw new Error(`LAB_NAME=${name} lab/reset failed: ${r.stderr}`);
    },
  };
}

/** The peer lab (vmstate-peer): `peer.ok([...])`, `peer.vm([...])`, `peer.datasetExists(...)`. */
export const peer = labOn(PEER);
/** The peer back to its just-booted state, as resetLab does for the lab. */
export const resetPeer = (): Promise<void> => peer.reset();

/**
 * Every hold on the snapshots of `dataset`, by snapshot name: `{ 'vmstate-repl-…': ['vm-state:replica'] }`.
 * OpenZFS only: zfs-fuse cannot list the tags of holds (lab/README.md, "Two labs", traps).
 */
export async function holdsOf(
  run: (argv: string[]) => Promise<string>,
  dataset: string,
): Promise<Record<string, string[]>> {
  const snaps = (await run(['zfs', 'list', '-H', '-t', 'snapshot', '-o', 'name', '-d', '1', dataset]))
    .split('\n')
    .filter(Boolean);
  const out: Record<string, string[]> = {};
  if (snaps.length === 0) return out;
  for (const line of (await run(['zfs', 'holds', '-H', ...snaps])).split('\n').filter(Boolean)) {
    const [snap, tag] = line.split('\t');
    (out[snap!.slice(dataset.length + 1)] ??= []).push(tag!);
  }
  return out;
}

const dropInDir = (unit: string) => `/run/systemd/system/${unit}.service.d`;

/** Adds `[Service]` lines to `unit` (`microvm@slot3`, or the template `microvm@`) as a runtime drop-in, and reloads. */
export async function addDropIn(unit: string, serviceLines: string): Promise<void> {
  await ok(['mkdir', '-p', dropInDir(unit)]);
  await ok(['sh', '-c', `cat > ${dropInDir(unit)}/test.conf`], { input: `[Service]\n${serviceLines}\n` });
  await ok(['systemctl', 'daemon-reload']);
}

export async function removeDropIn(unit: string): Promise<void> {
  await ok(['rm', '-rf', dropInDir(unit)]);
  await ok(['systemctl', 'daemon-reload']);
}

/** Runs `fn` with the drop-in in place, and removes it afterwards whatever happens. */
export async function withDropIn(unit: string, serviceLines: string, fn: () => Promise<void>): Promise<void> {
  await addDropIn(unit, serviceLines);
  try {
    await fn();
  } finally {
    await removeDropIn(unit);
  }
}
