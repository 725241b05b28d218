import type { UnitFact } from '../core/facts.js';

// InactiveExitTimestampMonotonic: when the unit last began to start, to tell a current
// record of the state its VM started on from one left by an earlier run (SlotManager).
export const UNIT_PROPERTIES = [
  'Id',
  'LoadState',
  'ActiveState',
  'SubState',
  'MainPID',
  'Result',
  'InactiveExitTimestampMonotonic',
] as const;
export const systemctlShowArgv = (units: readonly string[]) => [
  'systemctl',
  'show',
  '-p',
  UNIT_PROPERTIES.join(','),
  '--',
  ...units,
];

/**
 * Parses `systemctl show -p … u1 u2 …`: one block of KEY=value lines per unit,
 * blocks separated by an empty line, in the order the units were given.
 */
export function parseSystemctlShow(stdout: string, units: readonly string[]): UnitFact[] {
  const blocks = stdout
    .split(/\n\s*\n/)
    .map((b) => b.trim())
    .filter(Boolean);
  return units.map((unit, i) => {
    const kv = new Map<string, string>();
    for (const line of (blocks[i] ?? '').split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1));
    }
    return {
      unit,
      loadState: kv.get('LoadState') ?? 'unknown',
      activeState: kv.get('ActiveState') ?? 'unknown',
      subState: kv.get('SubState') ?? 'unknown',
      mainPid: Number(kv.get('MainPID') ?? 0) || 0,
      result: kv.get('Result') ?? 'unknown',
      startedAtMicros: Number(kv.get('InactiveExitTimestampMonotonic') ?? 0) || 0,
    };
  });
}
