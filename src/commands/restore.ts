import type { Config } from '../schemas/config.js';
import { VmStateError } from '../core/errors.js';
import { allSnapshots } from '../core/facts.js';
import { validateName, parseSnapshotRef } from '../core/names.js';
import type { Decide } from '../core/plan.js';
import { requireAbsent, requireParent } from '../core/guards.js';
import { cloneSteps } from '../core/steps.js';
import type { MutationSpec } from './spec.js';

/** `restore snap new` or `restore state@snap new`: a plain clone of the one matching snapshot. */
function planRestore(c: Config, ref: string, newState: string): Decide {
  const want = parseSnapshotRef(ref);
  validateName('state', newState);
  return (facts) => {
    requireParent(facts, c);
    const matches = allSnapshots(facts).filter(
      (s) => s.name === want.snapshot && (want.state === undefined || s.state === want.state),
    );
    if (matches.length === 0) {
      throw new VmStateError('not-found', `Snapshot '${ref}' not found`, {
        hint: 'See the snapshots with: vm-state list',
      });
    }
    if (matches.length > 1) {
      const options = matches.map((s) => `${s.state}@${s.name}`);
      throw new VmStateError(
        'usage',
        `Snapshot name '${want.snapshot}' is ambiguous: ${options.join(', ')}`,
        {
          hint: `Say which one, e.g.: vm-state restore ${options[0]} ${newState}`,
          details: { candidates: options },
        },
      );
    }
    requireAbsent(facts, c, newState);
    const snap = matches[0]!;
    return {
      summary: `Restore snapshot ${snap.fullName} to new state '${newState}'`,
      steps: cloneSteps(c, snap.fullName, newState),
      warnings: [],
      notes: [
        `Snapshot restored to state '${newState}' (from ${snap.fullName})`,
        `Assign it to a slot with: vm-state assign <slot> ${newState}`,
      ],
    };
  };
}

export const restore: MutationSpec = {
  kind: 'mutation',
  name: 'restore',
  args: [
    { name: 'snapshot', kind: 'snapshot-ref' },
    { name: 'new-state', kind: 'new-state' },
  ],
  description: 'clone a snapshot (<snap> or <state>@<snap>) into a new state',
  readme: [
    {
      usage: '`vm-state restore <snap>\\|<state>@<snap> <new>`',
      text: 'clones the snapshot into a new state; refuses an ambiguous name and lists the candidates',
    },
  ],
  scope: (input) => {
    const ref = parseSnapshotRef(String(input.snapshot));
    // A bare snapshot name may be any state's: then every state is read.
    return ref.state === undefined
      ? 'all'
      : { names: [ref.state, String(input.newState)], mountpoints: true };
  },
  plan: (c, input) => planRestore(c, String(input.snapshot), String(input.newState)),
};
