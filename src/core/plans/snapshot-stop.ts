import type { Config } from '../../schemas/config.js';
import { isRunning } from '../facts.js';
import type { Decide, Step } from '../plan.js';
import { requireNotRunningElsewhere, slotFact } from './guards.js';
import { planSnapshot } from './snapshot.js';

/**
 * `snapshot <slot> <name> --stop`: a clean snapshot. Stops the slot if it runs,
 * snapshots, starts it again. If the snapshot fails, the executor's undo of the
 * stop starts the slot again; if the start fails, the snapshot (which is good)
 * is kept and the start is tried once more by that same undo.
 */
export function planSnapshotStopped(c: Config, slot: string, snap: string): Decide {
  const base = planSnapshot(c, slot, snap);
  return (facts) => {
    const plan = base(facts);
    const s = slotFact(facts, slot);
    const state = s.state;
    // Another running slot on this state would write during the snapshot (and block the restart): refuse.
    requireNotRunningElsewhere(facts, state, slot);
    if (!isRunning(s.unit)) return { ...plan, notes: [...plan.notes, `${slot} was not running; left it stopped`] };
    const switching =
      s.startedOn && s.startedOn !== s.state
        ? [`${slot} runs '${s.startedOn}' but is assigned '${s.state}': it will come back on '${s.state}'`]
        : [];
    const unit = s.unit.unit;
    // No undo for the snapshot: if the start fails, the snapshot is still a good one.
    const snapshotSteps: Step[] = plan.steps.map((st) => {
      if (st.kind !== 'zfs') return st;
      const { undo: _dropped, ...rest } = st;
      return { ...rest, keep: true };
    });
    return {
      summary: `${plan.summary}, with ${slot} stopped`,
      steps: [{ kind: 'stop', unit, slot, state }, ...snapshotSteps, { kind: 'start', unit, slot, state }],
      warnings: [`${slot} will be stopped for the snapshot and started again`, ...switching],
      notes: [...plan.notes, `${slot} is running again`],
    };
  };
}
