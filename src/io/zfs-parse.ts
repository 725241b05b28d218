import type { SentTo, SnapshotFact, StateFact } from '../core/facts.js';
import { parseEntryId, TRASHED_PROPERTY, type TrashEntry, type TrashFact } from '../core/trash.js';

/** What every read asks for: works on OpenZFS 2.x and zfs-fuse alike, and includes snapshots. */
export const ZFS_PROPERTIES = [
  'type',
  'used',
  'available',
  'referenced',
  'origin',
  'mountpoint',
  'mounted',
  'creation',
  // Replication: which snapshot is which across hosts, what holds it, what is a replica of what.
  'guid',
  'userrefs',
  'vm-state:replica-of',
  'vm-state:synced',
  'vm-state:sent',
] as const;

/** `zfs get` of `props` in parseable form (name, property, value), at `depth`, of `targets`. */
export const getArgv = (props: readonly string[], depth: string[], targets: readonly string[]) => [
  'zfs',
  'get',
  '-H',
  '-p',
  '-o',
  'name,property,value',
  props.join(','),
  ...depth,
  ...targets,
];

/** The one read of everything under the parent. */
export const zfsGetArgv = (parent: string) => getArgv(ZFS_PROPERTIES, ['-r'], [parent]);

/**
 * The states `datasets` with their snapshots (depth 1), and, where the ZFS has
 * it (OpenZFS; zfs-fuse lacks the property), each snapshot's `clones`.
 */
export const zfsGetStatesArgv = (datasets: readonly string[], clones: boolean) =>
  getArgv(clones ? [...ZFS_PROPERTIES, 'clones'] : ZFS_PROPERTIES, ['-d', '1'], datasets);

/** The parent alone (does it exist, is it mounted). */
export const zfsGetParentArgv = (parent: string) => getArgv(ZFS_PROPERTIES, ['-d', '0'], [parent]);

/** Every state's mountpoint, no snapshots: which places in statesDir datasets hold. */
export const zfsGetMountpointsArgv = (parent: string) => getArgv(['mountpoint'], ['-d', '1'], [parent]);

/** A dataset's `available` in `zfs get` text that has it (null: not there); found without splitting the text. */
export const availableOf = (stdout: string, dataset: string) => num(valueOf(stdout, dataset, 'available'));

/** One property's value in `zfs get` text (undefined: not there), found without splitting the text. */
function valueOf(stdout: string, dataset: string, prop: string): string | undefined {
  const key = `${dataset}\t${prop}\t`;
  const at = stdout.startsWith(key) ? 0 : stdout.indexOf(`\n${key}`) + 1;
  if (at === 0 && !stdout.startsWith(key)) return undefined;
  const end = stdout.indexOf('\n', at);
  return stdout.slice(at + key.length, end < 0 ? undefined : end);
}

/** The trash and its entries with their snapshots, and who deleted each (`vm-state:trashed`). */
export const zfsGetTrashArgv = (trash: string, clones: boolean) =>
  getArgv([...ZFS_PROPERTIES, TRASHED_PROPERTY, ...(clones ? ['clones'] : [])], ['-r'], [trash]);

/**
 * The trash in `zfs get` text of it (or of the whole parent): its entries, oldest first, each a
 * state-like fact (snapshots and their clones, as parseZfsGet derives them) with what it recorded.
 */
export function parseTrash(stdout: string, trash: string, statesDir: string): TrashFact {
  const entries = [...parseZfsGet(stdout, trash, statesDir).values()].map((s): TrashEntry => {
    let said: { name?: unknown; at?: unknown; by?: unknown } = {};
    try {
      said = JSON.parse(valueOf(stdout, s.dataset, TRASHED_PROPERTY) ?? '{}') as typeof said;
    } catch {
      // Not one vm-state wrote: the id says the rest.
    }
    const fromId = parseEntryId(s.name);
    const at = typeof said.at === 'string' ? new Date(said.at) : (fromId?.at ?? null);
    return {
      ...s,
      original: typeof said.name === 'string' ? said.name : (fromId?.original ?? s.name),
      trashedAt: at && !Number.isNaN(at.getTime()) ? at : null,
      trashedBy: typeof said.by === 'string' ? said.by : null,
    };
  });
  entries.sort((a, b) => (a.trashedAt?.getTime() ?? 0) - (b.trashedAt?.getTime() ?? 0));
  const type = valueOf(stdout, trash, 'type');
  return {
    dataset: trash,
    exists: type !== undefined,
    used: num(valueOf(stdout, trash, 'used')) ?? 0,
    entries,
  };
}

/** `zfs get … mountpoint` text: dataset by mountpoint (paths only, not `none` or `legacy`). */
export function parseMountpoints(stdout: string): Map<string, string> {
  const byPlace = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [name, prop, value] = line.split('\t');
    if (name && prop === 'mountpoint' && value?.startsWith('/')) byPlace.set(value, name);
  }
  return byPlace;
}

/** Every state's origin, no snapshots: the clones of any snapshot, where ZFS has no `clones` property. */
export const zfsGetOriginsArgv = (parent: string) => getArgv(['origin'], ['-d', '1'], [parent]);

/**
 * What a scoped read lists whatever states it names: the parent, and what its guards need
 * of every state (their origins for clones where ZFS has no `clones` property, their
 * mountpoints for a new name). The read and the early start of a view's reads both ask this.
 */
export const scopeListings = (
  parent: string,
  scope: { clones?: boolean; mountpoints?: boolean },
  openZfs: boolean,
) => ({
  parent: zfsGetParentArgv(parent),
  origins: scope.clones && !openZfs ? zfsGetOriginsArgv(parent) : undefined,
  mountpoints: scope.mountpoints ? zfsGetMountpointsArgv(parent) : undefined,
});

/** The datasets a `zfs get` of several names said do not exist (it reads the others, and exits 1). */
export function missingDatasets(stderr: string): { missing: string[]; other: string } {
  const missing: string[] = [];
  const other = stderr
    .split('\n')
    .filter((line) => {
      const m = /^cannot open '([^']+)': dataset does not exist$/.exec(line.trim());
      if (m) missing.push(m[1]!);
      return !m && line.trim() !== '';
    })
    .join('\n');
  return { missing, other };
}

type Prop = (typeof ZFS_PROPERTIES)[number] | 'clones';
type Raw = Partial<Record<Prop, string>>;

const num = (v: string | undefined): number | null => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
const dash = (v: string | undefined): string | null => (v === undefined || v === '-' || v === '' ? null : v);

/** `vm-state:sent`: `remote=name@time` entries, space-separated (see remote/target.ts). */
export function parseSent(value: string | null): SentTo[] {
  if (value === null) return [];
  return value.split(' ').flatMap((entry) => {
    const m = /^([^=]+)=([^@]+)@(.+)$/.exec(entry);
    return m ? [{ remote: m[1]!, name: m[2]!, at: m[3]! }] : [];
  });
}

export const formatSent = (entries: readonly SentTo[]) =>
  entries.map((e) => `${e.remote}=${e.name}@${e.at}`).join(' ');

/**
 * Parses `zfs get -H -p -o name,property,value … -r parent` into states (the
 * direct children of parent) with their snapshots, in the order ZFS lists them
 * (snapshots by creation). Dependent clones come from every dataset's origin
 * read, and from the `clones` property where it was read (zfs-fuse lacks it).
 */
export function parseZfsGet(stdout: string, parent: string, statesDir: string): Map<string, StateFact> {
  const records = new Map<string, Raw>();
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const t1 = line.indexOf('\t');
    const t2 = line.indexOf('\t', t1 + 1);
    if (t1 < 0 || t2 < 0) continue;
    const name = line.slice(0, t1);
    const prop = line.slice(t1 + 1, t2) as Prop;
    const value = line.slice(t2 + 1);
    let rec = records.get(name);
    if (!rec) records.set(name, (rec = {}));
    rec[prop] = value;
  }

  const prefix = `${parent}/`;
  const states = new Map<string, StateFact>();
  const snapshots: SnapshotFact[] = [];
  const clonesOf = new Map<string, string[]>();

  for (const [name, rec] of records) {
    const origin = dash(rec.origin);
    if (origin) clonesOf.set(origin, [...(clonesOf.get(origin) ?? []), name]);
    // OpenZFS lists a snapshot's clones itself (comma-separated), also those outside what was read.
    for (const clone of dash(rec.clones)?.split(',') ?? []) {
      if (!clonesOf.get(name)?.includes(clone)) clonesOf.set(name, [...(clonesOf.get(name) ?? []), clone]);
    }
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const at = rest.indexOf('@');
    if (at >= 0) {
      const state = rest.slice(0, at);
      if (state.includes('/') || state.startsWith('.')) continue;
      snapshots.push({
        name: rest.slice(at + 1),
        state,
        fullName: name,
        created: new Date((num(rec.creation) ?? 0) * 1000),
        used: num(rec.used) ?? 0,
        referenced: num(rec.referenced) ?? 0,
        clones: [],
        guid: rec.guid ?? '0',
        holds: num(rec.userrefs) ?? 0,
      });
    } else if (!rest.includes('/') && !rest.startsWith('.') && rec.type === 'filesystem') {
      // A name starting with `.` is no state's (the trash, see core/trash.ts).
      // `none` and `legacy` are not paths: such a state lives where vm-state would mount it.
      const mp = dash(rec.mountpoint);
      const mountpoint = mp === 'none' || mp === 'legacy' ? null : mp;
      states.set(rest, {
        name: rest,
        kind: 'dataset',
        dataset: name,
        mountpoint: mountpoint ?? `${statesDir}/${rest}`,
        mounted: rec.mounted === 'yes',
        used: num(rec.used),
        available: num(rec.available),
        referenced: num(rec.referenced),
        origin,
        created: num(rec.creation) === null ? null : new Date(num(rec.creation)! * 1000),
        guid: rec.guid ?? null,
        snapshots: [],
        replicaOf: dash(rec['vm-state:replica-of']),
        syncedAt: dash(rec['vm-state:synced']),
        sentTo: parseSent(dash(rec['vm-state:sent'])),
      });
    }
  }

  for (const snap of snapshots) {
    snap.clones = clonesOf.get(snap.fullName) ?? [];
    states.get(snap.state)?.snapshots.push(snap);
  }
  return states;
}
