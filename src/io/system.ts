import type { Facts } from '../core/facts.js';
import { parentDataset } from '../core/layout.js';
import type { Config } from '../schemas/config.js';
import type { Runner } from './runner.js';
import { SlotManager } from './slot-manager.js';
import { StateStore } from './state-store.js';

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

  /** Everything a command decides on: one zfs call, one systemctl call, the assignments file, the links. */
  async facts(assignments?: Record<string, string>): Promise<Facts> {
    const [zfs, slots] = await Promise.all([this.store.read(), this.slots.read(assignments)]);
    return {
      parent: parentDataset(this.config),
      parentExists: zfs.parentExists,
      parentMounted: zfs.parentMounted,
      states: zfs.states,
      slots: slots.slots,
      assignments: slots.assignments,
    };
  }
}
