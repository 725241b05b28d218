import type { Config } from '../../schemas/config.js';
import { isRunning } from '../facts.js';
import { MAX_EXISTING, validateName, validateSlot } from '../names.js';
import type { Decide } from '../plan.js';
import { planAssign } from './assign.js';
import { requireNotRunningElsewhere, slotFact } from './guards.js';

/** Stop the slot if it runs, assign the state, start the slot. The executor undoes it all if a step fails. */
export function planMigrate(c: Config, state: string, slot: string): Decide {
  validateName('state', state, MAX_EXISTING);
  validateSlot(slot, c.slots);
  const assign = planAssign(c, slot, state);
  return (facts) => {
    requireNotRunningElsewhere(facts, state, slot);
    const s = slotFact(facts, slot);
    const assignPlan = assign(facts);
    const running = isRunning(s.unit);
    return {
      summary: `Migrate state '${state}' to ${slot}`,
      steps: [
        ...(running ? [{ kind: 'stop' as const, unit: s.unit.unit, slot, state: s.state }] : []),
        ...assignPlan.steps.filter((x) => x.kind !== 'record'),
        { kind: 'start', unit: s.unit.unit, slot, state },
      ],
      warnings: assignPlan.warnings.filter((w) => !w.includes('will take effect after restart')),
      notes: [`Migration complete. ${slot} is now running state '${state}'`],
    };
  };
}
