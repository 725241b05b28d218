import type { Config } from '../../schemas/config.js';
import { isRunning, slotsUsing } from '../facts.js';
import { diskLinkOf, slotDirOf, stateImageOf } from '../layout.js';
import { MAX_EXISTING, validateName, validateSlot } from '../names.js';
import type { Decide, Step } from '../plan.js';
import { newStateSteps } from './create.js';
import { requireParent, slotFact } from './guards.js';

/**
 * Records `slot -> state` and points the slot's data.img at the state's image,
 * creating the state first when it does not exist (as the old script did).
 */
export function planAssign(c: Config, slot: string, state: string): Decide {
  validateSlot(slot, c.slots);
  validateName('state', state, MAX_EXISTING);
  return (facts) => {
    const s = slotFact(facts, slot);
    const existing = facts.states.get(state);
    const warnings: string[] = [];
    const steps: Step[] = [];

    if (!existing) {
      validateName('state', state); // a new state: the limit for new names
      requireParent(facts, c);
      warnings.push(`State '${state}' doesn't exist yet. Creating it...`);
      steps.push(...newStateSteps(c, state));
    }
    const sharers = slotsUsing(facts, state).filter((o) => o.name !== slot);
    if (sharers.length > 0) {
      const names = sharers.map((o) => `${o.name}${isRunning(o.unit) ? ' (running)' : ''}`).join(', ');
      warnings.push(
        `State '${state}' is also assigned to ${names}. Two VMs on one disk image corrupt it: ` +
          `vm-state and the start guard will refuse to run both at once.`,
      );
    }
    const running = isRunning(s.unit);
    // Its VM keeps the current state's image open until it restarts: make sure that is on record.
    if (running && !s.startedOn && s.state !== state) steps.push({ kind: 'record', slot, state: s.state });
    if (running) warnings.push(`${slot} is currently running. Assignment will take effect after restart.`);

    const link = diskLinkOf(c, slot);
    const target = stateImageOf(c, state, existing);
    steps.push(
      { kind: 'write-assignments', file: c.assignmentsFile, assignments: { ...facts.assignments, [slot]: state } },
      { kind: 'mkdir', path: slotDirOf(c, slot) },
      { kind: 'own', path: slotDirOf(c, slot), owner: c.owner, group: c.group, mode: 0o755 },
      { kind: 'link', path: link, target },
    );
    return {
      summary: `Assign state '${state}' to ${slot}`,
      steps,
      warnings,
      notes: [
        `Created symlink: ${link} -> ${target}`,
        `Assigned state '${state}' to ${slot}`,
        running
          ? `Restart the slot to use the new state: systemctl restart ${s.unit.unit}`
          : `Start the slot with: systemctl start ${s.unit.unit}`,
      ],
    };
  };
}
