import type { Config } from '../schemas/config.js';
import { parseDuration } from '../core/clock.js';
import { judge, policyOf } from '../core/retention.js';
import { bytesText } from '../core/bytes.js';
import { VmStateError } from '../core/errors.js';
import { datasetShown, statesByName, type SnapshotFact, type StateFact } from '../core/facts.js';
import { shown, MAX_EXISTING, validateName } from '../core/names.js';
import type { Decide, Step } from '../core/plan.js';
import { requireDataset } from '../core/guards.js';
import { destroyStep } from '../core/steps.js';
import type { MutationSpec } from './spec.js';

export { parseDuration };

/** A snapshot no policy may take: states were cloned from it, or a hold keeps it (a send's base). */
const pinned = (s: SnapshotFact) => s.clones.length > 0 || s.holds > 0;
export const HELD_WHY = 'the last snapshot shared with a replica: the next send starts from it';

export interface PruneRequest {
  /** Only this state's snapshots; every state's when absent. */
  state?: string;
  /** Keep the newest N deletable snapshots of each state. */
  keep?: string;
  /** Delete only snapshots older than this (7d, 12h, ...). */
  olderThan?: string;
}

/**
 * Which snapshots a policy deletes, state by state: a snapshot a state was
 * cloned from (a `clone-for-*` helper of a live clone is one) is never deleted
 * and does not count; of the rest, `--keep N` spares the newest N and
 * `--older-than D` spares anything younger than D; both given, a snapshot goes
 * only if both let it go.
 */
export function choosePrune(
  states: StateFact[],
  keep: number | undefined,
  olderThanMs: number | undefined,
  now: Date,
) {
  const cutoff = olderThanMs === undefined ? Infinity : now.getTime() - olderThanMs;
  const doomed: SnapshotFact[] = [];
  const spared: SnapshotFact[] = [];
  for (const state of states) {
    const deletable = state.snapshots.filter((s) => !pinned(s));
    const beyondKeep =
      keep === undefined ? deletable : deletable.slice(0, Math.max(0, deletable.length - keep));
    const chosen = beyondKeep.filter((s) => s.created.getTime() < cutoff);
    doomed.push(...chosen);
    // Snapshots the policy alone would have taken, kept because states were cloned from them.
    const byPolicy =
      keep === undefined
        ? state.snapshots
        : state.snapshots.slice(0, Math.max(0, state.snapshots.length - keep));
    spared.push(...byPolicy.filter((s) => pinned(s) && s.created.getTime() < cutoff));
  }
  return { doomed, spared };
}

export function planPrune(_c: Config, req: PruneRequest, now: Date): Decide {
  if (req.state !== undefined) validateName('state', req.state, MAX_EXISTING);
  if (req.keep === undefined && req.olderThan === undefined) {
    throw new VmStateError('usage', 'Say what to keep: --keep N and/or --older-than DURATION', {
      hint: 'e.g.: vm-state prune dev --keep 5, vm-state prune --older-than 30d',
    });
  }
  let keep: number | undefined;
  if (req.keep !== undefined) {
    if (!/^\d{1,6}$/.test(req.keep))
      throw new VmStateError('usage', `--keep must be a whole number, got ${shown(req.keep)}`);
    keep = Number(req.keep);
  }
  const olderThan = req.olderThan === undefined ? undefined : parseDuration(req.olderThan);
  const scope = req.state;
  return (facts) => {
    const states =
      scope === undefined
        ? statesByName(facts).filter((s) => s.kind === 'dataset')
        : [requireDataset(facts, scope)];
    const { doomed, spared } = choosePrune(states, keep, olderThan, now);
    const steps: Step[] = doomed.map((s) => destroyStep(s.fullName, { frees: s.used }));
    const frees = doomed.reduce((n, s) => n + s.used, 0);
    const policy = [
      keep === undefined ? '' : `keep the newest ${keep}`,
      req.olderThan === undefined ? '' : `delete those older than ${req.olderThan}`,
    ]
      .filter(Boolean)
      .join(', ');
    const where = scope === undefined ? 'every state' : `state '${scope}'`;
    const warnings = spared.map((s) =>
      s.clones.length > 0
        ? `Keeping ${s.state}@${s.name}: ${s.clones.map((d) => datasetShown(facts.parent, d)).join(', ')} cloned from it`
        : `Keeping ${s.state}@${s.name}: held (${HELD_WHY})`,
    );
    return {
      summary: doomed.length
        ? `Prune ${doomed.length} snapshot(s) of ${where} (${policy}): ${doomed.map((s) => `${s.state}@${s.name}`).join(', ')}; reclaims at least ${bytesText(frees)}`
        : `Prune snapshots of ${where} (${policy}): nothing to delete`,
      steps,
      warnings,
      notes: [
        doomed.length
          ? `Deleted ${doomed.length} snapshot(s): ${doomed.map((s) => `${s.state}@${s.name}`).join(', ')}`
          : 'Nothing to prune',
      ],
    };
  };
}

export const prune: MutationSpec = {
  kind: 'mutation',
  name: 'prune',
  agent: { destructive: true, idempotent: true },
  args: [{ name: 'state', kind: 'state', optional: true }],
  options: [
    { flags: '--keep <n>', description: 'keep the newest N snapshots of each state' },
    {
      flags: '--policy <name>',
      description: "a retention policy of the config's: prunes its own snapshots (auto-*)",
    },
    {
      flags: '--older-than <duration>',
      description: 'delete only snapshots older than this: 30m, 12h, 7d, 2w',
    },
  ],
  description: 'delete old snapshots by policy (never one a state was cloned from)',
  readme: [
    {
      usage: '`vm-state prune [state] --keep N \\| --older-than 7d`',
      text: 'deletes old snapshots by policy, never one a state was cloned from; `--dry-run` lists exactly what would go',
    },
    {
      usage: '`vm-state prune [state] --policy <name>`',
      text:
        "a retention policy of the config's (counts per hour, day, week, month, year; Proxmox's semantics, UTC): " +
        'only its own snapshots (`auto-*`); `--dry-run` says what each is kept for and why each goes',
    },
  ],
  scope: (input) => (input.state === undefined ? 'all' : { names: [String(input.state)], clones: true }),
  plan: (c, input, { at }) => {
    const state = input.state as string | undefined;
    if (input.policy !== undefined) {
      if (input.keep !== undefined || input.olderThan !== undefined)
        throw new VmStateError('usage', '--policy decides alone: not with --keep or --older-than');
      return planPolicyPrune(c, state, String(input.policy));
    }
    return planPrune(
      c,
      {
        state,
        keep: input.keep as string | undefined,
        olderThan: input.olderThan as string | undefined,
      },
      at,
    );
  },
};

/**
 * `prune --policy NAME`: the policy's verdict on each state's own snapshots (see
 * core/retention.ts); every snapshot kept says for what, every one dropped why.
 */
export function planPolicyPrune(c: Config, state: string | undefined, policyName: string): Decide {
  if (state !== undefined) validateName('state', state, MAX_EXISTING);
  const policy = policyOf(c, policyName);
  return (facts) => {
    const states =
      state === undefined
        ? statesByName(facts).filter((s) => s.kind === 'dataset')
        : [requireDataset(facts, state)];
    const details: string[] = [];
    const doomed: SnapshotFact[] = [];
    for (const s of states)
      for (const j of judge(policy, s.snapshots)) {
        details.push(`${j.verdict.keep ? 'keep' : 'drop'} ${s.name}@${j.snapshot.name}: ${j.verdict.why}`);
        if (!j.verdict.keep) doomed.push(j.snapshot);
      }
    const frees = doomed.reduce((n, x) => n + x.used, 0);
    const where = state === undefined ? 'every state' : `state '${state}'`;
    return {
      summary: doomed.length
        ? `Prune ${doomed.length} snapshot(s) of ${where} by policy '${policyName}'; reclaims at least ${bytesText(frees)}`
        : `Prune snapshots of ${where} by policy '${policyName}': nothing to delete`,
      steps: doomed.map((x) => destroyStep(x.fullName, { frees: x.used })),
      warnings: [],
      notes: [
        doomed.length
          ? `Deleted ${doomed.length} snapshot(s): ${doomed.map((x) => `${x.state}@${x.name}`).join(', ')}`
          : 'Nothing to prune',
      ],
      details,
    };
  };
}
