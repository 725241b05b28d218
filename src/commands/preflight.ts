import type { Config } from '../schemas/config.js';
import { VmStateError } from '../core/errors.js';
import { imageProblem, linkLeadsInto, type Facts } from '../core/facts.js';
import { misplacement } from '../core/layout.js';
import { validateSlot } from '../core/names.js';
import { requireNotReplica, requireNotRunningElsewhere, slotFact } from '../core/guards.js';
import type { ActionSpec } from './spec.js';

/**
 * The start guard, run as the unit's ExecStartPre: may `slot` start now?
 * Refuses when the states dataset is missing or not mounted (before the pool
 * is imported, statesDir is a bare directory on the root filesystem), when the
 * slot's state does not exist or its dataset is not mounted (a VM runner would
 * create a fresh, empty image where the operator's disk should be), when a
 * rename or adopt of it did not finish, and when another running slot holds
 * the same state. Returns what it checked.
 */
export function checkPreflight(c: Config, slot: string): (facts: Facts) => string {
  validateSlot(slot, c.slots);
  return (facts) => {
    const unavailable = (why: string) =>
      new VmStateError(
        'conflict',
        `The states dataset ${facts.parent} is ${why}; refusing to start ${slot}`,
        {
          hint: 'Import the pool and mount it (zpool import; zfs mount -a), then start the slot',
        },
      );
    if (!facts.parentExists) throw unavailable('missing');
    const s = slotFact(facts, slot);
    const state = facts.states.get(s.state);
    // A plain-directory state lives on the parent's filesystem: unmounted, that is the root filesystem.
    if (state?.kind === 'directory' && !facts.parentMounted) throw unavailable('not mounted');
    if (!state) {
      throw new VmStateError('not-found', `${slot} is assigned state '${s.state}', which does not exist`, {
        hint: `Create or assign one: vm-state assign ${slot} <state>`,
      });
    }
    const misplaced = misplacement(c, state);
    if (misplaced) throw new VmStateError('conflict', `${misplaced}; refusing to start ${slot}`);
    requireNotReplica(state, 'started');
    if (state.kind === 'dataset' && !state.mounted) {
      throw new VmStateError(
        'conflict',
        `State '${s.state}' (${state.dataset}) is not mounted at ${state.mountpoint}; refusing to start ${slot}`,
        {
          hint: `Mount it: zfs mount ${state.dataset}`,
        },
      );
    }
    // The VM opens whatever the link names: it must lie on the state's own mounted filesystem
    // (not, say, in the directory an adopt is copying away from, nor in another state).
    if (s.link.kind === 'symlink' && !linkLeadsInto(s.link, state.mountpoint)) {
      throw new VmStateError(
        'conflict',
        `${slot}'s disk link points at ${s.link.target}, outside state '${s.state}' at ${state.mountpoint}; refusing to start`,
        {
          hint: 'See what is going on with: vm-state doctor',
        },
      );
    }
    const image = imageProblem(s.link);
    if (image)
      throw new VmStateError('conflict', `${slot}'s disk ${image}; refusing to start`, {
        hint: 'See what is going on with: vm-state doctor',
      });
    requireNotRunningElsewhere(facts, s.state, slot);
    return `${slot} may start: state '${s.state}' is ${state.kind === 'dataset' ? 'mounted' : 'a directory'} and no other running slot uses it`;
  };
}

export const preflight: ActionSpec = {
  kind: 'action',
  name: 'preflight',
  args: [{ name: 'slot', kind: 'slot' }],
  description:
    "start guard for the unit's ExecStartPre: refuse if the state is not mounted or runs elsewhere",
  readme: [
    {
      usage: '`vm-state preflight <slot>`',
      text: "start guard for the unit's `ExecStartPre`: refuses if the state is not mounted or another running slot uses it",
    },
  ],
  run: async (ctx, input) => (await import('../cli/actions.js')).preflight(ctx(), String(input.slot)),
};
