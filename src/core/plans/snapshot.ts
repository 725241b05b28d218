import type { Config } from '../../schemas/config.js';
import { VmStateError } from '../errors.js';
import { runningOn } from '../facts.js';
import { validateName, validateSlot, requireZfsFits } from '../names.js';
import type { Decide } from '../plan.js';
import { requireDataset, slotFact } from './guards.js';

export function planSnapshot(c: Config, slot: string, snap: string): Decide {
  validateSlot(slot, c.slots);
  validateName('snapshot', snap);
  return (facts) => {
    const s = slotFact(facts, slot);
    const state = requireDataset(facts, s.state, `State '${s.state}' (assigned to ${slot}) - state`);
    if (state.snapshots.some((x) => x.name === snap)) {
      throw new VmStateError('exists', `Snapshot ${state.dataset}@${snap} already exists`, { hint: 'Pick another snapshot name' });
    }
    const full = requireZfsFits(`${state.dataset}@${snap}`);
    // Whichever slot runs the state, a snapshot taken under it is only crash-consistent.
    const runners = runningOn(facts, state.name);
    const warnings = runners.map((o) => `${o.name} is running - snapshot will be crash-consistent`);
    if (runners.length)
      warnings.push(`For a clean snapshot, stop the slot first: systemctl stop ${runners.map((o) => o.unit.unit).join(' ')}`);
    return {
      summary: `Snapshot state '${state.name}' (from ${slot}) as '${snap}'`,
      steps: [{ kind: 'zfs', argv: ['zfs', 'snapshot', full], undo: ['zfs', 'destroy', full] }],
      warnings,
      notes: [`Snapshot created: ${full}`],
    };
  };
}
