import type { Config } from '../schemas/config.js';
import { VmStateError } from '../core/errors.js';
import type { Facts } from '../core/facts.js';
import { requireAbsent, requireParent } from '../core/guards.js';
import { cloneHelperName, datasetOf, mountpointOf } from '../core/layout.js';
import { MAX_EXISTING, requireZfsFits, validateName } from '../core/names.js';
import type { Decide, Step } from '../core/plan.js';
import { mountStep } from '../core/steps.js';
import { clonesToUnmount, setStep, trashOf, TRASHED_PROPERTY, type TrashEntry } from '../core/trash.js';
import { isOpenZfs } from '../io/zfs-flavour.js';
import type { MutationSpec } from './spec.js';

/** The entry `ref` names: its id in the trash, else the newest entry of a state of that name. */
export function findEntry(facts: Facts, ref: string): TrashEntry {
  const entries = trashOf(facts).entries;
  const entry = entries.find((e) => e.name === ref) ?? entries.filter((e) => e.original === ref).at(-1);
  if (!entry) {
    throw new VmStateError('not-found', `Nothing called '${ref}' in the trash`, {
      hint: 'See what it holds with: vm-state trash list',
    });
  }
  return entry;
}

/**
 * The helper snapshot `clone` made for a state is named after it (delete --now tidies it by
 * that name): a state back under another name gets its helper renamed, as `rename` does.
 */
function helperRename(facts: Facts, entry: TrashEntry, name: string): Step[] {
  const helper = `@${cloneHelperName(entry.original)}`;
  if (name === entry.original || !entry.origin?.endsWith(helper)) return [];
  const renamed = `${entry.origin.slice(0, -helper.length)}@${cloneHelperName(name)}`;
  const source = [...facts.states.values()].find((s) => entry.origin!.startsWith(`${s.dataset}@`));
  if (!source || source.snapshots.some((x) => x.fullName === renamed)) return [];
  return [
    {
      kind: 'zfs',
      argv: ['zfs', 'rename', entry.origin, renamed],
      undo: ['zfs', 'rename', renamed, entry.origin],
    },
  ];
}

/**
 * `undelete <name> [--as NEW]`: renames the trash entry back under the parent, as it was
 * (its snapshots, its data, byte for byte), then makes it writable and mounts it. A replica
 * comes back as it was kept: read-only, unmounted.
 */
function planUndelete(c: Config, ref: string, as: string | undefined, renameBusyWithClones: boolean): Decide {
  validateName('state', ref, MAX_EXISTING);
  if (as !== undefined) validateName('state', as);
  return (facts) => {
    requireParent(facts, c);
    const entry = findEntry(facts, ref);
    const name = as ?? validateName('state', entry.original);
    requireAbsent(facts, c, name);
    const dataset = requireZfsFits(datasetOf(c, name));
    const mountpoint = mountpointOf(c, name);
    const clones = renameBusyWithClones
      ? clonesToUnmount(facts, entry, `undelete '${name}'`, 'Stop that slot first, then undelete')
      : [];
    const said = JSON.stringify({
      name: entry.original,
      at: entry.trashedAt?.toISOString(),
      by: entry.trashedBy ?? undefined,
    });
    const replica = entry.replicaOf !== null;
    const steps: Step[] = [
      ...clones.map((s): Step => ({ kind: 'unmount', dataset: s.dataset })),
      {
        kind: 'zfs',
        argv: ['zfs', 'rename', entry.dataset, dataset],
        undo: ['zfs', 'rename', dataset, entry.dataset],
        retryBusy: true,
      },
      ...clones.map((s) => mountStep(s.dataset)),
      {
        kind: 'zfs',
        argv: ['zfs', 'inherit', TRASHED_PROPERTY, dataset],
        undo: ['zfs', 'set', `${TRASHED_PROPERTY}=${said}`, dataset],
      },
      // Still canmount=noauto: setting the mountpoint mounts nothing yet.
      setStep(dataset, 'mountpoint', mountpoint, 'none'),
      ...(replica
        ? []
        : [
            setStep(dataset, 'readonly', 'off', 'on'),
            setStep(dataset, 'canmount', 'on', 'noauto'),
            mountStep(dataset),
          ]),
    ];
    steps.push(...helperRename(facts, entry, name));
    return {
      summary: `Bring state '${name}' back from the trash (${entry.name}, ${entry.snapshots.length} snapshot(s))`,
      steps,
      warnings: clones.length
        ? [
            `${clones.map((s) => s.name).join(', ')} (cloned from it) is unmounted for the rename, then mounted again`,
          ]
        : [],
      notes: [
        `State '${name}' is back (${dataset}${replica ? ', a read-only replica, unmounted' : `, mounted at ${mountpoint}`})`,
      ],
    };
  };
}

export const undelete: MutationSpec = {
  kind: 'mutation',
  name: 'undelete',
  args: [{ name: 'name', kind: 'word' }],
  options: [{ flags: '--as <new>', description: 'bring it back under another name' }],
  description: 'bring a deleted state back from the trash (the newest of that name, or a trash id)',
  readme: [
    {
      usage: '`vm-state undelete <name> [--as NEW]`',
      text:
        'brings the newest deleted state of that name (or the trash id `trash list` shows) back as it was, ' +
        'snapshots and data, writable and mounted; exit 4 if the name is taken (then `--as`), 3 if not in the trash',
    },
  ],
  // Every state: the name must be free (mountpoints too), and clones of the entry may need unmounting.
  scope: () => 'all',
  plan: (c, input) =>
    planUndelete(c, String(input.name), input.as === undefined ? undefined : String(input.as), !isOpenZfs()),
};
