import type { Config } from '../schemas/config.js';
import { datasetOf, diskLinkOf, mountpointOf, slotDirOf } from './layout.js';
import { requireZfsFits } from './names.js';
import type { Step } from './plan.js';

/**
 * The steps planners compose from. Each builder gives its step the traits the
 * executor reads (commit point, tidying, restores service), so no planner has
 * to remember them, and none reworks another planner's steps.
 */

/** Destroys a dataset or snapshot: a commit point (nothing before it is undone). */
export const destroyStep = (target: string, extra: { frees?: number; tidy?: boolean } = {}): Step => ({
  kind: 'zfs',
  argv: ['zfs', 'destroy', target],
  retryBusy: true,
  commit: true,
  ...extra,
});

/** A snapshot, undone by destroying it; `keep`: meant to stay even if a later step fails. */
export const snapshotStep = (full: string, opts: { keep?: boolean } = {}): Step =>
  opts.keep
    ? { kind: 'zfs', argv: ['zfs', 'snapshot', full], keep: true }
    : { kind: 'zfs', argv: ['zfs', 'snapshot', full], undo: ['zfs', 'destroy', full] };

/** `zfs rollback` to the newest snapshot (never -r: rollback keeps newer ones in the trash): a commit point. */
export const rollbackStep = (target: string): Step => ({
  kind: 'zfs',
  argv: ['zfs', 'rollback', target],
  retryBusy: true,
  tolerates: 'drop-caches-notice',
  commit: true,
});

/** Mounts the dataset if it is not mounted; runs even when interrupted past a commit point. */
export const mountStep = (dataset: string, opts: { tidy?: boolean } = {}): Step => ({
  kind: 'ensure-mounted',
  dataset,
  restores: true,
  ...opts,
});

/** Removes a directory zfs left behind, if it is empty: tidying. */
export const rmdirStep = (path: string): Step => ({ kind: 'rmdir', path, tidy: true });

/** Deletes a directory tree (only ever a verified copy's original): a commit point. */
export const removeTreeStep = (path: string): Step => ({ kind: 'remove-tree', path, commit: true });

/** Stops a unit, undone by starting it again on `state`. */
export const stopStep = (unit: string, slot?: string, state?: string): Step => ({
  kind: 'stop',
  unit,
  slot,
  state,
});

/** Starts a unit and records that its VM runs `state`; runs even when interrupted past a commit point. */
export const startStep = (unit: string, slot?: string, state?: string): Step => ({
  kind: 'start',
  unit,
  slot,
  state,
  restores: true,
});

const ownStep = (c: Config, path: string): Step => ({
  kind: 'own',
  path,
  owner: c.owner,
  group: c.group,
  mode: 0o755,
});

/** The steps that make a new, empty, mounted state owned by the VM user. */
export function newStateSteps(c: Config, name: string): Step[] {
  const dataset = requireZfsFits(datasetOf(c, name));
  const mountpoint = mountpointOf(c, name);
  return [
    {
      kind: 'zfs',
      argv: ['zfs', 'create', '-o', `mountpoint=${mountpoint}`, dataset],
      undo: ['zfs', 'destroy', dataset],
      undoLeaves: mountpoint,
      tolerates: 'created-not-mounted',
    },
    mountStep(dataset),
    ownStep(c, mountpoint),
  ];
}

/** `zfs clone` of a snapshot into a new state, mounted and owned; no promote, so the source stays independent. */
export function cloneSteps(c: Config, snapshot: string, dst: string): Step[] {
  const dataset = requireZfsFits(datasetOf(c, dst));
  const mountpoint = mountpointOf(c, dst);
  return [
    {
      kind: 'zfs',
      argv: ['zfs', 'clone', '-o', `mountpoint=${mountpoint}`, snapshot, dataset],
      undo: ['zfs', 'destroy', dataset],
      undoLeaves: mountpoint,
      tolerates: 'created-not-mounted',
    },
    mountStep(dataset),
    ownStep(c, mountpoint),
  ];
}

/** Records `slot -> state` in the assignments file and points the slot's disk link at `image`. */
export function assignSteps(
  c: Config,
  assignments: Record<string, string>,
  slot: string,
  state: string,
  image: string,
): Step[] {
  return [
    { kind: 'write-assignments', file: c.assignmentsFile, assignments: { ...assignments, [slot]: state } },
    { kind: 'mkdir', path: slotDirOf(c, slot) },
    ownStep(c, slotDirOf(c, slot)),
    { kind: 'link', path: diskLinkOf(c, slot), target: image },
  ];
}
