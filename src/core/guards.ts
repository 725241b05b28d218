import type { Config } from '../schemas/config.js';
import { VmStateError } from './errors.js';
import {
  datasetShown,
  runningOn,
  type Facts,
  type SlotFact,
  type SnapshotFact,
  type StateFact,
} from './facts.js';
import { mountpointOf, parentDataset } from './layout.js';

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
    const what =
      existing.kind === 'dataset' ? `dataset ${existing.dataset}` : `directory ${existing.mountpoint}`;
    throw new VmStateError('exists', `State '${name}' already exists (${what})`);
  }
  // A half-renamed dataset can still have this name's mountpoint: two datasets must never share one.
  const place = mountpointOf(c, name);
  const found =
    [...facts.states.values()].find((s) => s.mountpoint === place)?.dataset ?? facts.mountpoints?.get(place);
  if (found) {
    throw new VmStateError(
      'exists',
      `${place} is the mountpoint of state '${datasetShown(facts.parent, found)}' (${found})`,
      {
        hint: 'A rename that did not finish? See: vm-state doctor',
      },
    );
  }
}

/** The state `name`, dataset or directory, or the "doesn't exist" error every command gives. */
export function requireState(facts: Facts, name: string, role = 'State'): StateFact {
  const state = facts.states.get(name);
  if (!state) {
    throw new VmStateError('not-found', `${role} '${name}' doesn't exist`, {
      hint: 'See the states with: vm-state list',
    });
  }
  return state;
}

/** The state `name`, which must be a dataset (snapshots and clones need one). */
export function requireDataset(facts: Facts, name: string, role = 'State'): StateFact {
  const state = requireState(facts, name, role);
  if (state.kind !== 'dataset') {
    throw new VmStateError(
      'conflict',
      `State '${name}' is a plain directory (${state.mountpoint}), not a ZFS dataset`,
      {
        hint: `Snapshots and clones need a dataset; convert it first with: vm-state adopt ${name}`,
      },
    );
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
    throw new VmStateError(
      'conflict',
      `State '${state}' is in use by running slot ${names}; two VMs on one disk image corrupt it`,
      {
        hint: `Stop it first: systemctl stop ${others.map((s) => s.unit.unit).join(' ')}`,
      },
    );
  }
}

/** The snapshot `state@name` names, or the error an operator should see. */
export function findSnapshot(facts: Facts, state: string, name: string): SnapshotFact {
  const s = requireDataset(facts, state);
  const snap = s.snapshots.find((x) => x.name === name);
  if (!snap) {
    throw new VmStateError('not-found', `Snapshot '${state}@${name}' not found`, {
      hint: `See the snapshots with: vm-state snapshots ${state}`,
    });
  }
  return snap;
}

/** Refuses a replica: read-only, a copy of a state that lives (and runs) on another host. */
export function requireNotReplica(state: StateFact | undefined, doing: string): void {
  if (!state?.replicaOf) return;
  throw new VmStateError(
    'conflict',
    `State '${state.name}' is a read-only replica of ${state.replicaOf}: it cannot be ${doing} here`,
    { hint: `It runs there; to move it back, run vm-state migrate there` },
  );
}

/** Refuses a held snapshot: a send's base (the one snapshot a replica shares), kept by `zfs hold`. */
export function requireNotHeld(snap: SnapshotFact, what = `Snapshot '${snap.state}@${snap.name}'`): void {
  if (snap.holds === 0) return;
  throw new VmStateError('conflict', `${what} is held: it is the last snapshot shared with a replica`, {
    hint: 'The next vm-state send starts from it and moves the hold on; delete it after that send',
    details: { snapshot: snap.fullName, holds: snap.holds },
  });
}

/** Refuses, listing them, when states were cloned from `snap`: destroying it would need `-R`, which destroys them too. */
export function requireNoClones(
  facts: Facts,
  snap: SnapshotFact,
  what = `Snapshot '${snap.state}@${snap.name}'`,
): void {
  if (snap.clones.length === 0) return;
  const names = snap.clones.map((d) => datasetShown(facts.parent, d));
  throw new VmStateError('conflict', `${what} has dependent clones: ${names.join(', ')}`, {
    hint: `They were cloned from it; delete them first (vm-state delete ${names[0]}) or keep the snapshot`,
    details: { snapshot: snap.fullName, clones: snap.clones },
  });
}
