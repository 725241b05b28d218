/**
 * Every failure the tool reports is a VmStateError: a stable code (for --json
 * callers), an exit status (for shell callers), one readable line, and an
 * optional hint saying what to do next.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  exists: 4,
  conflict: 5,
  busy: 6,
  permission: 7,
  remote: 8,
} as const;

export type ErrorCode =
  | 'failed'
  | 'usage'
  | 'invalid-name'
  | 'not-found'
  | 'exists'
  | 'conflict'
  | 'busy'
  | 'permission'
  | 'aborted'
  | 'config'
  | 'remote';

const EXIT_FOR: Record<ErrorCode, number> = {
  failed: EXIT.failed,
  usage: EXIT.usage,
  'invalid-name': EXIT.usage,
  aborted: EXIT.usage,
  config: EXIT.usage,
  'not-found': EXIT.notFound,
  exists: EXIT.exists,
  conflict: EXIT.conflict,
  busy: EXIT.busy,
  permission: EXIT.permission,
  remote: EXIT.remote,
};

export class VmStateError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details?: unknown;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VmStateError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  get exitCode(): number {
    return EXIT_FOR[this.code];
  }
}

/** The table printed by `--help` and the README: one line per exit status. */
export const EXIT_CODE_HELP = `EXIT CODES:
  0  success
  1  an operation failed (zfs/systemctl error; see the message)
  2  usage: unknown command, bad argument or name, missing confirmation, bad config,
     a plan file or plan token that is none, edited, or of another host or version
  3  not found: state, snapshot, slot unit or file does not exist
  4  already exists: the state or snapshot name is taken
  5  conflict: assigned, running, shared by a running slot, or has dependents;
     a reviewed plan is stale (apply, --expect-plan)
  6  busy: dataset busy, or another vm-state run holds the lock
  7  permission: must be run as root
  8  remote: cannot reach the remote, or its vm-state is missing or speaks another protocol`;
