import type { Config, Policy } from '../schemas/config.js';
import { parseDuration, stamp } from '../core/clock.js';
import { VmStateError } from '../core/errors.js';
import { runningOn, statesByName, type Facts, type SnapshotFact, type StateFact } from '../core/facts.js';
import { requireDataset } from '../core/guards.js';
import { validateName } from '../core/names.js';
import type { Plan, Step } from '../core/plan.js';
import { judge, policyOf, takenAt } from '../core/retention.js';
import { destroyStep, snapshotStep, startStep, stopStep } from '../core/steps.js';
import { isOpenZfs } from '../io/zfs-flavour.js';
import type { MutationSpec } from './spec.js';

/** Which states get an automatic snapshot, each with its policy's name. */
function targets(c: Config, facts: Facts, named: string[], policy?: string): [StateFact, string][] {
  if (named.length > 0)
    return named.map((n) => [
      requireDataset(facts, n),
      policy ?? c.autoSnapshot.states[n] ?? c.autoSnapshot.policy,
    ]);
  return statesByName(facts)
    .filter((s) => s.kind === 'dataset' && s.replicaOf === null && c.autoSnapshot.states[s.name] !== null)
    .map((s) => [s, policy ?? c.autoSnapshot.states[s.name] ?? c.autoSnapshot.policy]);
}

/** The period `t` falls in, for an interval: periods are aligned to the epoch (UTC). */
const periodIndex = (t: Date, everyMs: number) => Math.floor(t.getTime() / everyMs);

interface Request {
  states: string[];
  policy?: string;
  stop: boolean;
  at: Date;
  /** One `zfs snapshot` of many (OpenZFS, atomic); zfs-fuse takes one at a time. */
  batch: boolean;
}

/**
 * One `auto-<UTC>` snapshot per state and period, then the state's policy prunes its
 * own snapshots. A state whose newest `auto-` snapshot is in this period gets none
 * (a second run within the period changes nothing). Running slots give a crash-consistent
 * snapshot, unless --stop (refused for a slot that must stay up).
 */
export function planAutoSnapshot(c: Config, r: Request): (facts: Facts) => Plan {
  const every = parseDuration(c.autoSnapshot.interval);
  if (r.policy !== undefined) policyOf(c, r.policy);
  const name = `auto-${stamp(r.at)}`;
  return (facts) => {
    const due: [StateFact, Policy][] = [];
    const skipped: string[] = [];
    for (const [state, policyName] of targets(c, facts, r.states, r.policy)) {
      const newest = state.snapshots.filter((s) => s.name.startsWith('auto-')).at(-1);
      if (newest && periodIndex(takenAt(newest), every) === periodIndex(r.at, every))
        skipped.push(state.name);
      else due.push([state, policyOf(c, policyName)]);
    }
    const steps: Step[] = [];
    const warnings: string[] = [];
    const full = (s: StateFact) => `${s.dataset}@${name}`;
    const quiet = due.filter(([s]) => !r.stop || runningOn(facts, s.name).length === 0).map(([s]) => s);
    if (r.batch && quiet.length > 1)
      steps.push({
        kind: 'zfs',
        argv: ['zfs', 'snapshot', ...quiet.map(full)],
        undo: ['zfs', 'destroy', ...quiet.map(full)],
      });
    else steps.push(...quiet.map((s) => snapshotStep(full(s))));
    for (const [s] of due) {
      const runners = runningOn(facts, s.name);
      if (!r.stop) {
        if (runners.length)
          warnings.push(`${s.name} is running on ${runners.map((x) => x.name).join(', ')}: crash-consistent`);
        continue;
      }
      if (runners.length === 0) continue;
      const pinned = runners.filter((x) => c.autoSnapshot.keepRunning.includes(x.name));
      if (pinned.length)
        throw new VmStateError(
          'conflict',
          `${pinned.map((x) => x.name).join(', ')} must stay up (autoSnapshot.keepRunning): no --stop`,
          {
            hint: 'Without --stop the snapshot is crash-consistent',
          },
        );
      // Stopped for its snapshot, started again at once: the snapshot stays even if the start fails.
      steps.push(
        ...runners.map((x) => stopStep(x.unit.unit, x.name, s.name)),
        snapshotStep(full(s), { keep: true }),
        ...runners.map((x) => startStep(x.unit.unit, x.name, s.name)),
      );
    }
    // Then each state's policy, over its snapshots and the new one.
    const dropped: string[] = [];
    const details: string[] = [];
    for (const [s, policy] of due) {
      const fresh: SnapshotFact = { ...blank(s), name, fullName: full(s), created: r.at };
      for (const j of judge(policy, [...s.snapshots, fresh])) {
        details.push(`${j.verdict.keep ? 'keep' : 'drop'} ${s.name}@${j.snapshot.name}: ${j.verdict.why}`);
        if (!j.verdict.keep) {
          steps.push(destroyStep(j.snapshot.fullName, { frees: j.snapshot.used, tidy: true }));
          dropped.push(`${s.name}@${j.snapshot.name}`);
        }
      }
    }
    return {
      summary: due.length
        ? `Snapshot ${due.length} state(s) as '${name}' and prune by policy`
        : 'Automatic snapshots: every state has one for this period already',
      steps,
      warnings,
      notes: [
        due.length ? `Snapshots ${name} of: ${due.map(([s]) => s.name).join(', ')}` : 'Nothing to do',
        ...(skipped.length ? [`Already done this period: ${skipped.join(', ')}`] : []),
        ...(dropped.length ? [`Pruned: ${dropped.join(', ')}`] : []),
      ],
      details,
    };
  };
}

const blank = (s: StateFact): SnapshotFact => ({
  name: '',
  state: s.name,
  fullName: '',
  created: new Date(0),
  used: 0,
  referenced: 0,
  clones: [],
  guid: '0',
  holds: 0,
});

export const autoSnapshot: MutationSpec = {
  kind: 'mutation',
  name: 'auto-snapshot',
  // It prunes; a second run in the same period takes no snapshot.
  agent: { destructive: true, idempotent: true },
  args: [{ name: 'state...', kind: 'state', optional: true }],
  options: [
    { flags: '--policy <name>', description: "prune by this policy (default: the config's, per state)" },
    { flags: '--stop', description: 'stop running slots for a clean snapshot, then start them again' },
  ],
  description: 'one auto-<UTC> snapshot per state and period, then prune by policy (the timer runs it)',
  readme: [
    {
      usage: '`vm-state auto-snapshot [state...] [--policy P] [--stop]`',
      text:
        'snapshots every state (or those named) as `auto-<UTC>`, once per `autoSnapshot.interval` (a rerun in the ' +
        "same period takes none), then prunes each state's `auto-*` snapshots by its policy (never one with " +
        'clones or a hold); one `zfs snapshot` for all on OpenZFS; `--dry-run` says what each snapshot is kept or dropped for',
    },
  ],
  scope: (input) => {
    const named = (input.state as string[] | undefined) ?? [];
    return named.length ? { names: named, clones: true } : 'all';
  },
  plan: (c, input, { at }) => {
    const states = ((input.state as string[] | undefined) ?? []).map((n) => validateName('state', n));
    const policy = input.policy === undefined ? undefined : String(input.policy);
    return planAutoSnapshot(c, { states, policy, stop: Boolean(input.stop), at, batch: isOpenZfs() });
  },
};
