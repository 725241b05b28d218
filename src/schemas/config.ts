import { z } from 'zod';
import { nameProblem } from './names.js';

const absolutePath = z
  .string()
  .regex(/^\/[^\0]*$/, 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..'), {
    message: "must not contain '..'",
  });
const datasetPath = z
  .string()
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.:-]*(\/[A-Za-z0-9_][A-Za-z0-9_.:-]*)*$/,
    'must be a ZFS dataset path like storage/states',
  );
const slotName = z
  .string()
  .refine((s) => nameProblem(s) === undefined, { message: 'is not a valid slot name' });
const account = z.string().regex(/^[a-z_][a-z0-9_-]*\$?$/, 'must be a user or group name');

/** Names of remotes follow the state name rules (they appear in hold tags and property values). */
export const remoteName = z
  .string()
  .refine((s) => nameProblem(s) === undefined, { message: 'is not a valid remote name' });

/** Another hypervisor, reached with ssh; everything else comes from the user's ssh_config. */
export const RemoteSchema = z
  .object({
    /** What ssh is given: `host`, `user@host`, or an ssh_config Host alias. */
    destination: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.@:%+-]*$/, 'must be an ssh destination like root@host'),
    port: z.number().int().min(1).max(65535).optional(),
    identity: absolutePath.optional(),
    /** `-o Key=Value` for ssh, as in ssh_config. */
    sshOptions: z
      .record(
        z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'must be an ssh option name'),
        z.string().regex(/^[^\0\n\r]*$/, 'must be one line'),
      )
      .default({}),
  })
  .strict();
export type Remote = z.infer<typeof RemoteSchema>;

/** Everything that differs between hypervisors; defaults are the hypervisor's current layout. */
export const ConfigSchema = z
  .object({
    pool: datasetPath.default('microvms'),
    dataset: datasetPath.default('storage/states'),
    statesDir: absolutePath.default('/var/lib/microvms/states'),
    slotsDir: absolutePath.default('/var/lib/microvms'),
    assignmentsFile: absolutePath.default('/etc/vm-state-assignments.json'),
    slots: z.array(slotName).min(1).default(['slot1', 'slot2', 'slot3', 'slot4', 'slot5']),
    unitTemplate: z
      .string()
      .refine((t) => t.split('%s').length === 2, { message: "must contain '%s' exactly once" })
      .default('microvm@%s.service'),
    owner: account.default('microvm'),
    group: account.default('kvm'),
    lockFile: absolutePath.default('/run/vm-state.lock'),
    /** Runtime records (which state each slot's VM started on); a tmpfs, emptied at boot. */
    runDir: absolutePath.default('/run/vm-state'),
    /** Other hypervisors by name (vm-state remote add). */
    remotes: z.record(remoteName, RemoteSchema).default({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

/** Environment variable for each key: VM_STATE_STATES_DIR for statesDir, etc. */
export const ENV_FOR: Record<Exclude<keyof Config, 'remotes'>, string> = {
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
};

export const DEFAULT_CONFIG_FILE = '/etc/vm-state/config.json';
export const CONFIG_FILE_ENV = 'VM_STATE_CONFIG';
