import type { Config } from '../schemas/config.js';
import { VmStateError } from '../core/errors.js';
import { isRunning, runningOn, type Facts } from '../core/facts.js';
import { requireDataset, requireNotRunningElsewhere, slotFact } from '../core/guards.js';
import { requireZfsFits, validateName, validateSlot } from '../core/names.js';
import type { Plan } from '../core/plan.js';
import { snapshotStep, startStep, stopStep } from '../core/steps.js';
import type { MutationSpec } from './spec.js';
import { stateOfSlot } from '../core/layout.js';

/** The snapshot `snap` of `slot`'s state, checked: the state must be a dataset without that snapshot. */
function target(c: Config, facts: Facts, slot: string, snap: string) {
  const s = slotFact(facts, slot);
  const state = requireDataset(facts, s.state, `State '${s.state}' (assigned to ${slot}) - state`);
  if (state.snapshots.some((x) => x.name === snap)) {
    throw new VmStateError('exists', `Snapshot ${state.dataset}@${snap} already exists`, {
      hint: 'Pick another snapshot name',
    });
  }
  return { slot: s, state, full: requireZfsFits(`${state.dataset}@${snap}`) };
}

/** While the slot runs: crash-consistent, and said so. */
function snapshotRunning(c: Config, facts: Facts, slot: string, snap: string): Plan {
  const { state, full } = target(c, facts, slot, snap);
  // Whichever slot runs the state, a snapshot taken under it is only crash-consistent.
  const runners = runningOn(facts, state.name);
  const warnings = runners.map((o) => `${o.name} is running - snapshot will be crash-consistent`);
  if (runners.length)
    warnings.push(
      `For a clean snapshot, stop the slot first: systemctl stop ${runners.map((o) => o.unit.unit).join(' ')}`,
    );
  return {
    summary: `Snapshot state '${state.name}' (from ${slot}) as '${snap}'`,
    steps: [snapshotStep(full)],
    warnings,
    notes: [`Snapshot created: ${full}`],
  };
}

/**
 * `--stop`: a clean snapshot. Stops the slot if it runs, snapshots, starts it
 * again. If the snapshot fails, the executor's undo of the stop starts the slot
 * again; if the start fails, the snapshot (which is good) is kept and the start
 * is tried once more by that same undo.
 */
function snapshotStopped(c: Config, facts: Facts, slot: string, snap: string): Plan {
  const { slot: s, state, full } = target(c, facts, slot, snap);
  // Another running slot on this state would write during the snapshot (and block the restart): refuse.
  requireNotRunningElsewhere(facts, s.state, slot);
  const summary = `Snapshot state '${state.name}' (from ${slot}) as '${snap}'`;
  const created = `Snapshot created: ${full}`;
  if (!isRunning(s.unit)) {
    return {
      summary,
      steps: [snapshotStep(full)],
      warnings: [],
      notes: [created, `${slot} was not running; left it stopped`],
    };
  }
  const switching =
    s.startedOn && s.startedOn !== s.state
      ? [`${slot} runs '${s.startedOn}' but is assigned '${s.state}': it will come back on '${s.state}'`]
      : [];
  const unit = s.unit.unit;
  return {
    summary: `${summary}, with ${slot} stopped`,
    // No undo for the snapshot: if the start fails, the snapshot is still a good one.
    steps: [
      stopStep(unit, slot, s.state),
      snapshotStep(full, { keep: true }),
      startStep(unit, slot, s.state),
    ],
    warnings: [`${slot} will be stopped for the snapshot and started again`, ...switching],
    notes: [created, `${slot} is running again`],
  };
}

export const snapshot: MutationSpec = {
  kind: 'mutation',
  name: 'snapshot',
  args: [
    { name: 'slot', kind: 'slot' },
    { name: 'name', kind: 'snapshot' },
  ],
  options: [
    {
      flags: '--stop',
      description: 'stop the slot for a clean snapshot, then start it again if it was running',
    },
  ],
  description: 'snapshot the state assigned to a slot (crash-consistent while it runs)',
  readme: [
    {
      usage: '`vm-state snapshot <slot> <snap>`',
      text: "snapshots the slot's state as `<dataset>@<snap>`; warns that a running slot gives a crash-consistent snapshot",
    },
    {
      usage: '`vm-state snapshot <slot> <name> --stop`',
      text: 'a consistent snapshot: stop the slot, snapshot, start it again (also when the snapshot fails)',
    },
  ],
  scope: (input, assignments) => ({ names: [stateOfSlot(assignments, String(input.slot))] }),
  plan: (c, input) => {
    const slot = validateSlot(String(input.slot), c.slots);
    const snap = validateName('snapshot', String(input.name));
    return (facts) => (input.stop ? snapshotStopped : snapshotRunning)(c, facts, slot, snap);
  },
};
