import type { Config } from '../schemas/config.js';
import { bytesText } from '../core/bytes.js';
import { VmStateError } from '../core/errors.js';
import { parseSnapshotRef } from '../core/names.js';
import type { Decide } from '../core/plan.js';
import { findSnapshot, requireNoClones, requireNotHeld } from '../core/guards.js';
import { destroyStep } from '../core/steps.js';
import type { MutationSpec } from './spec.js';

/** `snapshot delete state@name`: one `zfs destroy` of a snapshot nothing depends on. */
function planSnapshotDelete(_c: Config, ref: string): Decide {
  const want = parseSnapshotRef(ref);
  if (want.state === undefined) {
    throw new VmStateError('usage', `Say which state's snapshot to delete: <state>@${want.snapshot}`, {
      hint: `See the snapshots named '${want.snapshot}' with: vm-state snapshots`,
    });
  }
  const state = want.state;
  return (facts) => {
    const snap = findSnapshot(facts, state, want.snapshot);
    requireNoClones(facts, snap);
    requireNotHeld(snap);
    return {
      summary: `Delete snapshot ${state}@${snap.name} (${snap.fullName}), reclaiming ${bytesText(snap.used)}`,
      steps: [destroyStep(snap.fullName, { frees: snap.used })],
      warnings: [],
      notes: [`Snapshot ${state}@${snap.name} deleted, ${bytesText(snap.used)} reclaimed`],
    };
  };
}

export const snapshotDelete: MutationSpec = {
  kind: 'mutation',
  name: 'snapshot delete',
  agent: { destructive: true },
  args: [{ name: 'snapshot', kind: 'snapshot-ref' }],
  description: 'delete a snapshot, <state>@<snap> (refused while states were cloned from it)',
  readme: [
    {
      usage: '`vm-state snapshot delete <state>@<snap>`',
      text: 'deletes a snapshot; refused while states were cloned from it; `--dry-run` shows what it frees',
    },
  ],
  scope: (input) => ({ names: [parseSnapshotRef(String(input.snapshot)).state ?? ''], clones: true }),
  plan: (c, input) => planSnapshotDelete(c, String(input.snapshot)),
};
