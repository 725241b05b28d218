import type { Facts, StateScope } from '../core/facts.js';
import type { Assignments } from '../schemas/assignments.js';
import { readAssignments } from './assignments-file.js';
import { parentDataset } from '../core/layout.js';
import type { Config } from '../schemas/config.js';
import type { Runner } from './runner.js';
import { SlotManager } from './slot-manager.js';
import { StateStore } from './state-store.js';

/** Which states to read, given the assignments (a slot's state is known only from them). */
export type ScopeOf = (assignments: Assignments) => StateScope;

/** The typed layer over the outside world, built once per run. */
export class System {
  readonly store: StateStore;
  readonly slots: SlotManager;

  constructor(
    readonly runner: Runner,
    readonly config: Config,
  ) {
    this.store = new StateStore(runner, config);
    this.slots = new SlotManager(runner, config);
  }

  /**
   * What a command decides on: the states `scope` names (every state by default), the units
   * (one systemctl call), the assignments file and the links. `assignments` replaces the file's
   * content (doctor, when the file is broken).
   */
  async facts(scope: ScopeOf = () => 'all', assignments?: Assignments): Promise<Facts> {
    const current = assignments ?? readAssignments(this.config.assignmentsFile);
    const [zfs, slots] = await Promise.all([this.store.read(scope(current)), this.slots.read(current)]);
    return {
      parent: parentDataset(this.config),
      parentExists: zfs.parentExists,
      parentMounted: zfs.parentMounted,
      parentAvailable: zfs.parentAvailable,
      states: zfs.states,
      mountpoints: zfs.mountpoints,
      trash: zfs.trash,
      slots: slots.slots,
      assignments: slots.assignments,
    };
  }
}
