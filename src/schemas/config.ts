import { z } from 'zod';
import { nameProblem } from './names.js';
import { DATASET_PATH, LAYOUT_DEFAULTS } from './config-sources.js';

const absolutePath = z
  .string()
  .regex(/^\/[^\0]*$/, 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..'), {
    message: "must not contain '..'",
  });
const datasetPath = z.string().regex(DATASET_PATH, 'must be a ZFS dataset path like storage/states');
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

const count = z.number().int().min(0).max(100_000);
/**
 * How many snapshots to keep per period (see core/retention.ts for the buckets), and
 * which snapshots the policy may prune: `auto-*` only, unless `prefixes` says more.
 */
export const PolicySchema = z
  .object({
    hourly: count.default(0),
    daily: count.default(0),
    weekly: count.default(0),
    monthly: count.default(0),
    yearly: count.default(0),
    /** The newest N are kept whatever their period. */
    latest: count.default(1),
    /** Names of snapshots the policy prunes (prefixes); never another name. */
    prefixes: z
      .array(z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/))
      .min(1)
      .default(['auto-']),
  })
  .strict();
export type Policy = z.infer<typeof PolicySchema>;

const interval = z.string().regex(/^(\d+[smhdw])+$/, 'must be a duration like 15m, 1h, 1d');

/** Scheduled snapshots (vm-state auto-snapshot, a timer of the Nix module). */
export const AutoSnapshotSchema = z
  .object({
    /** The policy of every state not in `states`. */
    policy: z.string().default('default'),
    /** States that get another policy, or `null`: no automatic snapshots. */
    states: z.record(z.string(), z.string().nullable()).default({}),
    /** One snapshot per state per this period (a second run within it takes none). */
    interval: interval.default('1h'),
    /** Slots that must stay up: `auto-snapshot --stop` refuses them. */
    keepRunning: z.array(z.string()).default([]),
  })
  .strict();

/** Deleted states (vm-state delete, trash purge --expired, which the auto-snapshot timer runs). */
export const TrashSchema = z
  .object({
    /** How long a deleted state stays in the trash before `trash purge --expired` destroys it. */
    keep: interval.default('7d'),
  })
  .strict();

/** A replication job (vm-state replicate): send these states to that remote. */
export const ReplicationJobSchema = z
  .object({
    remote: remoteName,
    /** State names; `["*"]`: every state of this host's own. */
    states: z.array(z.string()).min(1),
    interval: interval.default('1h'),
  })
  .strict();

/** `vm-state mcp`, the server agents reach (its flags say the same, and win). */
export const McpSchema = z
  .object({
    /** Offer the tools that change something (each still runs only with a plan token). */
    allowWrites: z.boolean().default(false),
    /** Only these tools (`snapshot_delete` or `snapshot delete`); none: every tool. */
    tools: z.array(z.string()).optional(),
    /** How long a plan token may be used. */
    planTtlSeconds: z.number().int().min(1).max(86_400).default(600),
  })
  .strict();

/** Everything that differs between hypervisors; defaults are the hypervisor's current layout. */
export const ConfigSchema = z
  .object({
    pool: datasetPath.default(LAYOUT_DEFAULTS.pool),
    dataset: datasetPath.default(LAYOUT_DEFAULTS.dataset),
    statesDir: absolutePath.default('/var/lib/microvms/states'),
    slotsDir: absolutePath.default('/var/lib/microvms'),
    assignmentsFile: absolutePath.default('/etc/vm-state-assignments.json'),
    slots: z
      .array(slotName)
      .min(1)
      .default([...LAYOUT_DEFAULTS.slots]),
    unitTemplate: z
      .string()
      .refine((t) => t.split('%s').length === 2, { message: "must contain '%s' exactly once" })
      .default(LAYOUT_DEFAULTS.unitTemplate),
    owner: account.default('microvm'),
    group: account.default('kvm'),
    lockFile: absolutePath.default('/run/vm-state.lock'),
    /** Runtime records (which state each slot's VM started on); a tmpfs, emptied at boot. */
    runDir: absolutePath.default('/run/vm-state'),
    /** Other hypervisors by name (vm-state remote add). */
    remotes: z.record(remoteName, RemoteSchema).default({}),
    /** Records that outlive a reboot: replication jobs' results. */
    stateDir: absolutePath.default('/var/lib/vm-state'),
    /** Retention policies by name; `default` keeps 24 hourly, 7 daily, 4 weekly, 12 monthly. */
    policies: z
      .record(remoteName, PolicySchema)
      .default({ default: PolicySchema.parse({ hourly: 24, daily: 7, weekly: 4, monthly: 12 }) }),
    autoSnapshot: AutoSnapshotSchema.default(AutoSnapshotSchema.parse({})),
    replication: z.record(remoteName, ReplicationJobSchema).default({}),
    trash: TrashSchema.default(TrashSchema.parse({})),
    mcp: McpSchema.default(McpSchema.parse({})),
    /** Rewritten after every mutating command when set (vm-state metrics --output; the Nix module sets it). */
    metricsFile: absolutePath.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    // A name that points nowhere is a config error, found when the config is read.
    const policy = (name: string, path: (string | number)[]) => {
      if (!(name in c.policies))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `names no policy '${name}' (policies: ${Object.keys(c.policies).join(', ')})`,
        });
    };
    policy(c.autoSnapshot.policy, ['autoSnapshot', 'policy']);
    for (const [state, p] of Object.entries(c.autoSnapshot.states))
      if (p !== null) policy(p, ['autoSnapshot', 'states', state]);
    for (const [job, j] of Object.entries(c.replication))
      if (!(j.remote in c.remotes))
        ctx.addIssue({
          code: 'custom',
          path: ['replication', job, 'remote'],
          message: `names no remote '${j.remote}'`,
        });
  });

export type Config = z.infer<typeof ConfigSchema>;
