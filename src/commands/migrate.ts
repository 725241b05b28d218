import { isRunning } from '../core/facts.js';
import { requireNotRunningElsewhere, slotFact } from '../core/guards.js';
import { MAX_EXISTING, validateName, validateSlot } from '../core/names.js';
import { startStep, stopStep } from '../core/steps.js';
import { assignment } from './assign.js';
import type { MutationSpec } from './spec.js';

/** Stop the slot if it runs, assign the state, start the slot. The executor undoes it all if a step fails. */
export const migrate: MutationSpec = {
  kind: 'mutation',
  name: 'migrate',
  args: [
    { name: 'state', kind: 'state' },
    { name: 'slot', kind: 'slot' },
  ],
  description: 'stop the slot, assign the state, start the slot (rolled back if a step fails)',
  readme: [
    {
      usage: '`vm-state migrate <state> <slot>`',
      text:
        'stops the slot (waiting until it is really stopped), assigns, starts; if a step fails, puts the old ' +
        'assignment and link back and restarts the old state',
    },
    {
      usage: '`vm-state migrate <state> <remote>:<slot>`',
      text:
        'moves the state to another hypervisor: a bulk send while the VM runs, stop, the last delta, then the copy ' +
        'there is promoted, assigned and started by its vm-state, and this copy becomes its read-only replica; ' +
        'until the remote start succeeds every step is undone and the slot here starts again',
    },
  ],
  scope: (input) => ({ names: [String(input.state)] }),
  divert: {
    when: (input) => String(input.slot).includes(':'),
    run: async (ctx, input) => (await import('../remote/migrate-command.js')).migrateOut(ctx(), input),
  },
  plan: (c, input) => {
    const state = validateName('state', String(input.state), MAX_EXISTING);
    const slot = validateSlot(String(input.slot), c.slots);
    return (facts) => {
      requireNotRunningElsewhere(facts, state, slot);
      const s = slotFact(facts, slot);
      const a = assignment(c, facts, slot, state);
      const unit = s.unit.unit;
      return {
        summary: `Migrate state '${state}' to ${slot}`,
        steps: [
          ...(isRunning(s.unit) ? [stopStep(unit, slot, s.state)] : []),
          ...a.creates,
          ...a.links,
          startStep(unit, slot, state),
        ],
        warnings: a.warnings,
        notes: [`Migration complete. ${slot} is now running state '${state}'`],
      };
    };
  },
};
