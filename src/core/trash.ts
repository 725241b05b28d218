import type { Config } from '../schemas/config.js';
import { stamp } from './clock.js';
import { VmStateError } from './errors.js';
import type { Facts, SlotFact, StateFact } from './facts.js';
import { isRunning, runningOn } from './facts.js';
import type { Invoker } from './journal.js';
import { parentDataset } from './layout.js';
import { requireZfsFits, untakenName } from './names.js';
import type { Step } from './plan.js';
import { mountStep, rmdirStep } from './steps.js';

/**
 * The trash: a hidden dataset `<parent>/.trash` (canmount=off, made on first use)
 * whose children are deleted states, `<name>.<UTC stamp>`: unmounted, readonly,
 * canmount=noauto, mountpoint none, and `vm-state:trashed` saying what, when and who.
 * A rename keeps the clones of their snapshots working; only `trash purge` destroys.
 */

/** A name no state can have (state names never start with `.`). */
export const TRASH = '.trash';
/** What a trash entry records about itself (JSON: name, at, by). */
export const TRASHED_PROPERTY = 'vm-state:trashed';

export const trashDataset = (c: Config) => `${parentDataset(c)}/${TRASH}`;

/** A deleted state, as the trash holds it; `name` is its id there (`web.20261201T131500Z`). */
export interface TrashEntry extends StateFact {
  /** The state's name when it was deleted. */
  original: string;
  trashedAt: Date | null;
  /** Who deleted it (see whoText); null when the read did not ask (or it was never said). */
  trashedBy: string | null;
}

export interface TrashFact {
  dataset: string;
  exists: boolean;
  /** Bytes the trash holds (its dataset's `used`). */
  used: number;
  /** Oldest first. */
  entries: TrashEntry[];
}

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:-\d+)?$/;

/** `web.20261201T131500Z` -> `web` and its time; null for an id vm-state did not make. */
export function parseEntryId(id: string): { original: string; at: Date } | null {
  const dot = id.lastIndexOf('.');
  const m = dot > 0 ? STAMP.exec(id.slice(dot + 1)) : null;
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  return { original: id.slice(0, dot), at: new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`) };
}

/** A new entry's id for `name` at `at`, not one the trash holds already. */
export function newEntryId(trash: TrashFact | undefined, name: string, at: Date): string {
  return untakenName(`${name}.${stamp(at)}`, trash?.entries.map((e) => e.name) ?? []);
}

/** Who ran the command, in a few words: `root`, `root (sudo from alice, ssh 10.0.0.1 5022)`. */
export function whoText(i: Invoker | undefined): string {
  if (!i) return 'unknown';
  const who = i.user ?? (i.uid === null ? 'unknown' : `uid ${i.uid}`);
  const how = [
    ...(i.sudoUser ? [`sudo from ${i.sudoUser}`] : []),
    ...(i.sshConnection ? [`ssh ${i.sshConnection.split(' ').slice(0, 2).join(' ')}`] : []),
  ];
  return how.length ? `${who} (${how.join(', ')})` : who;
}

/** The trash as read, or the error of a command that needed it read. */
export function trashOf(facts: Facts): TrashFact {
  if (!facts.trash) throw new Error('the trash was not read (the command scope lacks trash: true)');
  return facts.trash;
}

/**
 * Datasets cloned from `ds`'s snapshots that are mounted: zfs-fuse refuses to rename a dataset
 * while one is ("dataset is busy", every time), so they are unmounted around the rename there.
 * A running slot's state cannot be: refused, with what to do instead.
 */
export function clonesToUnmount(facts: Facts, ds: StateFact, doing: string, instead: string): StateFact[] {
  const clones = ds.snapshots.flatMap((s) => s.clones);
  const mounted = [...facts.states.values()].filter((s) => clones.includes(s.dataset) && s.mounted);
  const busy = mounted.flatMap((clone) =>
    runningOn(facts, clone.name)
      .filter((slot: SlotFact) => isRunning(slot.unit))
      .map((slot) => `${slot.name} runs '${clone.name}'`),
  );
  if (busy.length > 0) {
    throw new VmStateError(
      'conflict',
      `Cannot ${doing}: zfs-fuse renames no dataset while a clone of it is mounted, and ` +
        `${busy.join(', ')}, cloned from it`,
      { hint: instead },
    );
  }
  return mounted;
}

/** `zfs set` of one property, undone by setting it back. */
export const setStep = (dataset: string, prop: string, value: string, before: string): Step => ({
  kind: 'zfs',
  argv: ['zfs', 'set', `${prop}=${value}`, dataset],
  undo: ['zfs', 'set', `${prop}=${before}`, dataset],
});

export interface IntoTrash {
  /** The entry's full dataset name. */
  entry: string;
  steps: Step[];
}

/**
 * The steps that move `state` into the trash as entry `id`: unmount (a busy mount fails
 * here, before anything changed), make it readonly, never mounted, recorded, then rename
 * it. Every step has an undo. `unmountClones`: see clonesToUnmount.
 */
export function intoTrashSteps(
  c: Config,
  facts: Facts,
  state: StateFact,
  id: string,
  record: { at: Date; by: string },
  unmountClones: StateFact[],
): IntoTrash {
  const trash = trashDataset(c);
  const entry = requireZfsFits(`${trash}/${id}`);
  const steps: Step[] = [];
  if (!facts.trash?.exists)
    steps.push({
      kind: 'zfs',
      argv: ['zfs', 'create', '-o', 'canmount=off', trash],
      undo: ['zfs', 'destroy', trash],
    });
  steps.push({ kind: 'unmount', dataset: state.dataset });
  // zfs-fuse leaves the empty mountpoint behind; list would show it as a plain-directory state.
  steps.push(rmdirStep(state.mountpoint));
  const said = JSON.stringify({ name: state.name, at: record.at.toISOString(), by: record.by });
  steps.push(
    {
      kind: 'zfs',
      argv: ['zfs', 'set', `${TRASHED_PROPERTY}=${said}`, state.dataset],
      undo: ['zfs', 'inherit', TRASHED_PROPERTY, state.dataset],
    },
    setStep(state.dataset, 'readonly', 'on', state.replicaOf ? 'on' : 'off'),
    setStep(state.dataset, 'canmount', 'noauto', state.replicaOf ? 'noauto' : 'on'),
    setStep(state.dataset, 'mountpoint', 'none', state.mountpoint),
  );
  steps.push(...unmountClones.map((s): Step => ({ kind: 'unmount', dataset: s.dataset })));
  steps.push({
    kind: 'zfs',
    argv: ['zfs', 'rename', state.dataset, entry],
    undo: ['zfs', 'rename', entry, state.dataset],
    retryBusy: true,
  });
  steps.push(...unmountClones.map((s) => mountStep(s.dataset)));
  return { entry, steps };
}
