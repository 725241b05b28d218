import { chmodSync, chownSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { moveEntry, removeEmptyDir } from './tree-copy.js';
import { VmStateError, type ErrorCode } from '../core/errors.js';
import { humanBytes } from '../core/bytes.js';
import { describeStep, type Plan, type Step, type Tolerated } from '../core/plan.js';
import { lookupId } from './accounts.js';
import { isOpenZfs } from './zfs-flavour.js';
import { restoreFile, snapshotFile } from './assignments-file.js';
import { CommandError, errorCodeOf } from './command-error.js';
import type { SlotManager } from './slot-manager.js';
import type { StateStore } from './state-store.js';
import { requestOp, type RemoteLink } from './ssh.js';

export interface ExecutorHooks {
  warn(message: string): void;
  /** Called before each step: progress for people, trace for debugging. */
  step?(step: Step, index: number, total: number): void;
  /** Called after each step, whether it worked or not. */
  stepDone?(step: Step): void;
  /** Bytes a send step has streamed so far (for progress). */
  streamed?(bytes: number): void;
  /** True once the operator asked to stop (Ctrl-C, SIGTERM): no new step starts, what ran is undone. */
  interrupted?(): boolean;
  /** Why the run's lock is no longer held, if it is not: no new step starts, what ran is undone. */
  lockLost?(): string | undefined;
}

type Undo = { what: string; run: () => Promise<void> | void };

/** What zfs says when a step worked all the same (see Tolerated), and on which ZFS it says it. */
const TOLERATED: Record<Tolerated, { says: RegExp; zfsFuseOnly?: boolean }> = {
  'created-not-mounted': { says: /created, but not mounted|successfully created, but not mounted/i },
  'drop-caches-notice': { says: /^\s*drop_caches failed:[^\n]*\s*$/, zfsFuseOnly: true },
  'hold-absent': { says: /no such tag on this dataset|no such hold|reference count is zero/i },
};

/** The answer a step tolerates here: none for a zfs-fuse notice on OpenZFS, where it would hide a failure. */
function tolerated(step: { tolerates?: Tolerated }): RegExp | undefined {
  const t = step.tolerates && TOLERATED[step.tolerates];
  return t && !(t.zfsFuseOnly && isOpenZfs()) ? t.says : undefined;
}

/**
 * Runs a plan's steps in order. If one fails, undoes the steps that ran,
 * newest first, and reports both the failure and what was put back.
 */
export class Executor {
  constructor(
    private readonly store: StateStore,
    private readonly slots: SlotManager,
    private readonly hooks: ExecutorHooks,
    /** The remotes a plan's send and remote steps talk to, by name. */
    private readonly remotes: ReadonlyMap<string, RemoteLink> = new Map(),
  ) {}

  async run(plan: Plan): Promise<void> {
    let undos: Undo[] = [];
    const committed: string[] = [];
    const kept: string[] = [];
    const skipped: Step[] = [];
    for (const [i, step] of plan.steps.entries()) {
      // Interrupted: before a commit point, undo what ran. Past one nothing can be undone, so
      // the rest of the work is skipped but what brings the system back (mount, start) still
      // runs: stopping there would leave a state unmounted, a slot down.
      if (this.hooks.interrupted?.() && !step.tidy) {
        if (committed.length === 0)
          throw await this.rollback(
            new VmStateError('failed', 'Interrupted'),
            undefined,
            undos,
            plan.steps.slice(i),
            committed,
            kept,
          );
        if (!step.restores) {
          skipped.push(step);
          continue;
        }
      }
      // Another run may be writing now: never go on, but put back what this run did.
      const lost = this.hooks.lockLost?.();
      if (lost) {
        const error = new VmStateError('failed', `Lost the lock: ${lost}; stopped before the next step`);
        throw await this.rollback(
          error,
          undefined,
          undos,
          [...skipped, ...plan.steps.slice(i)],
          committed,
          kept,
        );
      }
      // Tidying up after work that was skipped could only fail, or remove what that work still needed.
      if (skipped.length > 0 && step.tidy) {
        skipped.push(step);
        continue;
      }
      this.hooks.step?.(step, i, plan.steps.length);
      try {
        const undo = await this.perform(step);
        if (undo) undos.push(undo);
        else if (step.commit) {
          // A commit point: what came before cannot be rolled back past it sensibly.
          undos = [];
          committed.push(describeStep(step));
        } else if (step.kind === 'zfs' && step.keep) kept.push(describeStep(step)); // meant to stay: the error says so
      } catch (e) {
        this.hooks.stepDone?.(step);
        if (step.tidy) {
          this.hooks.warn(`Could not tidy up (the work is done): ${(e as Error).message}`);
          continue;
        }
        throw await this.rollback(e, step, undos, [...skipped, ...plan.steps.slice(i + 1)], committed, kept);
      }
      this.hooks.stepDone?.(step);
    }
    if (skipped.length > 0)
      throw await this.rollback(
        new VmStateError('failed', 'Interrupted'),
        undefined,
        [],
        skipped,
        committed,
        kept,
      );
  }

  private async rollback(
    cause: unknown,
    failed: Step | undefined,
    undos: Undo[],
    notRun: Step[],
    committed: string[],
    kept: string[],
  ): Promise<VmStateError> {
    const undone: string[] = [];
    const undoFailed: string[] = [];
    for (const undo of undos.reverse()) {
      try {
        await undo.run();
        undone.push(undo.what);
      } catch (e) {
        undoFailed.push(`${undo.what}: ${(e as Error).message}`);
      }
    }
    const base = cause instanceof VmStateError ? cause : undefined;
    const code: ErrorCode = base?.code ?? (cause instanceof CommandError ? errorCodeOf(cause) : 'failed');
    const message = (cause as Error).message;
    let recovery = '';
    if (committed.length) recovery += ` Already done, cannot be undone: ${committed.join('; ')}.`;
    if (kept.length) recovery += ` Done and kept: ${kept.join('; ')}.`;
    if (undone.length) recovery += ` Rolled back: ${undone.join('; ')}.`;
    if (undoFailed.length) recovery += ` Could NOT roll back: ${undoFailed.join('; ')}.`;
    if (notRun.length) recovery += ` Not run: ${notRun.map(describeStep).join('; ')}.`;
    return new VmStateError(code, `${recovery ? message.replace(/\.?$/, '.') : message}${recovery}`, {
      hint: base?.hint,
      cause,
      details: {
        failedStep: failed ? describeStep(failed) : null,
        committed,
        kept,
        undone,
        undoFailed,
        notRun: notRun.map(describeStep),
      },
    });
  }

  /** Does one step; returns how to undo it, when it can be undone. */
  private async perform(step: Step): Promise<Undo | undefined> {
    switch (step.kind) {
      case 'zfs': {
        await this.store.zfs(step.argv, {
          retryBusy: step.retryBusy,
          tolerate: tolerated(step),
        });
        const undo = step.undo;
        return undo ? { what: undo.join(' '), run: () => this.undoZfs(undo, step.undoLeaves) } : undefined;
      }
      case 'pipe': {
        await this.store.pipe(step.argv, step.into);
        const undo = step.undo;
        return undo ? { what: undo.join(' '), run: () => this.undoZfs(undo, step.undoLeaves) } : undefined;
      }
      case 'send': {
        const link = this.remoteOf(step.remote);
        const r = await this.store.stream(step.argv, step.into, this.hooks.streamed);
        // The remote's answer first: it says why a receive failed (the send then only saw a closed pipe).
        link.result('receive', r.consumer);
        if (r.producer.exitCode !== 0) throw new CommandError(step.argv, r.producer);
        return undefined;
      }
      case 'room':
        await this.requireRoom(step.argv, step.room, step.remote);
        return undefined;
      case 'remote': {
        const link = this.remoteOf(step.remote);
        link.result(requestOp(step.argv), await this.store.run(step.argv));
        return undefined;
      }
      case 'rmdir':
        if (removeEmptyDir(step.path) === 'not-empty')
          this.hooks.warn(`${step.path} is not empty: left it in place`);
        return undefined;
      case 'copy-tree':
        await this.store.copyTree(step.from, step.to);
        return undefined;
      case 'move':
        moveEntry(step.from, step.to);
        return {
          what: `mv ${step.to} ${step.from}`,
          run: () => {
            removeEmptyDir(step.from); // a mountpoint zfs made there meanwhile
            moveEntry(step.to, step.from);
          },
        };
      case 'record':
        this.slots.recordStart(step.slot, step.state);
        return undefined;
      case 'remove-file':
        rmSync(step.path, { force: true });
        return undefined;
      case 'remove-tree':
        if (!existsSync(step.path)) throw new VmStateError('not-found', `${step.path} does not exist`);
        rmSync(step.path, { recursive: true });
        return undefined;
      case 'ensure-mounted':
        await this.store.ensureMounted(step.dataset);
        return undefined;
      case 'unmount':
        await this.store.unmount(step.dataset);
        return { what: `zfs mount ${step.dataset}`, run: () => this.store.ensureMounted(step.dataset) };
      case 'mkdir':
        mkdirSync(step.path, { recursive: true });
        return undefined;
      case 'own':
        this.own(step.path, step.owner, step.group, step.mode);
        return undefined;
      case 'link': {
        const undo = this.slots.link(step.path, step.target);
        return { what: `restore ${step.path}`, run: () => this.slots.unlink(undo) };
      }
      case 'write-assignments': {
        const previous = snapshotFile(step.file);
        this.slots.write(step.assignments);
        return { what: `restore ${step.file}`, run: () => restoreFile(step.file, previous) };
      }
      case 'stop': {
        const warning = await this.slots.stop(step.unit);
        if (warning) this.hooks.warn(warning);
        return {
          what: `systemctl start ${step.unit}`,
          // Started again on the state it ran: recorded, as every start vm-state makes.
          run: () => this.startRecorded(step.unit, step.slot, step.state),
        };
      }
      case 'start':
        await this.startRecorded(step.unit, step.slot, step.state);
        return {
          what: `systemctl stop ${step.unit}`,
          run: async () => void (await this.slots.stop(step.unit)),
        };
    }
  }

  /** Refuses a stream larger than the room there, before a byte goes (the snapshot it sends exists now). */
  private async requireRoom(argv: string[], room: number, remote: string): Promise<void> {
    const size = await this.store.streamSize(argv);
    if (size !== null && size > room)
      throw new VmStateError(
        'conflict',
        `'${remote}' has ${humanBytes(room)} free, and the send needs about ${humanBytes(size)}`,
        { hint: 'Free space there first (vm-state prune, or delete states it no longer needs)' },
      );
  }

  private remoteOf(name: string): RemoteLink {
    const link = this.remotes.get(name);
    if (!link) throw new Error(`no link to remote '${name}'`);
    return link;
  }

  /**
   * Starts the unit, then records the state its VM runs (see SlotManager.recordStart). After,
   * not before: a record older than the unit's start counts as stale. With the start guard,
   * the guard has already recorded the same state during the start.
   */
  private async startRecorded(unit: string, slot?: string, state?: string): Promise<void> {
    await this.slots.start(unit);
    if (slot && state) this.slots.recordStart(slot, state);
  }

  /** An undo's zfs command. A filesystem is renamed back unmounted: undoing a `set mountpoint` may have mounted it again. */
  private async undoZfs(argv: string[], leaves?: string): Promise<void> {
    if (argv[1] === 'rename' && !argv[2]?.includes('@')) await this.store.unmount(argv[2]!);
    await this.store.zfs(argv, { retryBusy: true });
    if (leaves) removeEmptyDir(leaves);
  }

  private own(path: string, owner: string, group: string, mode: number): void {
    const uid = lookupId('user', owner);
    const gid = lookupId('group', group);
    if (uid === undefined || gid === undefined) {
      this.hooks.warn(
        `${uid === undefined ? `User '${owner}'` : `Group '${group}'`} does not exist; not changing the owner of ${path}`,
      );
    } else {
      chownSync(path, uid, gid);
    }
    chmodSync(path, mode);
  }
}
