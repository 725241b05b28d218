import type { Config } from '../../schemas/config.js';
import { datasetOf, mountpointOf } from '../layout.js';
import { validateName, requireZfsFits } from '../names.js';
import type { Decide, Step } from '../plan.js';
import { requireAbsent, requireParent } from './guards.js';

/** The steps that make a new, empty, mounted state owned by the VM user. */
export function newStateSteps(c: Config, name: string): Step[] {
  const dataset = requireZfsFits(datasetOf(c, name));
  const mountpoint = mountpointOf(c, name);
  return [
    {
      kind: 'zfs',
      argv: ['zfs', 'create', '-o', `mountpoint=${mountpoint}`, dataset],
      undo: ['zfs', 'destroy', dataset],
      undoLeaves: mountpoint,
      toleratesNotMounted: true,
    },
    { kind: 'ensure-mounted', dataset },
    { kind: 'own', path: mountpoint, owner: c.owner, group: c.group, mode: 0o755 },
  ];
}

export function planCreate(c: Config, name: string): Decide {
  validateName('state', name);
  return (facts) => {
    requireParent(facts, c);
    requireAbsent(facts, c, name);
    return {
      summary: `Create state '${name}'`,
      steps: newStateSteps(c, name),
      warnings: [],
      notes: [`State '${name}' created at ${mountpointOf(c, name)}`, `Assign it to a slot with: vm-state assign <slot> ${name}`],
    };
  };
}
