import { VmStateError } from './errors.js';

/**
 * State and snapshot names become ZFS name components and directory names.
 * ZFS allows [A-Za-z0-9_.:- ] in a component; we are stricter so that a name
 * can never be read as an option (leading '-'), escape the states directory
 * ('/', '..', leading '.'), address a snapshot ('@'), or hide in whitespace.
 */
const COMPONENT = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;

export type NameKind = 'state' | 'snapshot';

/**
 * ZFS rejects full names of 256 characters or more. The longest name vm-state
 * builds is `<parent>/<state>@clone-for-<state>`: with names of at most 100
 * characters and a parent of at most 40 (checked in the config schema), it fits.
 */
export const MAX_NAME = 100;
export const MAX_PARENT = 40;

export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_NAME) return `is ${name.length} characters long (at most ${MAX_NAME})`;
  if (name.startsWith('-')) return "starts with '-' (it would be read as an option)";
  if (name.startsWith('.')) return "starts with '.'";
  if (name.includes('..')) return "contains '..'";
  if (name.includes('/')) return "contains '/'";
  if (name.includes('@')) return "contains '@'";
  if (/\s/u.test(name)) return 'contains whitespace';
  if (!COMPONENT.test(name)) return 'may only contain letters, digits and _ . : - (ASCII)';
  return undefined;
}

/** A printable rendering of untrusted input for error messages (no control characters). */
export function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

export function validateName(kind: NameKind, name: string): string {
  const problem = nameProblem(name);
  if (problem) {
    throw new VmStateError('invalid-name', `Invalid ${kind} name ${shown(name)}: it ${problem}`, {
      hint: 'Names use letters, digits and _ . : - and start with a letter, digit or _',
    });
  }
  return name;
}

export function validateSlot(slot: string, slots: readonly string[]): string {
  if (!slots.includes(slot)) {
    throw new VmStateError('invalid-name', `Invalid slot name ${shown(slot)}: configured slots are ${slots.join(', ')}`);
  }
  return slot;
}

/** `snap` or `state@snap`, as `restore` accepts. */
export function parseSnapshotRef(ref: string): { state?: string; snapshot: string } {
  const at = ref.indexOf('@');
  if (at === -1) return { snapshot: validateName('snapshot', ref) };
  return {
    state: validateName('state', ref.slice(0, at)),
    snapshot: validateName('snapshot', ref.slice(at + 1)),
  };
}
