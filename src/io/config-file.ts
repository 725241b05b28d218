import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { VmStateError } from '../core/errors.js';
import { ConfigSchema } from '../schemas/config.js';
import { writeFileAtomic } from './atomic-file.js';
import { describeIssues, readConfigFile } from './config.js';

/** The config file's JSON as written (defaults not filled in), `{}` when there is none yet. */
export const readConfigJson = (path: string): Record<string, unknown> => readConfigFile(path, false);

/**
 * Writes the config file with `json`, checked first: a file another tool owns (the
 * Nix module's, a link into the store) is never replaced, and an invalid result is
 * never written.
 */
export function writeConfigJson(path: string, json: Record<string, unknown>): void {
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success)
    throw new VmStateError('config', `The new ${path} would be invalid: ${describeIssues(parsed.error)}`);
  let isLink = false;
  try {
    isLink = lstatSync(path).isSymbolicLink();
  } catch {
    // No file yet: it is made.
  }
  if (isLink)
    throw new VmStateError('config', `${path} is a link (managed by NixOS?): not changing it`, {
      hint: 'Set programs.vm-state.remotes in the NixOS configuration instead',
    });
  const before = (() => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  })();
  const text = `${JSON.stringify(json, null, 2)}\n`;
  if (text === before) return;
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileAtomic(path, text);
}
