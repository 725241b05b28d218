/** Typed facts read from the system before anything is decided. */
import { dirname, resolve } from 'node:path';
import { compareNames } from './names.js';
import type { TrashFact } from './trash.js';

export interface SnapshotFact {
  /** Short name, after the '@'. */
  name: string;
  /** The state it belongs to. */
  state: string;
  /** Full ZFS name: pool/parent/state@name. */
  fullName: string;
  created: Date;
  used: number;
  referenced: number;
  /** Datasets (full names) cloned from this snapshot, derived from every dataset's origin. */
  clones: string[];
  /** The same snapshot on another host has the same guid, whatever its name there. */
  guid: string;
  /** `zfs hold`s on it (userrefs): a held snapshot cannot be destroyed (replication keeps its base so). */
  holds: number;
}

/** Where a state was last sent (the `vm-state:sent` property). */
export interface SentTo {
  remote: string;
  /** The state's name there. */
  name: string;
  /** ISO 8601. */
  at: string;
}

export interface StateFact {
  name: string;
  /** `dataset` is a ZFS filesystem; `directory` is a plain directory under statesDir (not snapshot-able). */
  kind: 'dataset' | 'directory';
  dataset: string;
  mountpoint: string;
  mounted: boolean;
  used: number | null;
  available: number | null;
  referenced: number | null;
  /** Full snapshot name this state was cloned from, or null. */
  origin: string | null;
  created: Date | null;
  /** The dataset's own guid (null: a plain directory): a state destroyed and made again under its name has another. */
  guid: string | null;
  /** Oldest first. */
  snapshots: SnapshotFact[];
  /** `host:state` when this is a replica vm-state received (read-only until promoted). */
  replicaOf: string | null;
  /** When a replica last received (ISO 8601). */
  syncedAt: string | null;
  sentTo: SentTo[];
}

export interface UnitFact {
  unit: string;
  loadState: string;
  activeState: string;
  subState: string;
  mainPid: number;
  result: string;
  /** CLOCK_MONOTONIC µs when the unit last began to start (0: never, or not known). */
  startedAtMicros: number;
}

export interface LinkFact {
  path: string;
  kind: 'symlink' | 'file' | 'missing' | 'other';
  target: string | null;
  /** The link (or file) leads to an existing file. */
  resolves: boolean;
  /** For a symlink, what its target itself is: anything but a file (or nothing yet) means the VM's disk is not in the state. */
  targetKind?: 'file' | 'symlink' | 'directory' | 'other' | 'missing';
}

/** Why a slot's link does not lead straight to an image file inside the state (undefined: it does, or there is none yet). */
export function imageProblem(link: LinkFact): string | undefined {
  if (
    link.kind !== 'symlink' ||
    link.targetKind === undefined ||
    link.targetKind === 'file' ||
    link.targetKind === 'missing'
  )
    return undefined;
  if (link.targetKind === 'symlink')
    return `${link.target} is itself a symbolic link out of the state, so the disk is not in the state`;
  return `${link.target} is ${link.targetKind === 'directory' ? 'a directory' : 'a special file'}, not an image file`;
}

export interface SlotFact {
  name: string;
  state: string;
  /** False when the slot runs the state of its own name because the file has no entry. */
  explicit: boolean;
  unit: UnitFact;
  link: LinkFact;
  /**
   * The state the slot's VM was started on, as recorded at its start. A running
   * slot reassigned since still has that state's image open until it restarts.
   */
  startedOn: string | null;
}

/**
 * Which states a run reads. `all`: every state with its snapshots, in one zfs
 * call (list, doctor). Otherwise only `names` (each with its snapshots), so a
 * command's cost follows its work, not the pool; `clones`: also which datasets
 * were cloned from their snapshots; `related`: also the states they were
 * cloned from and the states cloned from them; `mountpoints`: also every
 * state's mountpoint, for a command that makes a new name (see requireAbsent); `trash`:
 * also the trash's entries, with who deleted them (`all` reads the entries, not who).
 */
export type StateScope =
  'all' | { names: string[]; clones?: boolean; related?: boolean; mountpoints?: boolean; trash?: boolean };

export interface Facts {
  /** pool/parent, e.g. microvms/storage/states. */
  parent: string;
  parentExists: boolean;
  /** The parent dataset is mounted (at statesDir): the states below it are the pool's, not the root filesystem's. */
  parentMounted: boolean;
  /** Bytes free under the parent (its `available`); null when it does not exist. */
  parentAvailable: number | null;
  states: Map<string, StateFact>;
  /** Every state's dataset by its mountpoint, when a scoped read listed them (`mountpoints`). */
  mountpoints?: Map<string, string>;
  /** The deleted states (see core/trash.ts), when the read covered them. */
  trash?: TrashFact;
  slots: SlotFact[];
  assignments: Record<string, string>;
}

export const isRunning = (u: UnitFact) =>
  u.activeState === 'active' ||
  u.activeState === 'activating' ||
  u.activeState === 'reloading' ||
  u.activeState === 'deactivating';

/** States in name order. */
export function statesByName(facts: Facts): StateFact[] {
  return [...facts.states.values()].sort((a, b) => compareNames(a.name, b.name));
}

export function allSnapshots(facts: Facts): SnapshotFact[] {
  return [...facts.states.values()].flatMap((s) => s.snapshots);
}

/**
 * Running slots that may have `state`'s image open. A running slot holds the
 * state it started on (as recorded) and, to be safe when a start went around
 * both vm-state and the start guard, also the state it is assigned.
 */
export function runningOn(facts: Facts, state: string): SlotFact[] {
  return facts.slots.filter((s) => isRunning(s.unit) && (s.state === state || s.startedOn === state));
}

/** Whether a slot's disk link leads into the directory `mountpoint` (a relative link from where it stands). */
export function linkLeadsInto(link: LinkFact, mountpoint: string): boolean {
  return link.target !== null && resolve(dirname(link.path), link.target).startsWith(`${mountpoint}/`);
}

/** Slots whose disk link leads into `state`'s mountpoint, whatever they are assigned. */
export function slotsLinkedInto(facts: Facts, state: StateFact): SlotFact[] {
  return facts.slots.filter((s) => linkLeadsInto(s.link, state.mountpoint));
}

/** `pool/parent/name` -> `name` when it is a state (a direct child of `parent`), else null. */
export function stateNameOf(parent: string, dataset: string): string | null {
  if (!dataset.startsWith(`${parent}/`)) return null;
  const rest = dataset.slice(parent.length + 1);
  return rest.includes('/') || rest.includes('@') ? null : rest;
}

/** A dataset as people call it: the state's name when it is one, else the full name. */
export const datasetShown = (parent: string, dataset: string) => stateNameOf(parent, dataset) ?? dataset;

/** What `list` and `show` say of a state's replication: `replica of hv1:web, synced …`, `sent to peer:web …`. */
export function replicationText(s: {
  replicaOf: string | null;
  syncedAt: string | null;
  sentTo: SentTo[];
}): string {
  const parts: string[] = [];
  if (s.replicaOf) parts.push(`replica of ${s.replicaOf}${s.syncedAt ? `, synced ${s.syncedAt}` : ''}`);
  for (const t of s.sentTo) parts.push(`sent to ${t.remote}:${t.name} ${t.at}`);
  return parts.join('; ');
}

/** A state's data.img as `show` reports it. */
export interface ImageInfo {
  exists: boolean;
  size: number | null;
  allocated: number | null;
}

/** Slots whose state (explicit or implicit) is `state`. */
export function slotsUsing(facts: Facts, state: string): SlotFact[] {
  return facts.slots.filter((s) => s.state === state);
}

/** The fields every document about a state shares (list's entries, show), times as ISO-8601. */
export function stateFields(s: StateFact) {
  return {
    name: s.name,
    kind: s.kind,
    dataset: s.dataset,
    mountpoint: s.mountpoint,
    mounted: s.mounted,
    used: s.used,
    available: s.available,
    referenced: s.referenced,
    origin: s.origin,
    created: s.created?.toISOString() ?? null,
    replicaOf: s.replicaOf,
    syncedAt: s.syncedAt,
    sentTo: s.sentTo,
  };
}
