/**
 * A plan is what a command decided to do, as data: a list of steps that the
 * executor runs in order. `--dry-run` prints it; on a failure the executor
 * undoes the steps that ran, newest first.
 */
/** What the executor must know of a step beyond what it does; every field is optional. */
export interface StepTraits {
  /** A commit point: it cannot be undone, so a later failure undoes nothing that came before it. */
  commit?: boolean;
  /** Tidying after the work is done: a failure is only a warning, and it is skipped with skipped work. */
  tidy?: boolean;
  /** Brings the system back into service (a mount, a start): still run when interrupted past a commit point. */
  restores?: boolean;
}

/** Answers of zfs that mean the step worked all the same. */
export type Tolerated =
  /** `zfs create`/`clone` made the dataset but could not mount it: the next step mounts it. */
  | 'created-not-mounted'
  /** zfs-fuse exits 1 after a good rollback when it may not drop the kernel's caches. */
  | 'drop-caches-notice'
  /** `zfs release` of a hold that is not there (zfs-fuse cannot list holds to ask first). */
  | 'hold-absent';

export type Step = StepTraits &
  (
    | {
        kind: 'zfs';
        argv: string[];
        /** The zfs command that reverses it, when there is one. */
        undo?: string[];
        /** Made on purpose without an undo (the snapshot of snapshot --stop): an error says it was kept. */
        keep?: boolean;
        /** The mountpoint the undo (a destroy) leaves behind: removed when empty, never a plain-directory state. */
        undoLeaves?: string;
        /** Retry briefly while zfs answers "busy" (a mount still being released). */
        retryBusy?: boolean;
        tolerates?: Tolerated;
        /** Bytes a destroy gives back (the snapshot's used), for --dry-run. */
        frees?: number;
      }
    /** `argv | into`, streamed (zfs send | zfs receive); `undo` and `undoLeaves` as for zfs. */
    | { kind: 'pipe'; argv: string[]; into: string[]; undo?: string[]; undoLeaves?: string }
    /**
     * `argv` (zfs send) streamed into the remote's `vm-state serve` (`into`, an ssh command line)
     * which receives it; `there` is what it runs there, for --dry-run.
     */
    | {
        kind: 'send';
        argv: string[];
        into: string[];
        remote: string;
        there: string[][];
      }
    /**
     * The stream `argv` would send must fit in `room` bytes free on `remote`: checked once its
     * snapshot exists (zfs-fuse counts new data only then). A commit point for a send: from here
     * on its snapshot stays, since a cut stream resumes from it.
     */
    | { kind: 'room'; argv: string[]; room: number; remote: string }
    /** A request to the remote's vm-state (ssh command line `argv`); `there` as for send. */
    | { kind: 'remote'; argv: string[]; remote: string; what: string; there: string[][] }
    /** Remove a directory if it is empty (a mountpoint zfs left behind); anything in it stays. */
    | { kind: 'rmdir'; path: string }
    /** Copy directory `from` into `to` with everything (owner, mode, times, links, holes), then compare every byte. */
    | { kind: 'copy-tree'; from: string; to: string }
    /** Rename a file or directory (undo: rename it back). */
    | { kind: 'move'; from: string; to: string }
    /** Note that `slot`'s VM runs `state` (before reassigning a running slot that has no record yet). */
    | { kind: 'record'; slot: string; state: string }
    /** Delete a temporary file an interrupted run left behind (doctor). */
    | { kind: 'remove-file'; path: string }
    /** Delete a directory tree: only ever a verified copy's leftover original. */
    | { kind: 'remove-tree'; path: string }
    /** Mount the dataset if it is not mounted (`zfs create`/`zfs clone` may leave it so). */
    | { kind: 'ensure-mounted'; dataset: string }
    /** Unmount before destroy/rename, so a busy mount is handled before the irreversible step. */
    | { kind: 'unmount'; dataset: string }
    | { kind: 'mkdir'; path: string }
    | { kind: 'own'; path: string; owner: string; group: string; mode: number }
    /** Make `path` a symlink to `target`; a regular file there is moved to a backup, never deleted. */
    | { kind: 'link'; path: string; target: string }
    /** Replace the assignments file with `assignments` (atomically). */
    | { kind: 'write-assignments'; file: string; assignments: Record<string, string> }
    /** Stop a unit; undone by starting it again, recorded as running `state` when slot and state are given. */
    | { kind: 'stop'; unit: string; slot?: string; state?: string }
    /** Start the unit; with `slot` and `state`, record which state its VM runs (see SlotManager.recordStart). */
    | { kind: 'start'; unit: string; slot?: string; state?: string }
  );

export interface Plan {
  /** What the operator asked, in words. */
  summary: string;
  steps: Step[];
  /** Printed before running (and in the dry-run). */
  warnings: string[];
  /** Printed after a successful run. */
  notes: string[];
  /** Why the plan is what it is, line by line (what a policy keeps and drops): in --dry-run and --json. */
  details?: string[];
}

/** The exact commands and file changes a step performs, for --dry-run. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'record':
      return `note that ${step.slot} runs '${step.state}' until it restarts`;
    case 'remove-file':
      return `rm ${step.path}`;
    case 'zfs':
      return step.argv.join(' ');
    case 'pipe':
      return `${step.argv.join(' ')} | ${step.into.join(' ')}`;
    case 'send':
      return `${step.argv.join(' ')} | ${remoteCall(step.into)}`;
    case 'remote':
      return `${remoteCall(step.argv)}: ${step.what}`;
    case 'room':
      return `check that ${step.argv.join(' ')} fits in ${step.room} bytes free on ${step.remote}`;
    case 'rmdir':
      return `rmdir ${step.path}   (only if empty)`;
    case 'copy-tree':
      return `cp -a --sparse=always ${step.from}/. ${step.to}/   (then compare every file, byte for byte)`;
    case 'move':
      return `mv ${step.from} ${step.to}`;
    case 'remove-tree':
      return `rm -rf ${step.path}`;
    case 'ensure-mounted':
      return `zfs mount ${step.dataset}   (only if not mounted)`;
    case 'unmount':
      return `zfs unmount ${step.dataset}   (only if mounted)`;
    case 'mkdir':
      return `mkdir -p ${step.path}`;
    case 'own':
      return `chown ${step.owner}:${step.group} ${step.path} && chmod ${step.mode.toString(8)} ${step.path}`;
    case 'link':
      return `ln -sfn ${step.target} ${step.path}   (a regular file there is kept as ${step.path}.backup)`;
    case 'write-assignments':
      return `write ${step.file} ${JSON.stringify(step.assignments)}`;
    case 'stop':
      return `systemctl stop ${step.unit}   (then wait until inactive)`;
    case 'start':
      return `systemctl start ${step.unit}   (then check it is active)`;
  }
}

/** An ssh command line to `vm-state serve`, its base64url request shown decoded. */
function remoteCall(argv: string[]): string {
  const body = argv.at(-1) ?? '';
  let request = body;
  try {
    request = Buffer.from(body, 'base64url').toString('utf8');
  } catch {
    // Shown as it is.
  }
  return `${argv.slice(0, -1).join(' ')} '${request}'`;
}

/** What a send or remote step runs on the remote, for --dry-run. */
export const runsThere = (step: Step): string[] =>
  step.kind === 'send' || step.kind === 'remote' ? step.there.map((a) => a.join(' ')) : [];

/**
 * A planner is called in two stages: with the request, which it validates at
 * once (bad input fails before anything is read or run), and then with the facts.
 */
export type Decide = (facts: import('./facts.js').Facts) => Plan;
