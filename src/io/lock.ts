import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { VmStateError } from '../core/errors.js';
import { isAlive, startTimeOf } from './process.js';

/** Who holds the lock, as recorded in the lock file itself. */
interface Holder {
  pid: number;
  /** The holder's start time (/proc/PID/stat): a reused pid does not pass for it. */
  start: string;
  command: string;
  since: string;
}

/** A lock this run holds; `lost()` says why it no longer does, if it does not. */
export interface HeldLock {
  lost(): string | undefined;
}

/**
 * One exclusive lock for the whole run of a mutating command: flock(2) on
 * `lockPath`, held through a file descriptor of this process. The kernel
 * releases it when the process ends, however it ends, and never while it
 * lives, however slowly it runs: there is no staleness to judge.
 *
 * The lock file only ever appears locked and holding its owner's record: a
 * fresh file is written, locked, then hard-linked into place (which fails if
 * the name is taken). A holder removes the name before it unlocks; a waiter
 * that is granted a file still at the name knows its holder died, removes it
 * and starts again.
 */
export async function withLock<T>(
  lockPath: string,
  waitSeconds: number,
  command: string,
  fn: (lock: HeldLock) => Promise<T>,
  onWait?: (holder: string) => void,
): Promise<T> {
  const fd = await acquire(lockPath, Date.now() + waitSeconds * 1000, command, onWait);
  const lock: HeldLock = { lost: () => lostBecause(lockPath, fd) };
  try {
    return await fn(lock);
  } finally {
    // Name first, then unlock: a waiter granted the lock of a file no longer at the name tries again.
    if (!lock.lost()) fs.rmSync(lockPath, { force: true });
    fs.closeSync(fd);
  }
}

async function acquire(lockPath: string, deadline: number, command: string, onWait?: (h: string) => void) {
  let told = false;
  for (;;) {
    const fd = await tryCreate(lockPath, command);
    if (fd !== undefined) return fd;

    const existing = openExisting(lockPath);
    if (existing === 'gone') continue;
    if (existing === 'old-directory') {
      await waitForOldLock(lockPath, deadline);
      continue;
    }
    let granted = await flock(existing, 0);
    if (!granted) {
      if (!told) onWait?.(describe(readHolder(existing)));
      told = true;
      granted = await flock(existing, Math.max(0, deadline - Date.now()) / 1000);
    }
    if (!granted) {
      const holder = describe(readHolder(existing));
      fs.closeSync(existing);
      throw new VmStateError('busy', `Another vm-state run holds the lock ${lockPath}: ${holder}`, {
        hint: 'Wait for it to finish, or wait longer with --wait SECONDS',
      });
    }
    // Granted: if the file is still at the name, its holder died without removing it.
    if (sameFile(existing, lockPath)) fs.rmSync(lockPath, { force: true });
    fs.closeSync(existing);
  }
}

let freshFiles = 0;

/** A fresh lock file with our record, locked, linked into place; undefined if the name is taken. */
async function tryCreate(lockPath: string, command: string): Promise<number | undefined> {
  if (fs.existsSync(lockPath)) return undefined;
  const fresh = `${lockPath}.new-${process.pid}-${++freshFiles}`;
  const holder: Holder = {
    pid: process.pid,
    start: startTimeOf(process.pid) ?? '',
    command,
    since: new Date().toISOString(),
  };
  let fd: number;
  try {
    fs.rmSync(fresh, { force: true });
    fd = fs.openSync(
      fresh,
      fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
      0o644,
    );
    fs.writeFileSync(fd, `${JSON.stringify(holder)}\n`);
  } catch (e) {
    throw lockError(lockPath, e);
  }
  try {
    if (!(await flock(fd, 0))) throw new Error(`${fresh} was locked by another process`);
    fs.linkSync(fresh, lockPath);
    return fd;
  } catch (e) {
    fs.closeSync(fd);
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw lockError(lockPath, e);
  } finally {
    fs.rmSync(fresh, { force: true });
  }
}

function openExisting(lockPath: string): number | 'gone' | 'old-directory' {
  let fd: number;
  try {
    fd = fs.openSync(lockPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw lockError(lockPath, e);
  }
  if (!fs.fstatSync(fd).isDirectory()) return fd;
  fs.closeSync(fd);
  return 'old-directory';
}

/**
 * flock(2) on `fd`, shared with the util-linux `flock` child: the lock belongs
 * to the open file description, so it stays ours after the child exits.
 * Waits up to `seconds` (0: not at all); false if another process holds it.
 */
async function flock(fd: number, seconds: number): Promise<boolean> {
  const wait = seconds > 0 ? ['-w', seconds.toFixed(3)] : ['-n'];
  // child_process, not execa: execa cannot hand a child an extra file descriptor.
  const child = spawn('flock', ['-x', ...wait, '-E', String(CONFLICT), '3'], {
    stdio: ['ignore', 'ignore', 'pipe', fd],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | NodeJS.ErrnoException>((resolve) => {
    child.on('error', resolve);
    child.on('close', (status) => resolve(status ?? 1));
  });
  if (code === 0) return true;
  if (code === CONFLICT) return false;
  const why =
    typeof code !== 'number' ? `cannot run util-linux's flock (${code.code ?? code.message})` : stderr.trim();
  throw new VmStateError('failed', `Cannot take the lock: ${why || `flock exited ${String(code)}`}`);
}
const CONFLICT = 75;

function sameFile(fd: number, path: string): boolean {
  try {
    const [a, b] = [fs.fstatSync(fd), fs.statSync(path)];
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

function lostBecause(lockPath: string, fd: number): string | undefined {
  if (sameFile(fd, lockPath)) return undefined;
  const now = fs.existsSync(lockPath) ? 'is now another file' : 'was removed';
  return `the lock file ${lockPath} ${now} (by something other than vm-state), so another run may hold the lock`;
}

function readHolder(fd: number): Holder | undefined {
  try {
    const buf = Buffer.alloc(4096);
    const h = JSON.parse(buf.toString('utf8', 0, fs.readSync(fd, buf, 0, buf.length, 0))) as Holder;
    return typeof h.pid === 'number' && startTimeOf(h.pid) === h.start ? h : undefined;
  } catch {
    return undefined;
  }
}

const describe = (h: Holder | undefined) =>
  h ? `pid ${h.pid} (${h.command}, since ${h.since})` : 'another process';

/**
 * A lock directory left by vm-state before 0.2 (proper-lockfile: a directory whose
 * mtime its holder refreshes, with owner.json). Waited for while its holder lives
 * and refreshes it, then removed.
 */
async function waitForOldLock(lockPath: string, deadline: number): Promise<void> {
  for (;;) {
    let pid: number | undefined;
    try {
      pid = (JSON.parse(fs.readFileSync(`${lockPath}/owner.json`, 'utf8')) as { pid?: number }).pid;
    } catch {
      /* no owner yet, or none */
    }
    let age = Infinity;
    try {
      age = Date.now() - fs.statSync(lockPath).mtimeMs;
    } catch {
      return; // gone
    }
    if ((pid !== undefined && !isAlive(pid)) || age > 15_000) {
      fs.rmSync(lockPath, { recursive: true, force: true });
      return;
    }
    if (Date.now() >= deadline) {
      throw new VmStateError(
        'busy',
        `An older vm-state run holds the lock ${lockPath}: pid ${pid ?? 'unknown'}`,
        {
          hint: 'Wait for it to finish, or wait longer with --wait SECONDS',
        },
      );
    }
    await sleep(100);
  }
}

function lockError(lockPath: string, e: unknown): VmStateError {
  const err = e as NodeJS.ErrnoException;
  const dir = lockPath.replace(/\/[^/]*$/, '') || '/';
  switch (err.code) {
    case 'ENOENT':
      return new VmStateError(
        'not-found',
        `Cannot take the lock ${lockPath}: the directory ${dir} does not exist`,
        {
          hint: 'Create it, or set lockFile (VM_STATE_LOCK_FILE) to a path in an existing directory',
        },
      );
    case 'EACCES':
    case 'EPERM':
      return new VmStateError('permission', `Cannot take the lock ${lockPath}: permission denied`);
    case 'EROFS':
      return new VmStateError(
        'failed',
        `Cannot take the lock ${lockPath}: ${dir} is on a read-only file system`,
        {
          hint: 'Set lockFile (VM_STATE_LOCK_FILE) to a path on a writable file system, such as /run',
        },
      );
    default:
      return e instanceof VmStateError
        ? e
        : new VmStateError('failed', `Cannot take the lock ${lockPath}: ${err.message}`);
  }
}
