import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { HostIdentity } from '../core/plan-token.js';

/**
 * This host as a plan names it. machine-id(5) asks that the id itself not be shown: a plan
 * carries a digest of it, salted with vm-state's name, as systemd's app-specific ids are.
 */
export function hostIdentity(machineIdFile = '/etc/machine-id'): HostIdentity {
  let id: string | null = null;
  try {
    const raw = readFileSync(machineIdFile, 'utf8').trim();
    if (raw !== '') id = createHash('sha256').update(`vm-state:${raw}`).digest('hex').slice(0, 32);
  } catch {
    // No machine id (a container without one): the host name alone names it.
  }
  return { name: hostname(), id };
}
