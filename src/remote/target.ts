import type { Config } from '../schemas/config.js';
import { datasetOf } from '../core/layout.js';
import { getArgv } from '../io/zfs-parse.js';

/** The user properties vm-state keeps on its replicas, and on what it sent. */
export const PROP = {
  /** On a replica: `host:state` it is a copy of. */
  replicaOf: 'vm-state:replica-of',
  /** On a replica: when the last receive into it finished (ISO 8601). */
  synced: 'vm-state:synced',
  /** On a sent state: `remote=name@time` per remote, space-separated. */
  sent: 'vm-state:sent',
} as const;

/** The hold a replica keeps on its newest snapshot, the base of the next send. */
export { REPLICA_HOLD as TARGET_HOLD } from '../core/replication.js';
/** `zfs get` of one target and its snapshots, with what replication needs to know. */
export function targetGetArgv(c: Config, name: string, openZfs: boolean): string[] {
  const props = ['type', 'guid', 'userrefs', 'readonly', 'creation', 'available', PROP.replicaOf];
  // zfs-fuse (pool version 23) has neither resumable receive nor `written`.
  if (openZfs) props.push('receive_resume_token', 'written');
  return getArgv(props, ['-d', '1'], [datasetOf(c, name)]);
}

export interface TargetRecord {
  dataset: string;
  exists: boolean;
  replicaOf: string | null;
  readonly: boolean;
  resumeToken: string | null;
  written: number | null;
  available: number | null;
  snapshots: { name: string; guid: string; created: string; holds: number }[];
}

/** Parses targetGetArgv's output ('' when the dataset does not exist). */
export function parseTarget(c: Config, name: string, stdout: string): TargetRecord {
  const dataset = datasetOf(c, name);
  const rec = new Map<string, Record<string, string>>();
  for (const line of stdout.split('\n')) {
    const [n, prop, value] = line.split('\t');
    if (!n || !prop || value === undefined) continue;
    rec.set(n, { ...rec.get(n), [prop]: value });
  }
  const own = rec.get(dataset);
  const val = (v: string | undefined) => (v === undefined || v === '-' || v === '' ? null : v);
  const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
  const snapshots = [...rec]
    .filter(([n]) => n.startsWith(`${dataset}@`))
    .map(([n, r]) => ({
      name: n.slice(dataset.length + 1),
      guid: r.guid ?? '0',
      created: new Date((num(r.creation) ?? 0) * 1000).toISOString(),
      holds: num(r.userrefs) ?? 0,
      at: num(r.creation) ?? 0,
    }))
    // Oldest first; zfs lists them so, but a received snapshot keeps its own creation time.
    .sort((a, b) => a.at - b.at)
    .map(({ at: _at, ...s }) => s);
  return {
    dataset,
    exists: own !== undefined,
    replicaOf: val(own?.[PROP.replicaOf]),
    readonly: own?.readonly === 'on',
    resumeToken: val(own?.receive_resume_token),
    written: num(own?.written),
    available: num(own?.available),
    snapshots,
  };
}
