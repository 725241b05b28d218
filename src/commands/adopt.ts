import type { Config } from '../schemas/config.js';
import { VmStateError } from '../core/errors.js';
import { runningOn } from '../core/facts.js';
import { datasetOf, mountpointOf } from '../core/layout.js';
import { validateName } from '../core/names.js';
import type { Decide } from '../core/plan.js';
import { requireDataset, requireParent, requireState } from '../core/guards.js';
import { mountStep, removeTreeStep, rmdirStep } from '../core/steps.js';
import type { MutationSpec } from './spec.js';

/** Where adopt builds the dataset, and where it keeps the original directory (dot names: never read as states). */
export const adoptWorkDir = (c: Config, name: string) => `${c.statesDir}/.adopt-${name}`;
export const adoptBackupDir = (c: Config, name: string) => `${c.statesDir}/.adopted-${name}`;

/**
 * `adopt <name>`: turns a plain-directory state into a dataset without losing
 * a byte. The dataset is made at a work mountpoint, the directory copied into
 * it and compared file by file; only then is the directory moved aside (kept
 * as .adopted-<name>) and the dataset mounted in its place. Any failure
 * undoes it all: the original directory is never changed before the copy is
 * proven, and never deleted. `adopt --cleanup <name>` deletes the kept original.
 */
function planAdopt(c: Config, name: string, opts: { cleanup?: boolean } = {}): Decide {
  validateName('state', name);
  const mountpoint = mountpointOf(c, name);
  const backup = adoptBackupDir(c, name);
  if (opts.cleanup) {
    return (facts) => {
      const state = facts.states.get(name);
      if (state?.kind === 'directory') {
        throw new VmStateError(
          'conflict',
          `State '${name}' is still a plain directory: adopt it first (vm-state adopt ${name})`,
        );
      }
      const dataset = requireDataset(facts, name);
      if (!dataset.mounted) {
        throw new VmStateError(
          'conflict',
          `State '${name}' (${dataset.dataset}) is not mounted; not deleting its original copy`,
          {
            hint: `Mount it: zfs mount ${dataset.dataset}`,
          },
        );
      }
      return {
        summary: `Delete ${backup}, the directory state '${name}' was adopted from`,
        steps: [removeTreeStep(backup)],
        warnings: [],
        notes: [`Deleted ${backup}; state '${name}' lives on in ${dataset.dataset}`],
      };
    };
  }
  return (facts) => {
    requireParent(facts, c);
    const state = requireState(facts, name);
    if (state.kind === 'dataset')
      throw new VmStateError('exists', `State '${name}' is already a ZFS dataset (${state.dataset})`);
    const running = runningOn(facts, name);
    if (running.length > 0) {
      throw new VmStateError(
        'conflict',
        `State '${name}' is in use by running slot ${running.map((s) => s.name).join(', ')}; its image would be copied mid-write`,
        {
          hint: `Stop it first: systemctl stop ${running.map((s) => s.unit.unit).join(' ')}`,
        },
      );
    }
    const dataset = datasetOf(c, name);
    const work = adoptWorkDir(c, name);
    const dir = state.mountpoint;
    return {
      summary: `Adopt the directory ${dir} as dataset ${dataset}`,
      steps: [
        {
          kind: 'zfs',
          argv: ['zfs', 'create', '-o', `mountpoint=${work}`, dataset],
          undo: ['zfs', 'destroy', dataset],
          undoLeaves: work,
          tolerates: 'created-not-mounted',
        },
        mountStep(dataset),
        { kind: 'copy-tree', from: dir, to: work },
        { kind: 'unmount', dataset },
        { kind: 'move', from: dir, to: backup },
        {
          kind: 'zfs',
          argv: ['zfs', 'set', `mountpoint=${mountpoint}`, dataset],
          undo: ['zfs', 'set', `mountpoint=${work}`, dataset],
        },
        mountStep(dataset),
        rmdirStep(work),
      ],
      warnings: [`The copy needs as much free space in the pool as ${dir} holds`],
      notes: [
        `State '${name}' is now dataset ${dataset}, mounted at ${mountpoint}; every file was compared with the original`,
        `The original directory is kept as ${backup}; delete it with: vm-state adopt --cleanup ${name}`,
      ],
    };
  };
}

export const adopt: MutationSpec = {
  kind: 'mutation',
  name: 'adopt',
  // --cleanup deletes the original directory.
  agent: { destructive: true },
  args: [{ name: 'name', kind: 'state' }],
  options: [{ flags: '--cleanup', description: 'delete the original directory kept by an earlier adopt' }],
  description:
    'turn a plain-directory state into a dataset (copied, compared, original kept); --cleanup deletes the original',
  readme: [
    {
      usage: '`vm-state adopt <name>` / `adopt --cleanup <name>`',
      text:
        'turns a plain-directory state (as tmpfiles makes `slot1`…`slot5`) into a dataset: copy, compare every byte, ' +
        'swap; the original stays aside until `--cleanup`',
    },
  ],
  scope: (input) => ({ names: [String(input.name)] }),
  plan: (c, input) => planAdopt(c, String(input.name), { cleanup: Boolean(input.cleanup) }),
};
