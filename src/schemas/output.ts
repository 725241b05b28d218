import { z } from 'zod';

/**
 * The --json contract. Every document vm-state prints in JSON mode is parsed
 * through one of these schemas first, so the schemas cannot drift from the
 * output; `vm-state schema` prints them as JSON Schema.
 */
const Bytes = z.number().int().nonnegative();
const Iso = z.iso.datetime();

export const SlotOut = z.object({
  name: z.string(),
  state: z.string(),
  explicit: z.boolean().describe('false when the slot runs the state of its own name by default'),
  unit: z.string(),
  loadState: z.string(),
  activeState: z.string(),
  subState: z.string(),
  running: z.boolean(),
  runningState: z
    .string()
    .nullable()
    .describe(
      'the state the running VM has open (differs from state until a restart after assign); null when stopped',
    ),
  disk: z.object({
    path: z.string(),
    kind: z.enum(['symlink', 'file', 'missing', 'other']),
    target: z.string().nullable(),
    resolves: z.boolean(),
    targetKind: z
      .enum(['file', 'symlink', 'directory', 'other', 'missing'])
      .optional()
      .describe(
        "for a symlink, what its target is: 'missing' before the VM's first start; a symlink or directory is an error (vm-state doctor)",
      ),
  }),
});

/** What every document about a state says of it (list's entries, show). */
const StateFields = z.object({
  name: z.string(),
  kind: z.enum(['dataset', 'directory']),
  dataset: z.string(),
  mountpoint: z.string(),
  mounted: z.boolean(),
  used: Bytes.nullable(),
  available: Bytes.nullable(),
  referenced: Bytes.nullable(),
  origin: z.string().nullable().describe('the snapshot this state was cloned from'),
  created: Iso.nullable(),
  replicaOf: z.string().nullable().describe('host:state this is a read-only replica of (vm-state send)'),
  syncedAt: z.string().nullable().describe('when this replica last received'),
  sentTo: z
    .array(z.object({ remote: z.string(), name: z.string(), at: z.string() }))
    .describe('where this state was last sent, per remote'),
});

export const StateOut = StateFields.extend({
  snapshots: z.number().int().nonnegative(),
  assignedTo: z.array(z.string()),
  shared: z.boolean().describe('assigned to more than one slot'),
});

export const SnapshotOut = z.object({
  name: z.string(),
  state: z.string(),
  fullName: z.string(),
  created: Iso,
  used: Bytes,
  referenced: Bytes,
  clones: z.array(z.string()).describe('datasets cloned from this snapshot'),
});

export const ListOut = z.object({
  parent: z.string(),
  parentExists: z.boolean(),
  slots: z.array(SlotOut),
  states: z.array(StateOut),
  snapshots: z.array(SnapshotOut),
  /** Deleted states (vm-state trash list has them in full). */
  trash: z.object({ entries: z.number().int().nonnegative(), used: Bytes }),
});

/** vm-state trash list: the deleted states, oldest first. */
export const TrashOut = z.object({
  dataset: z.string(),
  /** How long an entry is kept (trash.keep). */
  keep: z.string(),
  used: Bytes,
  entries: z.array(
    z.object({
      /** Its name in the trash: what undelete and trash purge take. */
      id: z.string(),
      /** The state's name when it was deleted. */
      name: z.string(),
      dataset: z.string(),
      trashedAt: Iso.nullable(),
      trashedBy: z.string().nullable(),
      /** When trash purge --expired destroys it. */
      expires: Iso.nullable(),
      used: Bytes.nullable(),
      referenced: Bytes.nullable(),
      origin: z.string().nullable(),
      snapshots: z.array(z.string()),
      /** Datasets cloned from its snapshots: they keep working, purge promotes one of them. */
      clones: z.array(z.string()),
    }),
  ),
});

export const StepOut = z.object({ kind: z.string(), command: z.string() }).loose();

/** Every mutating command: what it decided and, unless --dry-run, did. */
/** The config's remotes (remote list, add, remove). */
export const RemotesOut = z.object({
  file: z.string(),
  dryRun: z.boolean(),
  remotes: z.array(
    z.object({
      name: z.string(),
      destination: z.string(),
      port: z.number().int().optional(),
      identity: z.string().optional(),
      sshOptions: z.record(z.string(), z.string()),
    }),
  ),
});

/** What remote check found there. */
export const RemoteCheckOut = z.object({
  name: z.string(),
  destination: z.string(),
  protocol: z.number().int(),
  version: z.string(),
  host: z.string(),
  parent: z.string(),
  openZfs: z.boolean(),
  states: z.number().int().nonnegative(),
  available: Bytes.nullable(),
  slots: z.array(z.object({ name: z.string(), state: z.string(), running: z.boolean() })),
});

const StateSent = z.object({ state: z.string(), ok: z.boolean(), error: z.string().optional() });

/** A replication job's last run, kept in stateDir/replication/<job>.json (metrics reads it). */
export const JobRecord = z.object({
  job: z.string(),
  remote: z.string(),
  lastAttempt: Iso,
  lastSuccess: Iso.nullable(),
  result: z.enum(['ok', 'failed']),
  error: z.string().optional(),
  bytes: Bytes,
  states: z.array(StateSent),
});

/** What vm-state replicate did, job by job. */
export const ReplicateOut = z.object({
  dryRun: z.boolean(),
  jobs: z.array(
    z.object({
      job: z.string(),
      result: z.enum(['ok', 'failed', 'skipped']),
      why: z.string().optional().describe('why a job was skipped: not due, still running'),
      error: z.string().optional(),
      bytes: Bytes,
      states: z.array(StateSent),
    }),
  ),
});

/** What send --all did, state by state. */
export const SendAllOut = z.object({
  remote: z.string(),
  dryRun: z.boolean(),
  results: z.array(z.object({ state: z.string(), ok: z.boolean(), error: z.string().optional() })),
});

/** What a send carried (vm-state send). */
export const SendOut = z.object({
  state: z.string(),
  remote: z.string(),
  target: z.string().describe("the state's name on the remote"),
  base: z
    .string()
    .nullable()
    .describe('the shared snapshot it sent from (matched by guid); null: a full send'),
  snapshots: z.array(z.string()).describe('the snapshots it carried, oldest first'),
  resumed: z.boolean().describe('it continued a cut send from its resume token'),
  estimate: Bytes.nullable().describe('the size zfs expected before sending (null: it cannot tell)'),
  bytes: Bytes.nullable().describe('bytes streamed (null with --dry-run)'),
});

export const ResultOut = z.object({
  command: z.string(),
  summary: z.string(),
  dryRun: z.boolean(),
  ok: z.boolean(),
  steps: z.array(StepOut),
  warnings: z.array(z.string()),
  notes: z.array(z.string()),
  details: z
    .array(z.string())
    .optional()
    .describe('why: each snapshot a policy keeps or drops, and for what'),
  token: z
    .string()
    .optional()
    .describe(
      'with --dry-run, the plan token: --expect-plan TOKEN runs exactly this plan or refuses (exit 5); ' +
        'absent for plans that depend on another host (send, migrate to a remote) and doctor --repair',
    ),
  planFile: z.string().optional().describe('with --plan-out, the file the plan was written to'),
  send: SendOut.optional(),
  migrate: z
    .object({
      remote: z.string(),
      slot: z.string(),
      downtimeSeconds: z.number().nonnegative().describe('from the stop here to the start there'),
    })
    .optional(),
});

export const ErrorOut = z.object({
  error: z.object({
    code: z.string(),
    exitCode: z.number().int(),
    message: z.string(),
    hint: z.string().optional(),
    details: z.unknown().optional(),
  }),
});

/** A snapshot as `snapshots` and `show` print it: the list entry plus the states cloned from it. */
export const SnapshotEntryOut = SnapshotOut.extend({
  clonedStates: z.array(z.string()).describe('states (under the parent) cloned from this snapshot'),
});

export const SnapshotsOut = z.object({
  state: z.string().nullable().describe('the state asked for, or null for every state'),
  snapshots: z.array(SnapshotEntryOut).describe('newest last'),
});

export const ShowOut = StateFields.extend({
  originState: z.string().nullable(),
  clones: z
    .array(z.object({ dataset: z.string(), state: z.string().nullable(), snapshot: z.string() }))
    .describe('datasets cloned from snapshots of this state (they depend on it)'),
  snapshots: z.array(SnapshotEntryOut).describe('oldest first'),
  slots: z
    .array(
      z.object({
        name: z.string(),
        unit: z.string(),
        explicit: z.boolean(),
        running: z.boolean(),
        activeState: z.string(),
        disk: SlotOut.shape.disk.extend({
          pointsHere: z.boolean().describe("the link leads to this state's data.img"),
        }),
      }),
    )
    .describe('slots this state is assigned to'),
  image: z.object({
    path: z.string(),
    exists: z.boolean(),
    size: Bytes.nullable().describe('apparent size in bytes'),
    allocated: Bytes.nullable().describe('bytes allocated on disk (less for a sparse image)'),
  }),
});

/** `doctor` without --repair: what it found and what --repair would do. */
export const DoctorOut = z.object({
  healthy: z.boolean(),
  findings: z.array(z.string()),
  repair: z.array(z.string()).describe('the steps doctor --repair would run'),
});

/** `--json --help`: the command line as data. */
const OptionOut = z.object({ flags: z.string(), description: z.string(), takesValue: z.boolean() });
const CommandOut: z.ZodType<{
  name: string;
  usage: string;
  description: string;
  arguments: { name: string; required: boolean; variadic: boolean }[];
  options: z.infer<typeof OptionOut>[];
  commands?: unknown[];
}> = z.lazy(() =>
  z.object({
    name: z.string(),
    usage: z.string(),
    description: z.string(),
    arguments: z.array(z.object({ name: z.string(), required: z.boolean(), variadic: z.boolean() })),
    options: z.array(OptionOut),
    commands: z.array(CommandOut).optional(),
  }),
);
export const HelpOut = z.object({
  name: z.string(),
  version: z.string(),
  globalOptions: z.array(OptionOut),
  commands: z.array(CommandOut),
  exitCodes: z.record(z.string(), z.number().int()),
});

/** `vm-state metrics --json`: the samples of the text exposition (README.md, "Metrics"). */
export const MetricsOut = z.object({
  generatedAt: Iso,
  families: z.array(
    z.object({
      name: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/),
      help: z.string(),
      type: z.enum(['gauge', 'counter']),
      samples: z.array(
        z.object({
          labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string()),
          value: z.number(),
        }),
      ),
    }),
  ),
});

/** `preflight` when the slot may start (a refusal is an error document). */
export const PreflightOut = z.object({ ok: z.literal(true), slot: z.string(), message: z.string() });

/** `vm-state log`: the journal's entries of changes, newest last. */
const LogSubjectOut = z.object({
  states: z.array(z.string()),
  slots: z.array(z.string()),
  snapshots: z.array(z.string()),
  remotes: z.array(z.string()),
});
export const LogEntryOut = z.object({
  time: z.string().describe('when journald received it, ISO 8601'),
  command: z
    .string()
    .nullable()
    .describe('null for an entry vm-state did not write (another tool as vm-state)'),
  result: z
    .enum(['done', 'undone', 'failed', 'refused'])
    .nullable()
    .describe('undone: failed and every step undone; failed: not all undone; refused: before any step'),
  priority: z.number().int().nullable(),
  messageId: z.string().nullable(),
  summary: z.string().nullable().describe("the plan's summary; null when refused before there was a plan"),
  message: z.string(),
  subject: LogSubjectOut.describe(
    'what it was about: the arguments, the states of named slots, what the plan touched',
  ),
  who: z.object({
    uid: z.number().int().nullable(),
    user: z.string().nullable(),
    sudoUser: z.string().nullable(),
    sshConnection: z.string().nullable(),
  }),
  steps: z.array(z.string()).describe("the plan's steps, as --dry-run prints them"),
  error: z
    .object({
      message: z.string(),
      code: z.string().nullable(),
      exitCode: z.number().int().nullable(),
      failedStep: z.string().nullable(),
    })
    .nullable(),
  pid: z.number().int().nullable(),
  host: z.string().nullable(),
});
export const LogOut = z.object({
  filters: z.object({
    state: z.string().nullable(),
    slot: z.string().nullable(),
    since: z.string().nullable(),
    until: z.string().nullable(),
    lines: z.number().int().nullable(),
  }),
  entries: z.array(LogEntryOut),
});

export const OUTPUT_SCHEMAS = {
  preflight: PreflightOut,
  help: HelpOut,
  doctor: DoctorOut,
  list: ListOut,
  trash: TrashOut,
  result: ResultOut,
  error: ErrorOut,
  snapshots: SnapshotsOut,
  show: ShowOut,
  remotes: RemotesOut,
  'remote-check': RemoteCheckOut,
  'send-all': SendAllOut,
  metrics: MetricsOut,
  replicate: ReplicateOut,
  'replication-job': JobRecord,
  log: LogOut,
} as const;
