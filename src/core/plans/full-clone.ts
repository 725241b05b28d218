import type { Config } from '../../schemas/config.js';
import { VmStateError } from '../errors.js';
import { runningOn } from '../facts.js';
import { datasetOf, mountpointOf } from '../layout.js';
import { MAX_EXISTING, validateName, requireZfsFits } from '../names.js';
import type { Decide } from '../plan.js';
import { requireAbsent, requireDataset, requireParent } from './guards.js';

/** The helper snapshot `clone --full` streams from, named after the copy; gone again when it is done. */
export const fullCopyHelperName = (dst: string) => `full-for-${dst}`;

/**
 * `clone <src> <dst> --full`: an independent copy. `zfs send` of a fresh
 * snapshot streamed into `zfs receive -u` (not mounted, so it never lands on
 * an inherited mountpoint; `receive -o` is not portable: zfs-fuse lacks it),
 * then its own mountpoint, mounted and owned; the helper snapshots on both
 * sides are destroyed, so the copy has no origin and either side can be
 * deleted on its own.
 */
export function planFullClone(c: Config, src: string, dst: string): Decide {
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
        { kind: 'zfs', argv: ['zfs', 'snapshot', helper], undo: ['zfs', 'destroy', helper] },
        {
          kind: 'pipe',
          argv: ['zfs', 'send', helper],
          into: ['zfs', 'receive', '-u', dataset],
          undo: ['zfs', 'destroy', '-r', dataset],
          undoLeaves: mountpoint,
        },
        { kind: 'zfs', argv: ['zfs', 'set', `mountpoint=${mountpoint}`, dataset] },
        { kind: 'ensure-mounted', dataset },
        { kind: 'own', path: mountpoint, owner: c.owner, group: c.group, mode: 0o755 },
        { kind: 'zfs', argv: ['zfs', 'destroy', `${dataset}@${name}`], retryBusy: true, cleanup: true },
        { kind: 'zfs', argv: ['zfs', 'destroy', helper], retryBusy: true, cleanup: true },
      ],
      warnings: running.length
        ? [`'${src}' is running on ${running.map((s) => s.name).join(', ')}: the copy will be crash-consistent`]
        : [],
      notes: [
        `State '${src}' copied to '${dst}' (independent: no origin, no shared snapshots)`,
        `Assign it to a slot with: vm-state assign <slot> ${dst}`,
      ],
    };
  };
}
