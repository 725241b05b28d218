import type { Config } from '../schemas/config.js';
import { bytesText } from '../core/bytes.js';
import { VmStateError } from '../core/errors.js';
import { datasetShown, statesByName, type SnapshotFact, type StateFact } from '../core/facts.js';
import { shown, MAX_EXISTING, validateName } from '../core/names.js';
import type { Decide, Step } from '../core/plan.js';
import { requireDataset } from '../core/guards.js';
import { destroyStep } from '../core/steps.js';
import type { MutationSpec } from './spec.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `7d`, `12h`, `1d12h`, `90m`, `2w`, `30s` -> milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+)([smhdw])/gy;
  let ms = 0;
  let end = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    end = re.lastIndex;
  }
  if (text.length === 0 || end !== text.length || !Number.isSafeInteger(ms)) {
    throw new VmStateError('usage', `Invalid duration ${shown(text)}`, {
      hint: 'Use a number and a unit: 30m, 12h, 7d, 2w, or combined: 1d12h',
    });
  }
  return ms;
}

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

export function planPrune(_c: Config, req: PruneRequest, now: Date = new Date()): Decide {
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
  args: [{ name: 'state', kind: 'state', optional: true }],
  options: [
    { flags: '--keep <n>', description: 'keep the newest N snapshots of each state' },
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
  ],
  scope: (input) => (input.state === undefined ? 'all' : { names: [String(input.state)], clones: true }),
  plan: (c, input) =>
    planPrune(c, {
      state: input.state as string | undefined,
      keep: input.keep as string | undefined,
      olderThan: input.olderThan as string | undefined,
    }),
};
