import type { Config } from '../../schemas/config.js';
import { bytesText } from '../bytes.js';
import { VmStateError } from '../errors.js';
import type { Facts, SnapshotFact } from '../facts.js';
import { parseSnapshotRef } from '../names.js';
import type { Decide } from '../plan.js';
import { requireDataset } from './guards.js';

const lastPart = (dataset: string) => dataset.slice(dataset.lastIndexOf('/') + 1);

/** The snapshot `state@name` names, or the error an operator should see. */
export function findSnapshot(facts: Facts, state: string, name: string): SnapshotFact {
  const s = requireDataset(facts, state);
  const snap = s.snapshots.find((x) => x.name === name);
  if (!snap) {
    throw new VmStateError('not-found', `Snapshot '${state}@${name}' not found`, {
      hint: `See the snapshots with: vm-state snapshots ${state}`,
    });
  }
  return snap;
}

/** Refuses, listing them, when states were cloned from `snap`: destroying it would need `-R`, which destroys them too. */
export function requireNoClones(snap: SnapshotFact, what = `Snapshot '${snap.state}@${snap.name}'`): void {
  if (snap.clones.length === 0) return;
  const names = snap.clones.map(lastPart);
  throw new VmStateError('conflict', `${what} has dependent clones: ${names.join(', ')}`, {
    hint: `They were cloned from it; delete them first (vm-state delete ${names[0]}) or keep the snapshot`,
    details: { snapshot: snap.fullName, clones: snap.clones },
  });
}

/** `snapshot delete state@name`: one `zfs destroy` of a snapshot nothing depends on. */
export function planSnapshotDelete(_c: Config, ref: string): Decide {
  const want = parseSnapshotRef(ref);
  if (want.state === undefined) {
    throw new VmStateError('usage', `Say which state's snapshot to delete: <state>@${want.snapshot}`, {
      hint: `See the snapshots named '${want.snapshot}' with: vm-state snapshots`,
    });
  }
  const state = want.state;
  return (facts) => {
    const snap = findSnapshot(facts, state, want.snapshot);
    requireNoClones(snap);
    return {
      summary: `Delete snapshot ${state}@${snap.name} (${snap.fullName}), reclaiming ${bytesText(snap.used)}`,
      steps: [{ kind: 'zfs', argv: ['zfs', 'destroy', snap.fullName], retryBusy: true, frees: snap.used }],
      warnings: [],
      notes: [`Snapshot ${state}@${snap.name} deleted, ${bytesText(snap.used)} reclaimed`],
    };
  };
}
