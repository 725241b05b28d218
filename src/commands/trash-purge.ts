import type { Config } from '../schemas/config.js';
import { bytesText } from '../core/bytes.js';
import { parseDuration } from '../core/clock.js';
import { destroySteps } from '../core/destroy.js';
import { VmStateError } from '../core/errors.js';
import type { Facts } from '../core/facts.js';
import { MAX_EXISTING, validateName } from '../core/names.js';
import type { Decide, Step } from '../core/plan.js';
import { trashOf, type TrashEntry } from '../core/trash.js';
import type { MutationSpec } from './spec.js';

export interface PurgeRequest {
  /** Only the entries of this state's name, or this one entry (its id). */
  name?: string;
  /** Only entries deleted longer ago than this many ms. */
  olderThanMs?: number;
  /** How the age was asked for, for messages: `--older-than 3d`, `--expired (trash.keep 7d)`. */
  age?: string;
  at: Date;
}

/**
 * Entries in an order each can be destroyed in: one that others in the set were cloned from
 * comes after them, so its destroy never needs a promote of a dataset that is going too.
 */
function clonesFirst(entries: TrashEntry[]): TrashEntry[] {
  const left = new Set(entries);
  const order: TrashEntry[] = [];
  while (left.size > 0) {
    const others = (e: TrashEntry) => [...left].filter((x) => x !== e).map((x) => x.dataset);
    const free = [...left].filter(
      (e) => !e.snapshots.some((s) => s.clones.some((d) => others(e).includes(d))),
    );
    for (const e of free.length ? free : [...left]) {
      left.delete(e);
      order.push(e);
    }
  }
  return order;
}

/**
 * `trash purge`: destroys deleted states for good, as `delete --now` destroys a state:
 * where other datasets were cloned from an entry's snapshots, the newest such clone is
 * promoted first, so they keep working.
 */
export function planPurge(c: Config, req: PurgeRequest): Decide {
  if (req.name !== undefined) validateName('state', req.name, MAX_EXISTING);
  return (facts: Facts) => {
    const trash = trashOf(facts);
    const named =
      req.name === undefined
        ? trash.entries
        : trash.entries.filter((e) => e.name === req.name || e.original === req.name);
    if (req.name !== undefined && named.length === 0) {
      throw new VmStateError('not-found', `Nothing called '${req.name}' in the trash`, {
        hint: 'See what it holds with: vm-state trash list',
      });
    }
    const cutoff = req.olderThanMs === undefined ? Infinity : req.at.getTime() - req.olderThanMs;
    // An entry of unknown age (not one vm-state made) goes only when asked for by name or all at once.
    const chosen =
      cutoff === Infinity
        ? named
        : named.filter((e) => e.trashedAt !== null && e.trashedAt.getTime() <= cutoff);
    const steps: Step[] = [];
    const notes: string[] = [];
    const gone = new Set<string>();
    for (const e of clonesFirst(chosen)) {
      const d = destroySteps(c, facts, e, { name: e.original, mounted: false, gone });
      steps.push(...d.steps);
      notes.push(...d.notes);
      gone.add(e.dataset);
    }
    const frees = chosen.reduce((n, e) => n + (e.used ?? 0), 0);
    const which = [req.name === undefined ? '' : `'${req.name}'`, req.age ?? ''].filter(Boolean).join(', ');
    const ids = chosen.map((e) => e.name).join(', ');
    return {
      summary: chosen.length
        ? `Purge ${chosen.length} deleted state(s) from the trash${which ? ` (${which})` : ''}: ${ids}; frees about ${bytesText(frees)}`
        : `Purge the trash${which ? ` (${which})` : ''}: nothing to purge`,
      steps,
      warnings: chosen.length ? [`This permanently destroys ${ids} and all their data!`] : [],
      notes: [chosen.length ? `Purged ${ids}` : 'Nothing to purge', ...notes],
    };
  };
}

export const trashPurge: MutationSpec = {
  kind: 'mutation',
  name: 'trash purge',
  args: [{ name: 'name', kind: 'word', optional: true }],
  options: [
    { flags: '--older-than <duration>', description: 'only those deleted longer ago than this: 12h, 7d, 2w' },
    {
      flags: '--expired',
      description: "only those older than the config's trash.keep (the timer runs this)",
    },
  ],
  description: 'destroy deleted states for good (all, by name, or by age); asks you to type PURGE',
  readme: [
    {
      usage: '`vm-state trash purge [--older-than 7d \\| --expired] [name]`',
      text:
        'destroys deleted states for good (every one, those of that name or id, those older than that, or past ' +
        '`trash.keep`); promotes what was cloned from them first; asks for `PURGE`; `--dry-run` says what it frees',
    },
  ],
  confirm: 'PURGE',
  agent: { destructive: true },
  scope: () => 'all',
  plan: (c, input, run) => {
    if (input.expired && input.olderThan !== undefined)
      throw new VmStateError('usage', '--expired is --older-than trash.keep: give one of them');
    const age = input.expired
      ? `older than trash.keep, ${c.trash.keep}`
      : input.olderThan === undefined
        ? undefined
        : `older than ${String(input.olderThan)}`;
    const olderThan = input.expired ? c.trash.keep : (input.olderThan as string | undefined);
    return planPurge(c, {
      name: input.name as string | undefined,
      olderThanMs: olderThan === undefined ? undefined : parseDuration(olderThan),
      age,
      at: run.at,
    });
  },
};
