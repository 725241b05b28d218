import type { Config } from '../schemas/config.js';
import { VmStateError } from '../core/errors.js';
import { isRunning, runningOn, slotsUsing, stateNameOf } from '../core/facts.js';
import { cloneHelperName, datasetOf, diskLinkOf, mountpointOf } from '../core/layout.js';
import { MAX_EXISTING, validateName, requireZfsFits } from '../core/names.js';
import type { Decide, Step } from '../core/plan.js';
import { requireAbsent, requireDataset } from '../core/guards.js';
import { mountStep, rmdirStep } from '../core/steps.js';
import type { MutationSpec } from './spec.js';

/**
 * `rename <old> <new>`: `zfs rename` keeps a locally set mountpoint, so the
 * mountpoint is set to statesDir/<new> as well (and the old, empty directory
 * removed); the slots that use the state get an explicit assignment and a
 * link to the new image. Refused while one of those slots runs. Every step
 * has an undo, so a failure puts it all back.
 */
function planRename(c: Config, from: string, to: string): Decide {
  validateName('state', from, MAX_EXISTING);
  validateName('state', to);
  if (from === to) throw new VmStateError('usage', `Old and new name are the same: '${from}'`);
  return (facts) => {
    const state = requireDataset(facts, from);
    requireAbsent(facts, c, to);
    const users = slotsUsing(facts, from);
    const running = [...new Set([...users.filter((s) => isRunning(s.unit)), ...runningOn(facts, from)])];
    if (running.length > 0) {
      throw new VmStateError(
        'conflict',
        `State '${from}' is in use by running slot ${running.map((s) => s.name).join(', ')}`,
        {
          hint: `Stop it first: systemctl stop ${running.map((s) => s.unit.unit).join(' ')}`,
        },
      );
    }
    const dataset = requireZfsFits(datasetOf(c, to));
    const mountpoint = mountpointOf(c, to);
    // Unmounted first: zfs-fuse refuses to rename a mounted clone ("dataset is busy"). The
    // old mountpoint goes at once: left behind by a killed run, an empty directory of the
    // old name would pass for a plain-directory state (mounting it again recreates it).
    const steps: Step[] = [
      { kind: 'unmount', dataset: state.dataset },
      rmdirStep(state.mountpoint),
      {
        kind: 'zfs',
        argv: ['zfs', 'rename', state.dataset, dataset],
        undo: ['zfs', 'rename', dataset, state.dataset],
        retryBusy: true,
      },
      {
        kind: 'zfs',
        argv: ['zfs', 'set', `mountpoint=${mountpoint}`, dataset],
        undo: ['zfs', 'set', `mountpoint=${state.mountpoint}`, dataset],
      },
      mountStep(dataset),
    ];
    const notes = [`State '${from}' renamed to '${to}' (${dataset}, mounted at ${mountpoint})`];
    const warnings: string[] = [];

    // The helper snapshot `clone` made for this state is named after it: keep the name in step, so delete still finds it.
    const origin = state.origin;
    const source = origin ? stateNameOf(facts.parent, origin.split('@')[0]!) : null;
    const sourceFact = source ? facts.states.get(source) : undefined;
    if (origin && sourceFact && origin === `${sourceFact.dataset}@${cloneHelperName(from)}`) {
      const renamed = `${sourceFact.dataset}@${cloneHelperName(to)}`;
      if (!sourceFact.snapshots.some((s) => s.fullName === renamed)) {
        steps.push({
          kind: 'zfs',
          argv: ['zfs', 'rename', origin, renamed],
          undo: ['zfs', 'rename', renamed, origin],
        });
        notes.push(`Renamed its origin snapshot to ${source}@${cloneHelperName(to)}`);
      }
    }

    if (users.length > 0) {
      const assignments = { ...facts.assignments };
      for (const u of users) assignments[u.name] = to;
      steps.push({ kind: 'write-assignments', file: c.assignmentsFile, assignments });
      for (const u of users) {
        if (u.link.kind === 'file' || u.link.kind === 'other') {
          warnings.push(
            `${u.link.path} is not a symlink (${u.link.kind}); left as it is: point it at the state with vm-state assign ${u.name} ${to}`,
          );
          continue;
        }
        steps.push({ kind: 'link', path: diskLinkOf(c, u.name), target: `${mountpoint}/data.img` });
      }
      notes.push(`${users.map((u) => u.name).join(', ')} now use${users.length === 1 ? 's' : ''} '${to}'`);
    }
    return { summary: `Rename state '${from}' to '${to}'`, steps, warnings, notes };
  };
}

export const rename: MutationSpec = {
  kind: 'mutation',
  name: 'rename',
  args: [
    { name: 'old', kind: 'state' },
    { name: 'new', kind: 'new-state' },
  ],
  description: 'rename a state: dataset, mountpoint, assignments and slot links (not while its slot runs)',
  readme: [
    {
      usage: '`vm-state rename <old> <new>`',
      text: 'renames dataset, mountpoint, assignments and links, all or nothing; refused while its slot runs',
    },
  ],
  scope: (input) => ({ names: [String(input.old), String(input.new)], related: true, mountpoints: true }),
  plan: (c, input) => planRename(c, String(input.old), String(input.new)),
};
