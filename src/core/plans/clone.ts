import type { Config } from '../../schemas/config.js';
import { VmStateError } from '../errors.js';
import { cloneHelperName, datasetOf, mountpointOf } from '../layout.js';
import { MAX_EXISTING, validateName, requireZfsFits } from '../names.js';
import type { Decide, Step } from '../plan.js';
import { requireAbsent, requireDataset } from './guards.js';

/** `zfs clone` of a snapshot into a new state, mounted and owned; no promote, so the source stays independent. */
export function cloneSteps(c: Config, snapshot: string, dst: string): Step[] {
  const dataset = requireZfsFits(datasetOf(c, dst));
  const mountpoint = mountpointOf(c, dst);
  return [
    {
      kind: 'zfs',
      argv: ['zfs', 'clone', '-o', `mountpoint=${mountpoint}`, snapshot, dataset],
      undo: ['zfs', 'destroy', dataset],
      undoLeaves: mountpoint,
      toleratesNotMounted: true,
    },
    { kind: 'ensure-mounted', dataset },
    { kind: 'own', path: mountpoint, owner: c.owner, group: c.group, mode: 0o755 },
  ];
}

export function planClone(c: Config, src: string, dst: string): Decide {
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
      steps: [{ kind: 'zfs', argv: ['zfs', 'snapshot', helper], undo: ['zfs', 'destroy', helper] }, ...cloneSteps(c, helper, dst)],
      warnings: [],
      notes: [`State '${src}' cloned to '${dst}' (from snapshot ${helper})`, `Assign it to a slot with: vm-state assign <slot> ${dst}`],
    };
  };
}
