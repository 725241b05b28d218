import { readFileSync } from 'node:fs';
import { VmStateError } from '../core/errors.js';
import { AssignmentsSchema, type Assignments } from '../schemas/assignments.js';
import { writeFileAtomic } from './atomic-file.js';
import { describeIssues } from './config.js';

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
      hint: `Inspect it and its previous version ${path}.bak; fix it by hand or restore the backup (cp ${path}.bak ${path})`,
    });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw broken(text.trim() === '' ? 'the file is empty' : `not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw broken('it must hold a JSON object like {"slot1":"dev-env"}');
  const parsed = AssignmentsSchema.safeParse(json);
  if (!parsed.success) throw broken(describeIssues(parsed.error));
  return parsed.data;
}

export function writeAssignments(path: string, assignments: Assignments): void {
  const sorted = Object.fromEntries(Object.entries(assignments).sort(([a], [b]) => a.localeCompare(b)));
  writeFileAtomic(path, `${JSON.stringify(sorted, null, 2)}\n`, { backup: true });
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
