import type { Assignments } from '../schemas/assignments.js';
import type { StateFact, UnitFact } from './facts.js';
import { nameProblem } from './names.js';

/**
 * Decisions about what the system's raw state means; io reads it, these
 * judge it.
 */

/**
 * Which directories of statesDir are plain-directory states: a valid name that
 * is neither a dataset's state nor in `mountpoints`, every dataset's mountpoint
 * (mounted or not: a rename that did not finish leaves one named after the old state).
 */
export function directoryStates(
  statesDir: string,
  parent: string,
  datasets: Map<string, StateFact>,
  dirs: string[],
  mountpoints: Set<string>,
) {
  return dirs
    .filter((d) => nameProblem(d) === undefined && !datasets.has(d) && !mountpoints.has(`${statesDir}/${d}`))
    .map((name): StateFact => ({
      name,
      kind: 'directory',
      dataset: `${parent}/${name}`,
      mountpoint: `${statesDir}/${name}`,
      mounted: false,
      used: null,
      available: null,
      referenced: null,
      origin: null,
      created: null,
      guid: null,
      snapshots: [],
      replicaOf: null,
      syncedAt: null,
      sentTo: [],
    }));
}

/**
 * The state a start record names (`state\nmicros\n`), or null. A record written
 * before the unit's current start is stale: that start went around both
 * vm-state and the start guard (a plain systemctl start with the guard off), so
 * it says nothing about what runs now. Records without a time (older
 * versions) are taken as they are.
 */
export function recordedState(record: string | null, unit: UnitFact): string | null {
  const [state, micros] = (record ?? '').split('\n');
  if (!state || nameProblem(state) !== undefined) return null;
  const at = Number(micros);
  return micros && Number.isFinite(at) && unit.startedAtMicros > 0 && at < unit.startedAtMicros
    ? null
    : state;
}

export type RecoveredFrom = 'backup' | 'links' | 'links and backup';

/**
 * The assignments to use when the file is broken. The slot links are the
 * truth of the last assign (a link is written after the file); the backup,
 * one change older, only fills in slots that have no link into statesDir.
 */
export function recoveredAssignments(
  statesDir: string,
  links: Record<string, string | null>,
  backup: Assignments,
): { assignments: Assignments; from: RecoveredFrom } {
  const fromLinks: Assignments = {};
  for (const [slot, target] of Object.entries(links)) {
    const m = target?.startsWith(`${statesDir}/`)
      ? /^([^/]+)\/data\.img$/.exec(target.slice(statesDir.length + 1))
      : null;
    if (m && nameProblem(m[1]!) === undefined) fromLinks[slot] = m[1]!;
  }
  const filled = Object.keys(backup).filter((slot) => !(slot in fromLinks));
  const assignments = { ...Object.fromEntries(filled.map((slot) => [slot, backup[slot]!])), ...fromLinks };
  const from =
    filled.length === 0 ? 'links' : Object.keys(fromLinks).length === 0 ? 'backup' : 'links and backup';
  return { assignments, from };
}
