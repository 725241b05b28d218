import { VmStateError } from './errors.js';
import { shown } from './names.js';

/**
 * Now, for decisions made on time (which snapshots a policy keeps, whether a
 * period's snapshot exists). VM_STATE_NOW (an ISO 8601 time) sets it: for tests,
 * which simulate months of snapshots in seconds. Operators never need it.
 */
export function now(env: NodeJS.ProcessEnv = process.env): Date {
  const said = env.VM_STATE_NOW;
  if (said === undefined || said === '') return new Date();
  const t = new Date(said);
  if (Number.isNaN(t.getTime())) throw new Error(`VM_STATE_NOW is not an ISO 8601 time: ${said}`);
  return t;
}

/** `20261201T131500Z`: UTC, sortable, letters a snapshot name may hold. */
export const stamp = (t: Date) =>
  t
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `7d`, `12h`, `1d12h`, `90m`, `2w`, `30s` -> milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+)([smhdw])/gy;
  let ms = 0;
  let end = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    end = re.lastIndex;
  }
  if (text.length === 0 || end !== text.length || !Number.isSafeInteger(ms)) {
    throw new VmStateError('usage', `Invalid duration ${shown(text)}`, {
      hint: 'Use a number and a unit: 30m, 12h, 7d, 2w, or combined: 1d12h',
    });
  }
  return ms;
}
