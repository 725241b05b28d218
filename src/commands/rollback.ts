import type { Config } from '../schemas/config.js';
import { VmStateError } from '../core/errors.js';
import { isRunning } from '../core/facts.js';
import { parseSnapshotRef, validateSlot } from '../core/names.js';
import type { Decide, Step } from '../core/plan.js';
import { requireDataset, requireNoClones, requireNotRunningElsewhere, slotFact } from '../core/guards.js';
import { mountStep, rollbackStep, startStep, stopStep } from '../core/steps.js';
import type { MutationSpec } from './spec.js';
import { stateOfSlot } from '../core/layout.js';

/**
 * Puts a slot's state back to one of its snapshots, in place: stop the slot if
 * it runs, unmount, `zfs rollback`, mount, start it again. Newer snapshots would be destroyed:
 * refused unless `destroyNewer`, and always when a state was cloned from one.
 */
function planRollback(c: Config, slot: string, ref: string, opts: { destroyNewer?: boolean } = {}): Decide {
  validateSlot(slot, c.slots);
  const want = parseSnapshotRef(ref);
  return (facts) => {
    const s = slotFact(facts, slot);
    if (want.state !== undefined && want.state !== s.state) {
      throw new VmStateError('usage', `${ref} is not a snapshot of ${slot}'s state '${s.state}'`, {
        hint: `Roll back a snapshot of '${s.state}' (vm-state snapshots ${s.state}), or restore this one into a new state: vm-state restore ${ref} <new>`,
      });
    }
    const state = requireDataset(facts, s.state, `State '${s.state}' (assigned to ${slot}) - state`);
    const at = state.snapshots.findIndex((x) => x.name === want.snapshot);
    if (at < 0) {
      throw new VmStateError('not-found', `Snapshot '${state.name}@${want.snapshot}' not found`, {
        hint: `See the snapshots with: vm-state snapshots ${state.name}`,
      });
    }
    const target = state.snapshots[at]!;
    const newer = state.snapshots.slice(at + 1);
    if (newer.length > 0 && !opts.destroyNewer) {
      throw new VmStateError(
        'conflict',
        `Newer snapshots of '${state.name}' exist: ${newer.map((x) => x.name).join(', ')}; rolling back to '${target.name}' destroys them`,
        {
          hint: `Add --destroy-newer to destroy them, or keep them and restore the snapshot into a new state: vm-state restore ${state.name}@${target.name} <new>`,
          details: { newer: newer.map((x) => x.fullName) },
        },
      );
    }
    for (const n of newer)
      requireNoClones(facts, n, `Newer snapshot '${state.name}@${n.name}' (destroyed by the rollback)`);
    requireNotRunningElsewhere(facts, state.name, slot);

    const running = isRunning(s.unit);
    const unit = s.unit.unit;
    // Rolled back while unmounted: nothing holds a file of the old contents, and no
    // cache serves them afterwards (zfs-fuse's does, on a mounted dataset).
    const steps: Step[] = [
      ...(running ? [stopStep(unit, slot, state.name)] : []),
      { kind: 'unmount', dataset: state.dataset },
      rollbackStep(target.fullName, newer.length > 0),
      mountStep(state.dataset),
      ...(running ? [startStep(unit, slot, state.name)] : []),
    ];
    const warnings = [
      `This discards every change to state '${state.name}' since snapshot '${target.name}' (${target.created.toISOString()})`,
    ];
    if (newer.length > 0)
      warnings.push(`and destroys the newer snapshot(s): ${newer.map((x) => x.name).join(', ')}`);
    if (running) warnings.push(`${slot} is running: it will be stopped, and started again afterwards`);
    if (running && s.startedOn && s.startedOn !== s.state) {
      warnings.push(
        `${slot} runs '${s.startedOn}' but is assigned '${s.state}': it will come back on '${s.state}'`,
      );
    }
    return {
      summary: `Roll back state '${state.name}' (${slot}) to snapshot '${target.name}'`,
      steps,
      warnings,
      notes: [
        `State '${state.name}' rolled back to '${target.name}'`,
        ...(running ? [`${slot} is running again`] : []),
      ],
    };
  };
}

export const rollback: MutationSpec = {
  kind: 'mutation',
  name: 'rollback',
  args: [
    { name: 'slot', kind: 'slot' },
    { name: 'snapshot', kind: 'snapshot-ref' },
  ],
  options: [
    {
      flags: '--destroy-newer',
      description: 'also destroy the snapshots newer than the one rolled back to (zfs rollback -r)',
    },
  ],
  description:
    "put the slot's state back to a snapshot (stops and restarts a running slot); asks you to type ROLLBACK",
  readme: [
    {
      usage: '`vm-state rollback <slot> <snap> [--destroy-newer]`',
      text:
        "puts the slot's state back to a snapshot in place (stop, `zfs rollback`, start); refuses newer snapshots " +
        'unless told, and always when they have clones; asks for `ROLLBACK`',
    },
  ],
  confirm: 'ROLLBACK',
  agent: { destructive: true },
  scope: (input, assignments) => ({ names: [stateOfSlot(assignments, String(input.slot))], clones: true }),
  plan: (c, input) =>
    planRollback(c, String(input.slot), String(input.snapshot), {
      destroyNewer: Boolean(input.destroyNewer),
    }),
};
