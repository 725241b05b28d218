import type { z } from 'zod';
import type { Config } from '../../schemas/config.js';
import type { ShowOut, SnapshotEntryOut, SnapshotsOut } from '../../schemas/output.js';
import { VmStateError } from '../errors.js';
import { isRunning, slotsUsing, stateFields, statesByName, type Facts, type SnapshotFact } from '../facts.js';
import { stateImageOf } from '../layout.js';
import { MAX_EXISTING, validateName } from '../names.js';

/** The read-only views `snapshots` and `show`: pure functions of the facts, like the planners. */

/** `pool/parent/name` -> `name` when it is a state (a direct child of the parent), else null. */
export function stateOfDataset(facts: Facts, dataset: string): string | null {
  const prefix = `${facts.parent}/`;
  if (!dataset.startsWith(prefix)) return null;
  const rest = dataset.slice(prefix.length);
  return rest.includes('/') || rest.includes('@') ? null : rest;
}

export function snapshotEntry(facts: Facts, s: SnapshotFact): z.input<typeof SnapshotEntryOut> {
  return {
    name: s.name,
    state: s.state,
    fullName: s.fullName,
    created: s.created.toISOString(),
    used: s.used,
    referenced: s.referenced,
    clones: s.clones,
    clonedStates: s.clones.map((d) => stateOfDataset(facts, d)).filter((x): x is string => x !== null),
  };
}

function requireState(facts: Facts, name: string) {
  const state = facts.states.get(name);
  if (!state) throw new VmStateError('not-found', `State '${name}' doesn't exist`, { hint: 'See the states with: vm-state list' });
  return state;
}

/**
 * Every snapshot (of one state, or of all), newest last. ZFS lists a state's
 * snapshots in creation order; across states the creation time (whole
 * seconds) decides, ties keep that order.
 */
export function viewSnapshots(_c: Config, state?: string): (facts: Facts) => z.input<typeof SnapshotsOut> {
  if (state !== undefined) validateName('state', state, MAX_EXISTING);
  return (facts) => {
    const snaps = state === undefined ? statesByName(facts).flatMap((s) => s.snapshots) : requireState(facts, state).snapshots;
    const ordered = snaps.map((s, i) => ({ s, i })).sort((a, b) => a.s.created.getTime() - b.s.created.getTime() || a.i - b.i);
    return { state: state ?? null, snapshots: ordered.map(({ s }) => snapshotEntry(facts, s)) };
  };
}

export interface ImageInfo {
  exists: boolean;
  size: number | null;
  allocated: number | null;
}

/** Everything about one state; `readImage` is how its data.img is looked at (the one I/O, injected). */
export function viewShow(c: Config, name: string): (facts: Facts, readImage: (path: string) => ImageInfo) => z.input<typeof ShowOut> {
  validateName('state', name, MAX_EXISTING);
  return (facts, readImage) => {
    const s = requireState(facts, name);
    const image = stateImageOf(c, name, s);
    const clones = s.snapshots.flatMap((snap) =>
      snap.clones.map((d) => ({ dataset: d, state: stateOfDataset(facts, d), snapshot: snap.name })),
    );
    const origin = s.origin;
    return {
      ...stateFields(s),
      originState: origin ? stateOfDataset(facts, origin.split('@')[0]!) : null,
      clones,
      snapshots: s.snapshots.map((x) => snapshotEntry(facts, x)),
      slots: slotsUsing(facts, name).map((slot) => ({
        name: slot.name,
        unit: slot.unit.unit,
        explicit: slot.explicit,
        running: isRunning(slot.unit),
        activeState: slot.unit.activeState,
        disk: { ...slot.link, pointsHere: slot.link.kind === 'symlink' && slot.link.target === image },
      })),
      image: { path: image, ...readImage(image) },
    };
  };
}
