import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { slotDirOf } from '../core/layout.js';
import type { Config } from '../schemas/config.js';
import { isAlive } from './process.js';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Entries of `dir` matching `pattern` (whose group 1 is a pid) left by processes that are gone. */
function deadTemps(dir: string, pattern: RegExp): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const m = pattern.exec(n);
    return m && !isAlive(Number(m[1])) ? [join(dir, n)] : [];
  });
}

/**
 * Temporary files that a run killed mid-write left behind (atomic writes of
 * the assignments file and its backups, of the slot links, and of the lock
 * file before it is linked into place): harmless, but clutter that doctor removes.
 */
export function leftoverTemps(c: Config): string[] {
  const file = basename(c.assignmentsFile);
  return [
    ...deadTemps(dirname(c.lockFile), new RegExp(`^${escape(basename(c.lockFile))}\\.new-(\\d+)-\\d+$`)),
    ...deadTemps(
      dirname(c.assignmentsFile),
      new RegExp(`^\\.${escape(file)}(?:\\.bak|\\.broken)?\\.(\\d+)\\.tmp$`),
    ),
    ...c.slots.flatMap((s) => deadTemps(slotDirOf(c, s), /^data\.img\.vm-state-(\d+)\.tmp$/)),
  ];
}
