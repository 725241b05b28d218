import type { Config } from '../../schemas/config.js';
import { VmStateError } from '../errors.js';
import { runningOn, type Facts, type SlotFact, type StateFact } from '../facts.js';
import { mountpointOf, parentDataset } from '../layout.js';

/** Checks shared by several planners; each throws the error an operator should see. */

export function requireParent(facts: Facts, c: Config): void {
  if (!facts.parentExists) {
    throw new VmStateError('not-found', `Parent dataset ${parentDataset(c)} does not exist`, {
      hint: `Create it: zfs create -p -o mountpoint=${c.statesDir} ${parentDataset(c)}`,
    });
  }
}

export function requireAbsent(facts: Facts, c: Config, name: string): void {
  const existing = facts.states.get(name);
  if (existing) {
    const what = existing.kind === 'dataset' ? `dataset ${existing.dataset}` : `directory ${existing.mountpoint}`;
    throw new VmStateError('exists', `State '${name}' already exists (${what})`);
  }
  // A half-renamed dataset can still have this name's mountpoint: two datasets must never share one.
  const place = mountpointOf(c, name);
  const occupant = [...facts.states.values()].find((s) => s.mountpoint === place);
  if (occupant) {
    throw new VmStateError('exists', `${place} is the mountpoint of state '${occupant.name}' (${occupant.dataset})`, {
      hint: 'A rename that did not finish? See: vm-state doctor',
    });
  }
}

export function requireDataset(facts: Facts, name: string, role = 'State'): StateFact {
  const state = facts.states.get(name);
  if (!state) {
    throw new VmStateError('not-found', `${role} '${name}' doesn't exist`, { hint: 'See the states with: vm-state list' });
  }
  if (state.kind !== 'dataset') {
    throw new VmStateError('conflict', `State '${name}' is a plain directory (${state.mountpoint}), not a ZFS dataset`, {
      hint: `Snapshots and clones need a dataset; convert it first with: vm-state adopt ${name}`,
    });
  }
  return state;
}

export function slotFact(facts: Facts, slot: string): SlotFact {
  const fact = facts.slots.find((s) => s.name === slot);
  if (!fact) throw new VmStateError('invalid-name', `Unknown slot '${slot}'`);
  return fact;
}

/** Two VMs writing one image corrupt it: refuse to start `slot` on `state` while another slot runs it. */
export function requireNotRunningElsewhere(facts: Facts, state: string, slot: string): void {
  const others = runningOn(facts, state).filter((s) => s.name !== slot);
  if (others.length > 0) {
    const names = others.map((s) => s.name).join(', ');
    throw new VmStateError('conflict', `State '${state}' is in use by running slot ${names}; two VMs on one disk image corrupt it`, {
      hint: `Stop it first: systemctl stop ${others.map((s) => s.unit.unit).join(' ')}`,
    });
  }
}
