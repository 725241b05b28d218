import type { Command } from 'commander';
import type { Decide } from '../core/plan.js';
import { planAdopt } from '../core/plans/adopt.js';
import { planPrune } from '../core/plans/prune.js';
import { planRename } from '../core/plans/rename.js';
import { planRollback } from '../core/plans/rollback.js';
import { planSnapshotDelete } from '../core/plans/snapshot-delete.js';
import type { Config } from '../schemas/config.js';
import type { ProgramDeps } from './actions.js';

/**
 * The state lifecycle commands beyond the old script's: snapshots, show,
 * snapshot delete, rollback, prune, adopt, rename. Parsing only, as in program.ts.
 */

export interface Mutation {
  usage: string;
  description: string;
  plan: (c: Config, args: string[], opts: Record<string, unknown>) => Decide;
  confirm?: string;
  /** [flags, description] of the command's own options. */
  options?: [string, string][];
}

export const LIFECYCLE_MUTATIONS: Mutation[] = [
  {
    usage: 'rollback <slot> <snapshot>',
    description: "put the slot's state back to a snapshot (stops and restarts a running slot); asks you to type ROLLBACK",
    plan: (c, [slot, snap], o) => planRollback(c, slot!, snap!, { destroyNewer: Boolean(o.destroyNewer) }),
    confirm: 'ROLLBACK',
    options: [['--destroy-newer', 'also destroy the snapshots newer than the one rolled back to (zfs rollback -r)']],
  },
  {
    usage: 'prune [state]',
    description: 'delete old snapshots by policy (never one a state was cloned from)',
    plan: (c, [state], o) => planPrune(c, { state, keep: o.keep as string | undefined, olderThan: o.olderThan as string | undefined }),
    options: [
      ['--keep <n>', 'keep the newest N snapshots of each state'],
      ['--older-than <duration>', 'delete only snapshots older than this: 30m, 12h, 7d, 2w'],
    ],
  },
  {
    usage: 'adopt <name>',
    description: 'turn a plain-directory state into a dataset (copied, compared, original kept); --cleanup deletes the original',
    plan: (c, [name], o) => planAdopt(c, name!, { cleanup: Boolean(o.cleanup) }),
    options: [['--cleanup', 'delete the original directory kept by an earlier adopt']],
  },
  {
    usage: 'rename <old> <new>',
    description: 'rename a state: dataset, mountpoint, assignments and slot links (not while its slot runs)',
    plan: (c, [from, to]) => planRename(c, from!, to!),
  },
];

const actions = () => import('./actions.js');
const views = () => import('./lifecycle-actions.js');

/** `snapshots` and `show`: read-only, like list. */
export function registerViews(program: Command, deps: ProgramDeps): void {
  program
    .command('snapshots [state]')
    .description('every snapshot (of one state, or all), newest last, with the states cloned from it')
    .action(async (state: string | undefined, _o, cmd: Command) => {
      const [a, v] = await Promise.all([actions(), views()]);
      await v.snapshots(a.context(cmd, deps), state);
    });
  program
    .command('show <state>')
    .description('one state in full: dataset, mount, space, origin, clones, snapshots, slots, data.img')
    .action(async (name: string, _o, cmd: Command) => {
      const [a, v] = await Promise.all([actions(), views()]);
      await v.show(a.context(cmd, deps), name);
    });
}

/** `snapshot delete <state>@<snap>`, a subcommand of `snapshot <slot> <snap>` (which keeps working as before). */
export function registerSnapshotDelete(program: Command, deps: ProgramDeps): void {
  const snapshot = program.commands.find((c) => c.name() === 'snapshot');
  if (!snapshot) throw new Error('the snapshot command must be registered first');
  snapshot
    .command('delete <snapshot>')
    .description('delete a snapshot, <state>@<snap> (refused while states were cloned from it)')
    .action(async (ref: string, _o, cmd: Command) => {
      const a = await actions();
      const ctx = a.context(cmd, deps);
      await a.runMutation(ctx, 'snapshot delete', planSnapshotDelete(ctx.config, ref));
    });
}
