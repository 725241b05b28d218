/**
 * A plan is what a command decided to do, as data: a list of steps that the
 * executor runs in order. `--dry-run` prints it; on a failure the executor
 * undoes the steps that ran, newest first.
 */
export type Step =
  /**
   * A zfs command; `undo` is the zfs command that reverses it, when there is one.
   * `frees`: bytes a destroy gives back (the snapshot's used). `toleratesCacheNotice`:
   * zfs-fuse exits 1 after a successful rollback when it may not drop the kernel's caches.
   * `cleanup`: tidying after the work is done (a helper snapshot): a failure is only a warning.
   * `keep`: made on purpose without an undo (the snapshot of snapshot --stop): an error says it was kept.
   * `undoLeaves`: the mountpoint directory the undo (a destroy) leaves behind, removed when
   * empty, so it never passes for a plain-directory state.
   * A zfs step with no undo is a commit point: a later failure does not undo what came before it.
   */
  | {
      kind: 'zfs';
      argv: string[];
      undo?: string[];
      keep?: boolean;
      undoLeaves?: string;
      retryBusy?: boolean;
      toleratesNotMounted?: boolean;
      frees?: number;
      toleratesCacheNotice?: boolean;
      cleanup?: boolean;
    }
  /** `argv | into`, streamed (zfs send | zfs receive); `undo` as for zfs. */
  | { kind: 'pipe'; argv: string[]; into: string[]; undo?: string[]; undoLeaves?: string }
  /** Remove a directory if it is empty (a mountpoint zfs left behind); anything in it stays. */
  | { kind: 'rmdir'; path: string }
  /** Copy the contents of directory `from` into `to` with everything (owner, mode, times, links, holes), then compare every byte. */
  | { kind: 'copy-tree'; from: string; to: string }
  /** Rename a file or directory (undo: rename it back). */
  | { kind: 'move'; from: string; to: string }
  /** Note that `slot`'s VM runs `state` (before reassigning a running slot that has no record yet). */
  | { kind: 'record'; slot: string; state: string }
  /** Delete a temporary file an interrupted run left behind (doctor). */
  | { kind: 'remove-file'; path: string }
  /** Delete a directory tree: only ever a verified copy's leftover original. */
  | { kind: 'remove-tree'; path: string }
  /** Mount the dataset if `zfs create`/`zfs clone` left it unmounted. */
  | { kind: 'ensure-mounted'; dataset: string; cleanup?: boolean }
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
  | { kind: 'start'; unit: string; slot?: string; state?: string };

export interface Plan {
  /** What the operator asked, in words. */
  summary: string;
  steps: Step[];
  /** Printed before running (and in the dry-run). */
  warnings: string[];
  /** Printed after a successful run. */
  notes: string[];
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

/**
 * A planner is called in two stages: with the request, which it validates at
 * once (bad input fails before anything is read or run), and then with the facts.
 */
export type Decide = (facts: import('./facts.js').Facts) => Plan;
