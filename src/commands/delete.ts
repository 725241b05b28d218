import type { Config } from '../schemas/config.js';
import { VmStateError } from '../core/errors.js';
import {
  datasetShown,
  runningOn,
  slotsLinkedInto,
  slotsUsing,
  stateNameOf,
  type SnapshotFact,
} from '../core/facts.js';
import { cloneHelperName } from '../core/layout.js';
import { MAX_EXISTING, validateName } from '../core/names.js';
import type { Decide, Step } from '../core/plan.js';
import { destroyStep, rmdirStep } from '../core/steps.js';
import { releaseHolds } from '../core/replication.js';
import type { MutationSpec } from './spec.js';
import { requireDataset } from '../core/guards.js';

/**
 * Deletes a state without ever dead-ending on "has dependent clones" and
 * without `zfs destroy -R`: when other states were cloned from its snapshots,
 * the clone of the newest such snapshot is promoted first, which moves that
 * snapshot and every older one to it (other clones follow automatically).
 * What is left on the state is destroyed, snapshot by snapshot, then the state.
 */
function planDelete(c: Config, name: string): Decide {
  validateName('state', name, MAX_EXISTING);
  return (facts) => {
    const state = requireDataset(facts, name);
    const running = runningOn(facts, name).filter((s) => s.state !== name);
    if (running.length > 0) {
      throw new VmStateError(
        'conflict',
        `State '${name}' is still in use by running slot ${running.map((s) => s.name).join(', ')} (reassigned, not yet restarted)`,
        {
          hint: `Restart it first: systemctl restart ${running[0]!.unit.unit}`,
        },
      );
    }
    const users = slotsUsing(facts, name);
    if (users.length > 0) {
      const slot = users[0]!.name;
      throw new VmStateError(
        'conflict',
        `State '${name}' is assigned to ${users.map((u) => u.name).join(', ')}`,
        {
          hint: `Reassign first with: vm-state assign ${slot} <other-state>`,
        },
      );
    }
    // Whatever the assignments say, a slot whose disk link leads into the state would lose its disk.
    const linked = slotsLinkedInto(facts, state);
    if (linked.length > 0) {
      throw new VmStateError(
        'conflict',
        `The disk link of ${linked.map((s) => s.name).join(', ')} leads into state '${name}' (${state.mountpoint})`,
        { hint: 'See what is going on with: vm-state doctor' },
      );
    }

    const steps: Step[] = [];
    const notes: string[] = [];
    const lastWithClones = state.snapshots.findLastIndex((s) => s.clones.length > 0);
    let doomed: SnapshotFact[] = state.snapshots;
    let promoted: string | undefined;

    if (lastWithClones >= 0) {
      const pivot = state.snapshots[lastWithClones]!;
      const heir = [...pivot.clones].sort()[0]!;
      promoted = heir;
      const moved = state.snapshots.slice(0, lastWithClones + 1);
      doomed = state.snapshots.slice(lastWithClones + 1);
      // zfs promote refuses when the heir already has a snapshot of a name that would move to it.
      const heirSnaps = new Set(
        facts.states.get(stateNameOf(facts.parent, heir) ?? '')?.snapshots.map((x) => x.name) ?? [],
      );
      const clash = moved.filter((x) => heirSnaps.has(x.name)).map((x) => x.name);
      if (clash.length > 0) {
        throw new VmStateError(
          'conflict',
          `Cannot delete '${name}': its snapshot(s) ${clash.join(', ')} would move to ${heir}, which has snapshot(s) of the same name`,
          {
            hint: `Rename them on ${heir} first, e.g. zfs rename ${heir}@${clash[0]} ${heir}@${clash[0]}-own`,
          },
        );
      }
      steps.push({ kind: 'zfs', argv: ['zfs', 'promote', heir], undo: ['zfs', 'promote', state.dataset] });
      notes.push(
        `State '${datasetShown(facts.parent, heir)}' was cloned from '${name}': promoted it, so snapshot(s) ` +
          `${moved.map((s) => s.name).join(', ')} moved to ${heir} and stay available there`,
      );
    }

    // Unmount first: a busy mount then fails the command before anything is destroyed.
    steps.push({ kind: 'unmount', dataset: state.dataset });
    // A held snapshot (a send's base) cannot be destroyed: let go of its holds first.
    for (const snap of doomed) steps.push(...releaseHolds(c, snap), destroyStep(snap.fullName));
    steps.push(destroyStep(state.dataset));
    // zfs-fuse leaves the empty mountpoint behind; list would show it as a plain-directory state.
    steps.push(rmdirStep(state.mountpoint));

    // The helper snapshot `clone` left on the source for this state is no use to anyone once it is gone.
    const origin = state.origin
      ? facts.states.get(stateNameOf(facts.parent, state.origin.split('@')[0]!) ?? '')
      : undefined;
    const helper = origin?.snapshots.find((s) => s.fullName === state.origin);
    if (!promoted && helper && helper.name === cloneHelperName(name) && helper.clones.length === 1) {
      steps.push(destroyStep(helper.fullName, { tidy: true }));
      notes.push(`Removed the helper snapshot ${helper.fullName}`);
    }

    return {
      summary: `Delete state '${name}' (${state.dataset}) and ${doomed.length} snapshot(s)`,
      steps,
      warnings: [
        `This will permanently delete state '${name}' and all its data!`,
        ...doomed
          .filter((x) => x.holds > 0)
          .map((x) => `${name}@${x.name} is held (a send's base): its holds are released first`),
      ],
      notes: [...notes, `State '${name}' deleted`],
    };
  };
}

export const deleteState: MutationSpec = {
  kind: 'mutation',
  name: 'delete',
  args: [{ name: 'state', kind: 'state' }],
  description: 'delete a state and its snapshots (not while assigned); asks you to type DELETE',
  readme: [
    {
      usage: '`vm-state delete <name>`',
      text:
        'asks for `DELETE` on standard input (`echo DELETE \\| vm-state delete x`, or `--yes`); refuses an assigned ' +
        'state; promotes dependent clones first, says which snapshots moved where, destroys the rest',
    },
  ],
  confirm: 'DELETE',
  agent: { destructive: true },
  scope: (input) => ({ names: [String(input.state)], clones: true, related: true }),
  plan: (c, input) => planDelete(c, String(input.state)),
};
