import type { Config, Policy } from '../schemas/config.js';
import { VmStateError } from './errors.js';
import type { SnapshotFact } from './facts.js';

/**
 * Which snapshots a retention policy keeps, as Proxmox Backup Server decides it
 * (its prune simulator documents it): the rules run in order, latest, hourly,
 * daily, weekly, monthly, yearly; each walks the snapshots newest first and keeps
 * the newest of each period (hour, UTC day, ISO week, month, year) until it has
 * kept its count of periods; a period that an earlier rule already kept a snapshot
 * in is passed over and does not count. So `daily: 7` keeps seven days besides
 * the days the hourly rule already covers: the counts add up, where sanoid's
 * overlap (and prune too little, its users find). Periods are UTC: no DST.
 *
 * Only the policy's own snapshots (names with its prefixes, `auto-` by default)
 * are judged; a snapshot states were cloned from, or a held one (a send's base),
 * is never pruned and counts for no period.
 */

export type Verdict = { keep: true; why: string } | { keep: false; why: string };

export interface Judged {
  snapshot: SnapshotFact;
  verdict: Verdict;
}

const RULES = ['latest', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
type Rule = (typeof RULES)[number];

const pad = (n: number) => String(n).padStart(2, '0');

/** The period of `t` for a rule, as a key: `2026-12-01T13`, `2026-12-01`, `2026-W49`, `2026-12`, `2026`. */
export function periodOf(rule: Rule, t: Date): string {
  const y = t.getUTCFullYear();
  const m = pad(t.getUTCMonth() + 1);
  const d = pad(t.getUTCDate());
  switch (rule) {
    case 'latest':
      return String(t.getTime()); // every snapshot is its own period
    case 'hourly':
      return `${y}-${m}-${d}T${pad(t.getUTCHours())}`;
    case 'daily':
      return `${y}-${m}-${d}`;
    case 'weekly': {
      const { year, week } = isoWeek(t);
      return `${year}-W${pad(week)}`;
    }
    case 'monthly':
      return `${y}-${m}`;
    case 'yearly':
      return String(y);
  }
}

/** ISO 8601 week: weeks start on Monday; week 1 holds the year's first Thursday. */
function isoWeek(t: Date): { year: number; week: number } {
  const day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  return { year: day.getUTCFullYear(), week: Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7) };
}

/**
 * When a snapshot was taken for: the UTC time in its name (`auto-20261201T130000Z`, as
 * auto-snapshot names them, and as sanoid reads its own), else its creation time. The name
 * wins because it says the period the snapshot stands for, whatever the clock did since.
 */
export function takenAt(s: SnapshotFact): Date {
  const m = /(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s.name);
  if (!m) return s.created;
  const t = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(t.getTime()) ? s.created : t;
}

export const ownedBy = (policy: Policy, snapshotName: string) =>
  policy.prefixes.some((p) => snapshotName.startsWith(p));

/** The verdict on each of one state's snapshots the policy owns (oldest first, as given). */
export function judge(policy: Policy, snapshots: readonly SnapshotFact[]): Judged[] {
  const owned = snapshots.filter((s) => ownedBy(policy, s.name));
  const verdicts = new Map<SnapshotFact, Verdict>();
  // Kept whatever the rules say, and covering no period for them (as Proxmox's protected ones).
  const pinned = new Set<SnapshotFact>();
  for (const s of owned) {
    if (s.clones.length > 0) verdicts.set(s, { keep: true, why: 'states were cloned from it' });
    else if (s.holds > 0) verdicts.set(s, { keep: true, why: 'held: the base of the next send' });
    if (verdicts.has(s)) pinned.add(s);
  }
  const newestFirst = [...owned].sort((a, b) => takenAt(b).getTime() - takenAt(a).getTime());
  for (const rule of RULES) {
    const count = policy[rule];
    if (count === 0) continue;
    // Periods a snapshot kept by an earlier rule already covers: passed over, not counted.
    const covered = new Set(
      newestFirst
        .filter((s) => verdicts.get(s)?.keep === true && !pinned.has(s))
        .map((s) => periodOf(rule, takenAt(s))),
    );
    const kept = new Set<string>();
    for (const s of newestFirst) {
      if (verdicts.has(s)) continue;
      const period = periodOf(rule, takenAt(s));
      if (covered.has(period) || kept.has(period)) continue;
      if (kept.size >= count) break;
      kept.add(period);
      verdicts.set(s, {
        keep: true,
        why: rule === 'latest' ? `latest ${kept.size} of ${count}` : `${rule} ${period}`,
      });
    }
  }
  // Each period's kept snapshot (the newest wins): what a dropped one lost to.
  const keptBy = new Map<string, SnapshotFact>();
  for (const s of newestFirst)
    if (verdicts.get(s)?.keep && !pinned.has(s))
      for (const rule of RULES.slice(1)) {
        const key = `${rule} ${periodOf(rule, takenAt(s))}`;
        if (!keptBy.has(key)) keptBy.set(key, s);
      }
  return owned.map((snapshot) => ({
    snapshot,
    verdict: verdicts.get(snapshot) ?? { keep: false, why: dropReason(policy, snapshot, keptBy) },
  }));
}

/** Why a snapshot goes: another of its period was kept, or its periods are past every count. */
function dropReason(policy: Policy, s: SnapshotFact, keptBy: Map<string, SnapshotFact>): string {
  for (const rule of RULES.slice(1)) {
    if (policy[rule] === 0) continue;
    const sibling = keptBy.get(`${rule} ${periodOf(rule, takenAt(s))}`);
    if (sibling) return `${sibling.name} is kept for ${rule} ${periodOf(rule, takenAt(s))}`;
  }
  const counts = RULES.filter((r) => policy[r] > 0).map((r) => `${r} ${policy[r]}`);
  return `older than what the policy keeps (${counts.join(', ') || 'nothing'})`;
}

/** The policy named `name`, or a config error (exit 2). */
export function policyOf(c: Config, name: string): Policy {
  const p = c.policies[name];
  if (!p)
    throw new VmStateError('config', `No policy '${name}' in the configuration`, {
      hint: `Policies: ${Object.keys(c.policies).join(', ') || 'none'}`,
    });
  return p;
}
