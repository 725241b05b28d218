import type { Facts, LinkFact, SlotFact, SnapshotFact, StateFact, UnitFact } from './facts.js';

/**
 * The facts a plan was decided on, as parts: a key (`state dev`, `snapshot dev@a`,
 * `slot slot1`) and a readable value holding what the planners read of it. Two reads
 * give equal parts exactly when nothing a planner decides on changed; what changes on
 * its own while nothing happens (bytes used, free space) is left out, or every plan
 * would be stale a second later. Made from the facts already read: no process more.
 */
export type FactParts = Record<string, string>;

const yes = (b: boolean) => (b ? 'yes' : 'no');
const iso = (t: Date | null) => t?.toISOString() ?? '-';

function stateValue(s: StateFact): string {
  if (s.kind !== 'dataset') return `${s.kind} ${s.mountpoint}`;
  const sent = s.sentTo.map((t) => `${t.remote}=${t.name}@${t.at}`).join(',') || '-';
  return [
    `guid=${s.guid ?? '-'}`,
    `created=${iso(s.created)}`,
    `origin=${s.origin ?? '-'}`,
    `mountpoint=${s.mountpoint}`,
    `mounted=${yes(s.mounted)}`,
    `replica-of=${s.replicaOf ?? '-'}`,
    `synced=${s.syncedAt ?? '-'}`,
    `sent=${sent}`,
  ].join(' ');
}

const snapshotValue = (x: SnapshotFact) =>
  `guid=${x.guid} created=${iso(x.created)} holds=${x.holds} clones=${x.clones.length ? [...x.clones].sort().join(',') : '-'}`;

function slotValue(s: SlotFact): string {
  const u = s.unit;
  const link = s.link.kind === 'symlink' ? `${s.link.target}(${s.link.targetKind ?? '?'})` : s.link.kind;
  return [
    `state=${s.state}${s.explicit ? '' : '(default)'}`,
    `unit=${u.loadState}/${u.activeState}/${u.subState}`,
    `pid=${u.mainPid}`,
    `started=${u.startedAtMicros}`,
    `started-on=${s.startedOn ?? '-'}`,
    `link=${link}`,
  ].join(' ');
}

/** A record with its keys in order, so that equal content is equal text. */
const sortedJson = (o: Record<string, string>) =>
  JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

/** The parts of `facts`, in a stable order. */
export function factParts(facts: Facts): FactParts {
  const parts: FactParts = {
    parent: `${facts.parent} exists=${yes(facts.parentExists)} mounted=${yes(facts.parentMounted)}`,
    assignments: sortedJson(facts.assignments),
  };
  for (const s of [...facts.states.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    parts[`state ${s.name}`] = stateValue(s);
    for (const x of s.snapshots) parts[`snapshot ${s.name}@${x.name}`] = snapshotValue(x);
  }
  if (facts.mountpoints) parts.mountpoints = sortedJson(Object.fromEntries(facts.mountpoints));
  // Deleted states: undelete and purge decide on them (which entry, its clones, its age).
  if (facts.trash) {
    parts.trash = `${facts.trash.dataset} exists=${yes(facts.trash.exists)}`;
    for (const e of facts.trash.entries) {
      parts[`trash ${e.name}`] = `${stateValue(e)} was=${e.original} at=${iso(e.trashedAt)}`;
      for (const x of e.snapshots) parts[`trash ${e.name}@${x.name}`] = snapshotValue(x);
    }
  }
  for (const s of facts.slots) parts[`slot ${s.name}`] = slotValue(s);
  return parts;
}

/** One part that differs between the facts a plan was decided on and the facts now. */
export interface PartChange {
  part: string;
  /** null: the part is new. */
  was: string | null;
  /** null: the part is gone. */
  now: string | null;
}

/** What changed from `was` to `now`, part by part, in `was`'s order then the new parts. */
export function diffParts(was: FactParts, now: FactParts): PartChange[] {
  const changes: PartChange[] = [];
  for (const [part, value] of Object.entries(was))
    if (now[part] !== value) changes.push({ part, was: value, now: now[part] ?? null });
  for (const [part, value] of Object.entries(now))
    if (!(part in was)) changes.push({ part, was: null, now: value });
  return changes;
}

/** A change in one line: `snapshot dev@a: added (guid=…)`, `slot slot1: unit=…/inactive → unit=…/active`. */
export function changeText(c: PartChange): string {
  if (c.was === null) return `${c.part}: added (${c.now})`;
  if (c.now === null) return `${c.part}: gone (was ${c.was})`;
  // Only the fields that differ, where a value is a list of fields.
  const a = c.was.split(' ');
  const b = c.now.split(' ');
  if (a.length === b.length && a.length > 1) {
    const pairs = a.flatMap((f, i) => (f === b[i] ? [] : [`${f} → ${b[i]}`]));
    return `${c.part}: ${pairs.join(', ')}`;
  }
  return `${c.part}: ${c.was} → ${c.now}`;
}

const PART = 'a part';
const MOVES = 'left out: it moves on while nothing happens';

/**
 * Every field of the facts, and whether the parts hold it. A field added to the facts does not
 * compile here until it is said which: a planner deciding on a fact the parts lack would let a
 * plan whose facts changed pass as unchanged (its steps are still compared, through the token).
 */
export const FINGERPRINT_COVERAGE: {
  facts: Record<keyof Facts, string>;
  state: Record<keyof StateFact, string>;
  snapshot: Record<keyof SnapshotFact, string>;
  slot: Record<keyof SlotFact, string>;
  unit: Record<keyof UnitFact, string>;
  link: Record<keyof LinkFact, string>;
} = {
  facts: {
    parent: PART,
    parentExists: PART,
    parentMounted: PART,
    parentAvailable: MOVES,
    states: PART,
    mountpoints: PART,
    slots: PART,
    assignments: PART,
    trash: PART,
  },
  state: {
    name: PART,
    kind: PART,
    dataset: 'left out: the name and the configuration say it',
    mountpoint: PART,
    mounted: PART,
    used: MOVES,
    available: MOVES,
    referenced: MOVES,
    origin: PART,
    created: PART,
    guid: PART,
    snapshots: PART,
    replicaOf: PART,
    syncedAt: PART,
    sentTo: PART,
  },
  snapshot: {
    name: PART,
    state: 'left out: the state it is listed under says it',
    fullName: 'left out: the state and the name say it',
    created: PART,
    used: MOVES,
    referenced: 'left out: fixed once taken, and decides nothing',
    clones: PART,
    guid: PART,
    holds: PART,
  },
  slot: { name: PART, state: PART, explicit: PART, unit: PART, link: PART, startedOn: PART },
  unit: {
    unit: 'left out: the slot and the configuration say it',
    loadState: PART,
    activeState: PART,
    subState: PART,
    mainPid: PART,
    result: "left out: the last run's outcome, which no planner reads",
    startedAtMicros: PART,
  },
  link: {
    path: 'left out: the slot and the configuration say it',
    kind: PART,
    target: PART,
    resolves: 'left out: what kind and target say, once the image exists',
    targetKind: PART,
  },
};
