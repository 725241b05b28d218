import type { Config } from '../schemas/config.js';
import { humanBytes } from '../core/bytes.js';
import { destroySteps } from '../core/destroy.js';
import { VmStateError } from '../core/errors.js';
import { runningOn, slotsLinkedInto, slotsUsing, type Facts, type StateFact } from '../core/facts.js';
import { MAX_EXISTING, validateName } from '../core/names.js';
import type { Decide } from '../core/plan.js';
import { clonesToUnmount, intoTrashSteps, newEntryId, trashOf, whoText } from '../core/trash.js';
import { isOpenZfs } from '../io/zfs-flavour.js';
import type { MutationSpec } from './spec.js';
import { requireDataset } from '../core/guards.js';

/** What a delete refuses, whether it trashes or destroys: a state in use, or a disk linked into it. */
function requireDeletable(facts: Facts, name: string): StateFact {
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
  return state;
}

/** `delete --now`: destroys the state at once (see destroySteps). */
function planDestroy(c: Config, name: string): Decide {
  validateName('state', name, MAX_EXISTING);
  return (facts) => {
    const state = requireDeletable(facts, name);
    const { steps, notes, doomed } = destroySteps(c, facts, state, { name, mounted: true });
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

/**
 * `delete`: moves the state into the trash (core/trash.ts), whole: its snapshots, its data,
 * the clones of it still working. `undelete` brings it back; `trash purge` destroys it.
 */
function planTrash(c: Config, name: string, at: Date, by: string, renameBusyWithClones: boolean): Decide {
  validateName('state', name, MAX_EXISTING);
  return (facts) => {
    const state = requireDeletable(facts, name);
    const id = newEntryId(trashOf(facts), name, at);
    const clones = renameBusyWithClones
      ? clonesToUnmount(
          facts,
          state,
          `move '${name}' into the trash`,
          `Delete it at once: vm-state delete --now ${name}`,
        )
      : [];
    const { entry, steps } = intoTrashSteps(c, facts, state, id, { at, by }, clones);
    return {
      summary: `Move state '${name}' (${state.dataset}) and ${state.snapshots.length} snapshot(s) into the trash`,
      steps,
      warnings: clones.length
        ? [
            `${clones.map((s) => s.name).join(', ')} (cloned from it) is unmounted for the rename, then mounted again`,
          ]
        : [],
      notes: [
        `State '${name}' moved into the trash as ${id} (${entry})`,
        `Bring it back with: vm-state undelete ${name}; it is purged after ${c.trash.keep}, and its ` +
          `${humanBytes(state.used)} stay in use until then (free them now: vm-state trash purge ${id})`,
      ],
    };
  };
}

export const deleteState: MutationSpec = {
  kind: 'mutation',
  name: 'delete',
  args: [{ name: 'state', kind: 'state' }],
  options: [{ flags: '--now', description: 'destroy it at once instead of moving it into the trash' }],
  description: 'move a state into the trash (not while assigned; --now destroys it); asks you to type DELETE',
  readme: [
    {
      usage: '`vm-state delete <name>`',
      text:
        'asks for `DELETE` on standard input (`echo DELETE \\| vm-state delete x`, or `--yes`); refuses an assigned ' +
        'state; moves it with its snapshots into the trash (unmounted, read-only, clones of it keep working): see "Trash"',
    },
    {
      usage: '`vm-state delete <name> --now`',
      text: 'destroys it at once: promotes dependent clones first, says which snapshots moved where, destroys the rest',
    },
  ],
  confirm: 'DELETE',
  agent: { destructive: true },
  scope: (input) => ({ names: [String(input.state)], clones: true, related: true, trash: !input.now }),
  plan: (c, input, run) =>
    input.now
      ? planDestroy(c, String(input.state))
      : planTrash(c, String(input.state), run.at, whoText(run.invoker), !isOpenZfs()),
};
