import { MAX_EXISTING, MAX_NAME, nameProblem } from '../schemas/names.js';
import { VmStateError } from './errors.js';

export { MAX_EXISTING, MAX_NAME, nameProblem };

export type NameKind = 'state' | 'snapshot' | 'remote';

/** A full dataset or snapshot name vm-state is about to create must fit ZFS's limit. */
export function requireZfsFits(fullName: string): string {
  if (fullName.length > MAX_EXISTING) {
    throw new VmStateError(
      'invalid-name',
      `The ZFS name ${shown(fullName)} would be ${fullName.length} characters long (ZFS allows 255)`,
      {
        hint: 'Use shorter names',
      },
    );
  }
  return fullName;
}

/** `base`, or `base-2`, `base-3`...: the first that `taken` does not hold (two runs in one second). */
export function untakenName(base: string, taken: Iterable<string>): string {
  const names = new Set(taken);
  let name = base;
  for (let n = 2; names.has(name); n++) name = `${base}-${n}`;
  return name;
}

/**
 * Byte order, as zfs sorts names (names are ASCII, so UTF-16 order is byte order).
 * Not localeCompare: its ICU collation is slow, and not the order zfs uses.
 */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A printable rendering of untrusted input for error messages (no control characters). */
export function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

export function validateName(kind: NameKind, name: string, max = MAX_NAME): string {
  const problem = nameProblem(name, max);
  if (problem) {
    throw new VmStateError('invalid-name', `Invalid ${kind} name ${shown(name)}: it ${problem}`, {
      hint: 'Names use letters, digits and _ . : - and start with a letter, digit or _',
    });
  }
  return name;
}

export function validateSlot(slot: string, slots: readonly string[]): string {
  if (!slots.includes(slot)) {
    throw new VmStateError(
      'invalid-name',
      `Invalid slot name ${shown(slot)}: configured slots are ${slots.join(', ')}`,
    );
  }
  return slot;
}

/** `snap` or `state@snap`, as `restore` accepts. */
export function parseSnapshotRef(ref: string): { state?: string; snapshot: string } {
  const at = ref.indexOf('@');
  if (at === -1) return { snapshot: validateName('snapshot', ref, MAX_EXISTING) };
  return {
    state: validateName('state', ref.slice(0, at), MAX_EXISTING),
    snapshot: validateName('snapshot', ref.slice(at + 1), MAX_EXISTING),
  };
}
