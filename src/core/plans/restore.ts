import type { Config } from '../../schemas/config.js';
import { VmStateError } from '../errors.js';
import { allSnapshots } from '../facts.js';
import { validateName, parseSnapshotRef } from '../names.js';
import type { Decide } from '../plan.js';
import { cloneSteps } from './clone.js';
import { requireAbsent, requireParent } from './guards.js';

/** `restore snap new` or `restore state@snap new`: a plain clone of the one matching snapshot. */
export function planRestore(c: Config, ref: string, newState: string): Decide {
  const want = parseSnapshotRef(ref);
  validateName('state', newState);
  return (facts) => {
    requireParent(facts, c);
    const matches = allSnapshots(facts).filter((s) => s.name === want.snapshot && (want.state === undefined || s.state === want.state));
    if (matches.length === 0) {
      throw new VmStateError('not-found', `Snapshot '${ref}' not found`, { hint: 'See the snapshots with: vm-state list' });
    }
    if (matches.length > 1) {
      const options = matches.map((s) => `${s.state}@${s.name}`);
      throw new VmStateError('usage', `Snapshot name '${want.snapshot}' is ambiguous: ${options.join(', ')}`, {
        hint: `Say which one, e.g.: vm-state restore ${options[0]} ${newState}`,
        details: { candidates: options },
      });
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
