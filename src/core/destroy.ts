import type { Config } from '../schemas/config.js';
import { VmStateError } from './errors.js';
import { datasetShown, stateNameOf, type Facts, type SnapshotFact, type StateFact } from './facts.js';
import { cloneHelperName } from './layout.js';
import type { Step } from './plan.js';
import { releaseHolds } from './replication.js';
import { destroyStep, rmdirStep } from './steps.js';

export interface Destruction {
  steps: Step[];
  notes: string[];
  /** The snapshots destroyed with it (those that moved to a promoted clone are not). */
  doomed: SnapshotFact[];
}

/** A dataset by its full name: a state's or a trash entry's fact. */
function datasetFact(facts: Facts, dataset: string): StateFact | undefined {
  return (
    facts.states.get(stateNameOf(facts.parent, dataset) ?? '') ??
    facts.trash?.entries.find((e) => e.dataset === dataset)
  );
}

/**
 * Destroys a state or a trash entry without ever dead-ending on "has dependent clones" and
 * without `zfs destroy -R`: when other datasets were cloned from its snapshots, the clone of
 * the newest such snapshot is promoted first (a state before a trash entry), which moves that
 * snapshot and every older one to it (other clones follow automatically). What is left is
 * destroyed, snapshot by snapshot, then the dataset. `name`: how it is called in messages, and
 * whose `clone-for-<name>` helper snapshot goes too. `mounted`: a state (unmount first, remove
 * its mountpoint); a trash entry is never mounted. `gone`: datasets destroyed earlier in the
 * same plan, whose clones no longer count.
 */
export function destroySteps(
  c: Config,
  facts: Facts,
  ds: StateFact,
  opts: { name: string; mounted: boolean; gone?: ReadonlySet<string> },
): Destruction {
  const gone = opts.gone ?? new Set<string>();
  const live = (s: SnapshotFact) => s.clones.filter((d) => !gone.has(d));
  const steps: Step[] = [];
  const notes: string[] = [];
  const lastWithClones = ds.snapshots.findLastIndex((s) => live(s).length > 0);
  let doomed: SnapshotFact[] = ds.snapshots;
  let promoted: string | undefined;

  if (lastWithClones >= 0) {
    const pivot = ds.snapshots[lastWithClones]!;
    const inTrash = (d: string) => stateNameOf(facts.parent, d) === null;
    const heir = [...live(pivot)].sort(
      (a, b) => Number(inTrash(a)) - Number(inTrash(b)) || (a < b ? -1 : 1),
    )[0]!;
    promoted = heir;
    const moved = ds.snapshots.slice(0, lastWithClones + 1);
    doomed = ds.snapshots.slice(lastWithClones + 1);
    // zfs promote refuses when the heir already has a snapshot of a name that would move to it.
    const heirSnaps = new Set(datasetFact(facts, heir)?.snapshots.map((x) => x.name) ?? []);
    const clash = moved.filter((x) => heirSnaps.has(x.name)).map((x) => x.name);
    if (clash.length > 0) {
      throw new VmStateError(
        'conflict',
        `Cannot delete '${opts.name}': its snapshot(s) ${clash.join(', ')} would move to ${heir}, which has snapshot(s) of the same name`,
        {
          hint: `Rename them on ${heir} first, e.g. zfs rename ${heir}@${clash[0]} ${heir}@${clash[0]}-own`,
        },
      );
    }
    steps.push({ kind: 'zfs', argv: ['zfs', 'promote', heir], undo: ['zfs', 'promote', ds.dataset] });
    notes.push(
      `${inTrash(heir) ? 'Deleted state' : 'State'} '${datasetShown(facts.parent, heir)}' was cloned from '${opts.name}': promoted it, so snapshot(s) ` +
        `${moved.map((s) => s.name).join(', ')} moved to ${heir} and stay available there`,
    );
  }

  // Unmount first: a busy mount then fails the command before anything is destroyed.
  if (opts.mounted) steps.push({ kind: 'unmount', dataset: ds.dataset });
  // A held snapshot (a send's base) cannot be destroyed: let go of its holds first.
  for (const snap of doomed) steps.push(...releaseHolds(c, snap), destroyStep(snap.fullName));
  steps.push(destroyStep(ds.dataset));
  // zfs-fuse leaves the empty mountpoint behind; list would show it as a plain-directory state.
  if (opts.mounted) steps.push(rmdirStep(ds.mountpoint));

  // The helper snapshot `clone` left on the source for this state is no use to anyone once it is gone.
  const origin = ds.origin ? datasetFact(facts, ds.origin.split('@')[0]!) : undefined;
  const helper = origin?.snapshots.find((s) => s.fullName === ds.origin);
  if (
    !promoted &&
    helper &&
    helper.name === cloneHelperName(opts.name) &&
    live(helper).filter((d) => d !== ds.dataset).length === 0
  ) {
    steps.push(destroyStep(helper.fullName, { tidy: true }));
    notes.push(`Removed the helper snapshot ${helper.fullName}`);
  }
  return { steps, notes, doomed };
}
