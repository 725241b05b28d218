import { requireAbsent, requireParent } from '../core/guards.js';
import { datasetOf, mountpointOf } from '../core/layout.js';
import { requireZfsFits, validateName } from '../core/names.js';
import { newStateSteps } from '../core/steps.js';
import type { MutationSpec } from './spec.js';

export const create: MutationSpec = {
  kind: 'mutation',
  name: 'create',
  args: [{ name: 'name', kind: 'new-state' }],
  description: 'create a new empty state',
  readme: [
    {
      usage: '`vm-state create <name>`',
      text: 'a new empty state: dataset mounted at `statesDir/<name>`, owned `microvm:kvm` 0755',
    },
  ],
  scope: (input) => ({ names: [String(input.name)], mountpoints: true }),
  plan: (c, input) => {
    const name = validateName('state', String(input.name));
    requireZfsFits(datasetOf(c, name)); // before anything is read
    return (facts) => {
      requireParent(facts, c);
      requireAbsent(facts, c, name);
      return {
        summary: `Create state '${name}'`,
        steps: newStateSteps(c, name),
        warnings: [],
        notes: [
          `State '${name}' created at ${mountpointOf(c, name)}`,
          `Assign it to a slot with: vm-state assign <slot> ${name}`,
        ],
      };
    };
  },
};
