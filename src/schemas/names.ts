/** The rules of state and snapshot names, which every document and command shares. */

/**
 * State and snapshot names become ZFS name components and directory names.
 * ZFS allows [A-Za-z0-9_.:- ] in a component; we are stricter so that a name
 * can never be read as an option (leading '-'), escape the states directory
 * ('/', '..', leading '.'), address a snapshot ('@'), or hide in whitespace.
 */
const COMPONENT = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;

/**
 * New names are at most 100 characters, so that the longest name vm-state
 * builds, `<parent>/<state>@clone-for-<state>`, fits ZFS's 255 under the usual
 * parent; `requireZfsFits` checks the full names all the same. Names of things
 * that already exist (in the assignments file, in a snapshot reference) may be
 * as long as ZFS allows: the old script made such names.
 */
export const MAX_NAME = 100;
export const MAX_EXISTING = 255;

/** The same rules as patterns, for JSON Schema (the MCP tools' input): no '..' anywhere. */
const PART = COMPONENT.source.slice(1, -1);
export const NAME_PATTERN = `^(?!.*\\.\\.)${PART}$`;
/** `<snap>` or `<state>@<snap>`. */
export const SNAPSHOT_REF_PATTERN = `^(?!.*\\.\\.)(?:${PART}@)?${PART}$`;

export function nameProblem(name: string, max = MAX_NAME): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > max) return `is ${name.length} characters long (at most ${max})`;
  if (name.startsWith('-')) return "starts with '-' (it would be read as an option)";
  if (name.startsWith('.')) return "starts with '.'";
  if (name.includes('..')) return "contains '..'";
  if (name.includes('/')) return "contains '/'";
  if (name.includes('@')) return "contains '@'";
  if (/\s/u.test(name)) return 'contains whitespace';
  if (!COMPONENT.test(name)) return 'may only contain letters, digits and _ . : - (ASCII)';
  return undefined;
}
