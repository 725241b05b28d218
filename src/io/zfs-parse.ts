import type { SnapshotFact, StateFact } from '../core/facts.js';

/** The one read of everything: works on OpenZFS 2.x and zfs-fuse alike, and includes snapshots. */
export const ZFS_PROPERTIES = ['type', 'used', 'available', 'referenced', 'origin', 'mountpoint', 'mounted', 'creation'] as const;
export const zfsGetArgv = (parent: string) => [
  'zfs',
  'get',
  '-H',
  '-p',
  '-o',
  'name,property,value',
  ZFS_PROPERTIES.join(','),
  '-r',
  parent,
];

type Prop = (typeof ZFS_PROPERTIES)[number];
type Raw = Partial<Record<Prop, string>>;

const num = (v: string | undefined): number | null => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
const dash = (v: string | undefined): string | null => (v === undefined || v === '-' || v === '' ? null : v);

/**
 * Parses `zfs get -H -p -o name,property,value … -r parent` into states (the
 * direct children of parent) with their snapshots, in the order ZFS lists them
 * (snapshots by creation). Dependent clones come from every dataset's origin,
 * since the `clones` property is missing on older ZFS.
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
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const at = rest.indexOf('@');
    if (at >= 0) {
      const state = rest.slice(0, at);
      if (state.includes('/')) continue;
      snapshots.push({
        name: rest.slice(at + 1),
        state,
        fullName: name,
        created: new Date((num(rec.creation) ?? 0) * 1000),
        used: num(rec.used) ?? 0,
        referenced: num(rec.referenced) ?? 0,
        clones: [],
      });
    } else if (!rest.includes('/') && rec.type === 'filesystem') {
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
        snapshots: [],
      });
    }
  }

  for (const snap of snapshots) {
    snap.clones = clonesOf.get(snap.fullName) ?? [];
    states.get(snap.state)?.snapshots.push(snap);
  }
  return states;
}
