import { readFileSync } from 'node:fs';

/** Looks a user or group up in /etc/passwd or /etc/group (no process spawned). */
export function lookupId(kind: 'user' | 'group', name: string, root = '/etc'): number | undefined {
  let text: string;
  try {
    text = readFileSync(`${root}/${kind === 'user' ? 'passwd' : 'group'}`, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields[2] !== undefined && /^\d+$/.test(fields[2])) return Number(fields[2]);
  }
  return undefined;
}
