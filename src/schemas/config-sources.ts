import type { Config } from './config.js';

/**
 * Where a run's config comes from, and the defaults of where things are: no zod
 * here, so that `list` can start its reads before zod loads (io/early-reads.ts).
 */

export const DEFAULT_CONFIG_FILE = '/etc/vm-state/config.json';
export const CONFIG_FILE_ENV = 'VM_STATE_CONFIG';

/** The hypervisor's current layout: the pool, the states' parent, the slots and their units. */
export const LAYOUT_DEFAULTS = {
  pool: 'microvms',
  dataset: 'storage/states',
  slots: ['slot1', 'slot2', 'slot3', 'slot4', 'slot5'],
  unitTemplate: 'microvm@%s.service',
} as const;

/** A ZFS dataset path: components as ZFS allows them, never a leading '-' (an option). */
export const DATASET_PATH = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*(\/[A-Za-z0-9_][A-Za-z0-9_.:-]*)*$/;

/** Environment variable for each key: VM_STATE_STATES_DIR for statesDir, etc. */
type Structured = 'remotes' | 'policies' | 'autoSnapshot' | 'replication' | 'trash' | 'mcp';
export const ENV_FOR: Record<Exclude<keyof Config, Structured>, string> = {
  pool: 'VM_STATE_POOL',
  dataset: 'VM_STATE_DATASET',
  statesDir: 'VM_STATE_STATES_DIR',
  slotsDir: 'VM_STATE_SLOTS_DIR',
  assignmentsFile: 'VM_STATE_ASSIGNMENTS_FILE',
  slots: 'VM_STATE_SLOTS',
  unitTemplate: 'VM_STATE_UNIT_TEMPLATE',
  owner: 'VM_STATE_OWNER',
  group: 'VM_STATE_GROUP',
  lockFile: 'VM_STATE_LOCK_FILE',
  runDir: 'VM_STATE_RUN_DIR',
  stateDir: 'VM_STATE_STATE_DIR',
  metricsFile: 'VM_STATE_METRICS_FILE',
};
