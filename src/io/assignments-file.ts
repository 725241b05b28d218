import { readFileSync, rmSync } from 'node:fs';
import { VmStateError } from '../core/errors.js';
import { AssignmentsSchema, type Assignments } from '../schemas/assignments.js';
import { writeFileAtomic } from './atomic-file.js';
import { describeIssues } from './config.js';
import { compareNames } from '../core/names.js';
import { recoveredAssignments } from '../core/policy.js';

/** Missing file: no explicit assignments. Anything unreadable is an error naming the file: never read as empty. */
export function readAssignments(path: string): Assignments {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new VmStateError('failed', `Cannot read assignments file ${path}: ${(e as Error).message}`);
  }
  const broken = (problem: string) =>
    new VmStateError('config', `Assignments file ${path} is invalid: ${problem}`, {
      hint: `Rebuild it from the slot links with: vm-state doctor --repair (${path}.bak is the version before the last change, not a copy of this one)`,
    });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw broken(text.trim() === '' ? 'the file is empty' : `not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw broken('it must hold a JSON object like {"slot1":"dev-env"}');
  const parsed = AssignmentsSchema.safeParse(json);
  if (!parsed.success) throw broken(describeIssues(parsed.error));
  return parsed.data;
}

/**
 * Writes the file atomically. The previous version becomes `<path>.bak` when
 * it was valid; a broken one is kept as `<path>.broken` instead, so that it
 * never replaces a good backup.
 */
export function writeAssignments(path: string, assignments: Assignments): void {
  const sorted = Object.fromEntries(Object.entries(assignments).sort(([a], [b]) => compareNames(a, b)));
  const previous = snapshotFile(path);
  if (previous !== null) {
    let valid = true;
    try {
      readAssignments(path);
    } catch {
      valid = false;
    }
    writeFileAtomic(valid ? `${path}.bak` : `${path}.broken`, previous);
  }
  writeFileAtomic(path, `${JSON.stringify(sorted, null, 2)}\n`);
}

/** Puts back exactly what `snapshotFile` returned (null: there was no file). */
export function restoreFile(path: string, content: string | null): void {
  if (content === null) rmSync(path, { force: true });
  else writeFileAtomic(path, content);
}

/** The assignments a broken file is rebuilt from: the slot links, then its backup (see recoveredAssignments). */
export function recoverAssignments(path: string, statesDir: string, links: Record<string, string | null>) {
  let backup: Assignments = {};
  try {
    if (snapshotFile(`${path}.bak`) !== null) backup = readAssignments(`${path}.bak`);
  } catch {
    /* the backup is broken too */
  }
  return recoveredAssignments(statesDir, links, backup);
}

/** The file's raw text, or null when absent: what an undo puts back. */
export function snapshotFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
