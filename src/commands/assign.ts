import type { Config } from '../schemas/config.js';
import { isRunning, slotsUsing, type Facts } from '../core/facts.js';
import { requireNotReplica, requireParent, slotFact } from '../core/guards.js';
import { diskLinkOf, stateImageOf } from '../core/layout.js';
import { MAX_EXISTING, validateName, validateSlot } from '../core/names.js';
import type { Step } from '../core/plan.js';
import { assignSteps, newStateSteps } from '../core/steps.js';
import type { MutationSpec } from './spec.js';

/** What assigning `state` to `slot` takes, whether the slot runs or not: the state (if new), the file, the link. */
export function assignment(c: Config, facts: Facts, slot: string, state: string) {
  const existing = facts.states.get(state);
  requireNotReplica(existing, 'assigned to a slot');
  const creates: Step[] = [];
  const warnings: string[] = [];
  if (!existing) {
    validateName('state', state); // a new state: the limit for new names
    requireParent(facts, c);
    warnings.push(`State '${state}' doesn't exist yet. Creating it...`);
    creates.push(...newStateSteps(c, state));
  }
  const sharers = slotsUsing(facts, state).filter((o) => o.name !== slot);
  if (sharers.length > 0) {
    const names = sharers.map((o) => `${o.name}${isRunning(o.unit) ? ' (running)' : ''}`).join(', ');
    warnings.push(
      `State '${state}' is also assigned to ${names}. Two VMs on one disk image corrupt it: ` +
        `vm-state and the start guard will refuse to run both at once.`,
    );
  }
  const image = stateImageOf(c, state, existing);
  const links = assignSteps(c, facts.assignments, slot, state, image);
  return { creates, links, warnings, link: `${diskLinkOf(c, slot)} -> ${image}` };
}

export const assign: MutationSpec = {
  kind: 'mutation',
  name: 'assign',
  agent: { idempotent: true },
  args: [
    { name: 'slot', kind: 'slot' },
    { name: 'state', kind: 'state' },
  ],
  description: 'assign a state to a slot (created if missing); takes effect at the next start',
  readme: [
    {
      usage: '`vm-state assign <slot> <state>`',
      text:
        "records the assignment, points `slotsDir/<slot>/data.img` at the state's image (a regular file there is " +
        'kept as `data.img.backup`), creates the state if missing, says whether to start or restart',
    },
  ],
  scope: (input) => ({ names: [String(input.state)] }),
  plan: (c, input) => {
    const slot = validateSlot(String(input.slot), c.slots);
    const state = validateName('state', String(input.state), MAX_EXISTING);
    return (facts) => {
      const s = slotFact(facts, slot);
      const a = assignment(c, facts, slot, state);
      const running = isRunning(s.unit);
      // Its VM keeps the current state's image open until it restarts: make sure that is on record.
      const record: Step[] =
        running && !s.startedOn && s.state !== state ? [{ kind: 'record', slot, state: s.state }] : [];
      const restart = running
        ? [`${slot} is currently running. Assignment will take effect after restart.`]
        : [];
      return {
        summary: `Assign state '${state}' to ${slot}`,
        steps: [...a.creates, ...record, ...a.links],
        warnings: [...a.warnings, ...restart],
        notes: [
          `Created symlink: ${a.link}`,
          `Assigned state '${state}' to ${slot}`,
          running
            ? `Restart the slot to use the new state: systemctl restart ${s.unit.unit}`
            : `Start the slot with: systemctl start ${s.unit.unit}`,
        ],
      };
    };
  },
};
