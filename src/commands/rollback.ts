import type { Config } from '../schemas/config.js';
import { VmStateError } from '../core/errors.js';
import { isRunning, type Facts, type SnapshotFact, type StateFact } from '../core/facts.js';
import { parseSnapshotRef, validateSlot } from '../core/names.js';
import type { Decide, Step } from '../core/plan.js';
import { requireDataset, requireNotRunningElsewhere, slotFact } from '../core/guards.js';
import { mountStep, rollbackStep, startStep, stopStep } from '../core/steps.js';
import { clonesToUnmount, intoTrashSteps, newEntryId, trashOf, whoText } from '../core/trash.js';
import { formatSent } from '../io/zfs-parse.js';
import { isOpenZfs } from '../io/zfs-flavour.js';
import type { MutationSpec } from './spec.js';
import { stateOfSlot } from '../core/layout.js';

interface KeepNewer {
  at: Date;
  by: string;
  /** zfs-fuse: a dataset with a mounted clone cannot be renamed (see clonesToUnmount). */
  renameBusyWithClones: boolean;
}

/**
 * What `zfs rollback -r` would destroy (the newer snapshots, the data as it is), kept in the
 * trash instead: the state is renamed into it, its snapshot `target` cloned back under the
 * state's name and promoted, which moves `target` and every older snapshot (guids unchanged)
 * back to the state. The trash entry keeps the newer snapshots and the data, and clones of
 * them keep working. Every step has an undo.
 */
function keepNewerSteps(
  c: Config,
  facts: Facts,
  state: StateFact,
  target: SnapshotFact,
  keep: KeepNewer,
): { id: string; steps: Step[] } {
  const id = newEntryId(trashOf(facts), state.name, keep.at);
  const clones = keep.renameBusyWithClones
    ? clonesToUnmount(
        facts,
        state,
        `keep the newer snapshots of '${state.name}'`,
        `Stop that slot first, or restore the snapshot into a new state: vm-state restore ${state.name}@${target.name} <new>`,
      )
    : [];
  const { entry, steps } = intoTrashSteps(c, facts, state, id, { at: keep.at, by: keep.by }, clones);
  steps.push(
    {
      kind: 'zfs',
      argv: [
        'zfs',
        'clone',
        '-o',
        `mountpoint=${state.mountpoint}`,
        `${entry}@${target.name}`,
        state.dataset,
      ],
      undo: ['zfs', 'destroy', state.dataset],
      tolerates: 'created-not-mounted',
    },
    { kind: 'zfs', argv: ['zfs', 'promote', state.dataset], undo: ['zfs', 'promote', entry] },
  );
  // The state's own property that vm-state reads: where it was sent (a replica's base is matched by guid).
  if (state.sentTo.length > 0)
    steps.push({
      kind: 'zfs',
      argv: ['zfs', 'set', `vm-state:sent=${formatSent(state.sentTo)}`, state.dataset],
    });
  return { id, steps };
}

/**
 * Puts a slot's state back to one of its snapshots, in place: stop the slot if
 * it runs, unmount, `zfs rollback`, mount, start it again. Newer snapshots would be lost:
 * refused unless `keepNewer` (--destroy-newer), which keeps them in the trash (keepNewerSteps).
 */
function planRollback(c: Config, slot: string, ref: string, opts: { keepNewer?: KeepNewer } = {}): Decide {
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
    if (newer.length > 0 && !opts.keepNewer) {
      throw new VmStateError(
        'conflict',
        `Newer snapshots of '${state.name}' exist: ${newer.map((x) => x.name).join(', ')}; rolling back to '${target.name}' takes them away`,
        {
          hint: `Add --destroy-newer to move them (and the data as it is) into the trash, or restore the snapshot into a new state: vm-state restore ${state.name}@${target.name} <new>`,
          details: { newer: newer.map((x) => x.fullName) },
        },
      );
    }
    requireNotRunningElsewhere(facts, state.name, slot);

    const running = isRunning(s.unit);
    const unit = s.unit.unit;
    const kept =
      newer.length > 0 && opts.keepNewer ? keepNewerSteps(c, facts, state, target, opts.keepNewer) : null;
    // Rolled back while unmounted: nothing holds a file of the old contents, and no
    // cache serves them afterwards (zfs-fuse's does, on a mounted dataset).
    const steps: Step[] = [
      ...(running ? [stopStep(unit, slot, state.name)] : []),
      ...(kept
        ? kept.steps
        : [{ kind: 'unmount', dataset: state.dataset } as Step, rollbackStep(target.fullName)]),
      mountStep(state.dataset),
      ...(running ? [startStep(unit, slot, state.name)] : []),
    ];
    const warnings = [
      `This discards every change to state '${state.name}' since snapshot '${target.name}' (${target.created.toISOString()})`,
    ];
    if (kept)
      warnings.push(
        `The newer snapshot(s) ${newer.map((x) => x.name).join(', ')} and the data as it is now go into the trash as ${kept.id}`,
      );
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
        ...(kept
          ? [
              `The newer snapshot(s) and the data before the rollback are in the trash as ${kept.id}: ` +
                `vm-state undelete ${kept.id} --as <new> brings them back`,
            ]
          : []),
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
      description: 'also take the newer snapshots away: they go into the trash, with the data as it is',
    },
  ],
  description:
    "put the slot's state back to a snapshot (stops and restarts a running slot); asks you to type ROLLBACK",
  readme: [
    {
      usage: '`vm-state rollback <slot> <snap> [--destroy-newer]`',
      text:
        "puts the slot's state back to a snapshot in place (stop, `zfs rollback`, start); refuses newer snapshots " +
        'unless told, and then keeps them and the data as it was in the trash (clones of them keep working); asks for `ROLLBACK`',
    },
  ],
  confirm: 'ROLLBACK',
  agent: { destructive: true },
  scope: (input, assignments) => ({
    names: [stateOfSlot(assignments, String(input.slot))],
    clones: true,
    // Keeping the newer snapshots: where they go, and whether clones of them are mounted.
    related: Boolean(input.destroyNewer),
    trash: Boolean(input.destroyNewer),
  }),
  plan: (c, input, run) =>
    planRollback(c, String(input.slot), String(input.snapshot), {
      keepNewer: input.destroyNewer
        ? { at: run.at, by: whoText(run.invoker), renameBusyWithClones: !isOpenZfs() }
        : undefined,
    }),
};
