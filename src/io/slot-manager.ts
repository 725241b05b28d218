import {
  lstatSync,
  mkdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { VmStateError } from '../core/errors.js';
import { recordedState } from '../core/policy.js';
import { isRunning, type LinkFact, type SlotFact, type UnitFact } from '../core/facts.js';
import { diskLinkOf, stateOfSlot, unitOf } from '../core/layout.js';
import type { Assignments } from '../schemas/assignments.js';
import type { Config } from '../schemas/config.js';
import { snapshotFile, writeAssignments } from './assignments-file.js';
import { fsyncDir, writeFileAtomic } from './atomic-file.js';
import { runChecked, type Runner } from './runner.js';
import { parseSystemctlShow, systemctlShowArgv } from './systemd-parse.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathTaken } from './paths.js';

/**
 * How long a stop may take. systemctl returns when the stop job ends, which
 * systemd bounds by the unit's TimeoutStopSec (150 s for microvm@) plus the
 * final SIGKILL; we wait longer than any sane setting rather than give up first.
 */
const STOP_TIMEOUT_MS = 15 * 60_000;

/** What a link step replaced, so that it can be put back. */
export interface LinkUndo {
  path: string;
  previousTarget: string | null;
  backup: string | null;
}

/** Slots: their units, the assignments file and the data.img links. */
export class SlotManager {
  constructor(
    private readonly runner: Runner,
    private readonly config: Config,
  ) {}

  /**
   * Every configured slot with its unit state (one systemctl call), assignment
   * and link.
   */
  async read(assignments: Assignments): Promise<{ slots: SlotFact[]; assignments: Assignments }> {
    const units = await this.units(this.config.slots.map((s) => unitOf(this.config, s)));
    const slots = this.config.slots.map((name, i) => ({
      name,
      state: stateOfSlot(assignments, name),
      explicit: name in assignments,
      unit: units[i]!,
      link: readLink(diskLinkOf(this.config, name)),
      startedOn: this.startedOn(name, units[i]!),
    }));
    return { slots, assignments };
  }

  private startedFile(slot: string): string {
    return `${this.config.runDir}/started/${slot}`;
  }

  /** The state recorded when the slot's VM last started (see recordStart), unless stale. */
  private startedOn(slot: string, unit: UnitFact): string | null {
    return recordedState(snapshotFile(this.startedFile(slot)), unit);
  }

  /**
   * Records that `slot`'s VM is starting on `state`: the start guard does it
   * just before the VM runs, and so does every start vm-state makes. While the
   * slot runs, the guards count the state as in use even after a reassignment.
   */
  recordStart(slot: string, state: string): void {
    mkdirSync(`${this.config.runDir}/started`, { recursive: true });
    // The time is CLOCK_MONOTONIC, as systemd's *TimestampMonotonic properties are.
    writeFileAtomic(this.startedFile(slot), `${state}\n${process.hrtime.bigint() / 1000n}\n`);
  }

  async units(units: readonly string[]): Promise<UnitFact[]> {
    const r = await runChecked(this.runner, systemctlShowArgv(units));
    return parseSystemctlShow(r.stdout, units);
  }

  private async unit(unit: string): Promise<UnitFact> {
    return (await this.units([unit]))[0]!;
  }

  /**
   * Stops the unit and waits until it really is inactive with no main process. Returns a warning if it was killed.
   * Plans stop only units the facts showed running, so loaded; systemctl itself refuses a unit that is not.
   */
  async stop(unit: string): Promise<string | undefined> {
    await runChecked(this.runner, ['systemctl', 'stop', unit], { timeout: STOP_TIMEOUT_MS + 10_000 });
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    for (let delay = 25; ; delay = Math.min(delay * 2, 1000)) {
      const u = await this.unit(unit);
      if (!isRunning(u) && u.mainPid === 0) {
        return ['timeout', 'signal', 'core-dump'].includes(u.result)
          ? `${unit} did not stop cleanly (Result=${u.result}); the disk image may be unclean`
          : undefined;
      }
      if (Date.now() > deadline) {
        throw new VmStateError(
          'busy',
          `${unit} is still ${u.activeState}/${u.subState} (MainPID ${u.mainPid}) after stop`,
        );
      }
      await sleep(delay);
    }
  }

  /** Starts the unit and checks that it came up rather than failing straight away. */
  async start(unit: string): Promise<void> {
    try {
      await runChecked(this.runner, ['systemctl', 'start', unit]);
    } catch (e) {
      await this.runner.run(['systemctl', 'stop', unit]); // cancel a Restart= loop: the caller decides what runs next
      if (e instanceof Error && /attempted too often/.test(e.message)) {
        throw new VmStateError('failed', e.message, {
          hint: `systemd's start rate limit: wait, or clear it with systemctl reset-failed ${unit}`,
          cause: e,
        });
      }
      throw e;
    }
    const u = await this.unit(unit);
    // With Restart=always (microvm.nix), a VM that dies at once reads activating/auto-restart: not started.
    // (systemd ≥ 254 also has auto-restart-queued.)
    const restarting = u.subState.startsWith('auto-restart');
    const up = (u.activeState === 'active' || u.activeState === 'activating') && !restarting;
    if (!up) {
      await this.runner.run(['systemctl', 'stop', unit]); // cancel the pending automatic restart
      throw new VmStateError(
        'failed',
        `${unit} did not start: ${u.activeState}/${u.subState} (Result=${u.result})`,
        {
          hint: `See: journalctl -u ${unit}`,
        },
      );
    }
  }

  write(assignments: Assignments): void {
    writeAssignments(this.config.assignmentsFile, assignments);
  }

  /**
   * Points `path` at `target` by renaming a fresh symlink over it, so the slot
   * never sees a missing link. A regular file there is moved aside, never deleted.
   */
  link(path: string, target: string): LinkUndo {
    const before = readLink(path);
    if (before.kind === 'other')
      throw new VmStateError('conflict', `${path} exists and is neither a symlink nor a regular file`);
    let backup: string | null = null;
    if (before.kind === 'file') {
      backup = freeName(`${path}.backup`);
      renameSync(path, backup);
    }
    try {
      replaceSymlink(path, target);
    } catch (e) {
      if (backup) renameSync(backup, path); // the operator's image goes back where it was
      throw e;
    }
    return { path, previousTarget: before.kind === 'symlink' ? before.target : null, backup };
  }

  unlink(undo: LinkUndo): void {
    if (undo.previousTarget !== null) replaceSymlink(undo.path, undo.previousTarget);
    else if (pathTaken(undo.path)) unlinkSync(undo.path);
    if (undo.backup) renameSync(undo.backup, undo.path);
  }
}

export function readLink(path: string): LinkFact {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) {
      const target = readlinkSync(path);
      let resolves = false;
      try {
        resolves = statSync(path).isFile();
      } catch {
        resolves = false;
      }
      return {
        path,
        kind: 'symlink',
        target,
        resolves,
        targetKind: kindOf(resolve(dirname(path), target), resolves),
      };
    }
    return { path, kind: st.isFile() ? 'file' : 'other', target: null, resolves: st.isFile() };
  } catch {
    return { path, kind: 'missing', target: null, resolves: false };
  }
}

/**
 * What the image a slot's link names is. A link on to a file in the same state counts as
 * that file; `resolves`: the whole chain ends at a file (already known to readLink).
 */
function kindOf(path: string, resolves: boolean): NonNullable<LinkFact['targetKind']> {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) {
      try {
        const within = realpathSync(path).startsWith(`${realpathSync(dirname(path))}/`);
        return within && resolves ? 'file' : 'symlink';
      } catch {
        return 'symlink'; // dangling, or a loop
      }
    }
    return st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
  } catch {
    return 'missing';
  }
}

function replaceSymlink(path: string, target: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.vm-state-${process.pid}.tmp`;
  if (pathTaken(tmp)) unlinkSync(tmp);
  symlinkSync(target, tmp);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** `data.img.backup`, or `data.img.backup.1`, … if an earlier backup is already there. */
function freeName(base: string): string {
  if (!pathTaken(base)) return base;
  for (let i = 1; ; i++) if (!pathTaken(`${base}.${i}`)) return `${base}.${i}`;
}
