import type { Config } from '../schemas/config.js';
import { VmStateError } from '../core/errors.js';
import { runningOn } from '../core/facts.js';
import { requireAbsent, requireDataset, requireParent } from '../core/guards.js';
import { cloneHelperName, datasetOf, fullCopyHelperName, mountpointOf } from '../core/layout.js';
import { MAX_EXISTING, requireZfsFits, validateName } from '../core/names.js';
import type { Decide } from '../core/plan.js';
import { cloneSteps, destroyStep, mountStep, snapshotStep } from '../core/steps.js';
import type { MutationSpec } from './spec.js';

function planClone(c: Config, src: string, dst: string): Decide {
  validateName('state', src, MAX_EXISTING);
  validateName('state', dst);
  return (facts) => {
    const source = requireDataset(facts, src, 'Source state');
    requireAbsent(facts, c, dst);
    const helper = requireZfsFits(`${source.dataset}@${cloneHelperName(dst)}`);
    if (source.snapshots.some((s) => s.fullName === helper)) {
      throw new VmStateError('exists', `Snapshot ${helper} already exists (left from an earlier clone)`, {
        hint: `It may hold the only copy of data a deleted state left behind (see vm-state snapshots ${src}): clone under another name, or delete it with vm-state snapshot delete ${src}@${cloneHelperName(dst)}`,
      });
    }
    return {
      summary: `Clone state '${src}' to '${dst}'`,
      steps: [snapshotStep(helper), ...cloneSteps(c, helper, dst)],
      warnings: [],
      notes: [
        `State '${src}' cloned to '${dst}' (from snapshot ${helper})`,
        `Assign it to a slot with: vm-state assign <slot> ${dst}`,
      ],
    };
  };
}

/**
 * `clone <src> <dst> --full`: an independent copy. `zfs send` of a fresh
 * snapshot streamed into `zfs receive -u` (not mounted, so it never lands on
 * an inherited mountpoint; `receive -o` is not portable: zfs-fuse lacks it),
 * then its own mountpoint, mounted and owned; the helper snapshots on both
 * sides are destroyed, so the copy has no origin and either side can be
 * deleted on its own.
 */
function planFullClone(c: Config, src: string, dst: string): Decide {
  validateName('state', src, MAX_EXISTING);
  validateName('state', dst);
  return (facts) => {
    requireParent(facts, c);
    const source = requireDataset(facts, src, 'Source state');
    requireAbsent(facts, c, dst);
    const name = fullCopyHelperName(dst);
    const helper = requireZfsFits(`${source.dataset}@${name}`);
    if (source.snapshots.some((s) => s.fullName === helper)) {
      throw new VmStateError('exists', `Snapshot ${helper} already exists (left from an earlier copy)`, {
        hint: `Remove it with: vm-state snapshot delete ${src}@${name}`,
      });
    }
    const dataset = requireZfsFits(datasetOf(c, dst));
    const mountpoint = mountpointOf(c, dst);
    const running = runningOn(facts, src);
    return {
      summary: `Copy state '${src}' to '${dst}' (full, independent copy)`,
      steps: [
        snapshotStep(helper),
        {
          kind: 'pipe',
          argv: ['zfs', 'send', helper],
          into: ['zfs', 'receive', '-u', dataset],
          undo: ['zfs', 'destroy', '-r', dataset],
          undoLeaves: mountpoint,
        },
        { kind: 'zfs', argv: ['zfs', 'set', `mountpoint=${mountpoint}`, dataset] },
        mountStep(dataset),
        { kind: 'own', path: mountpoint, owner: c.owner, group: c.group, mode: 0o755 },
        destroyStep(`${dataset}@${name}`, { tidy: true }),
        destroyStep(helper, { tidy: true }),
      ],
      warnings: running.length
        ? [
            `'${src}' is running on ${running.map((s) => s.name).join(', ')}: the copy will be crash-consistent`,
          ]
        : [],
      notes: [
        `State '${src}' copied to '${dst}' (independent: no origin, no shared snapshots)`,
        `Assign it to a slot with: vm-state assign <slot> ${dst}`,
      ],
    };
  };
}

export const clone: MutationSpec = {
  kind: 'mutation',
  name: 'clone',
  args: [
    { name: 'source', kind: 'state' },
    { name: 'dest', kind: 'new-state' },
  ],
  options: [
    {
      flags: '--full',
      description: 'an independent copy (zfs send | zfs receive): no origin, either side deletable',
    },
  ],
  description: 'clone a state to a new name (ZFS clone of a fresh snapshot)',
  readme: [
    {
      usage: '`vm-state clone <src> <dst>`',
      text: 'snapshots `src@clone-for-<dst>` and clones it (no promote: the source stays independent)',
    },
    {
      usage: '`vm-state clone <src> <dst> --full`',
      text: 'an independent copy (`zfs send \\| zfs receive`, streamed, no origin): either side can be deleted',
    },
  ],
  scope: (input) => ({ names: [String(input.source), String(input.dest)], mountpoints: true }),
  plan: (c, input) => (input.full ? planFullClone : planClone)(c, String(input.source), String(input.dest)),
};
