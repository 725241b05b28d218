import * as fs from 'node:fs';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { VmStateError } from '../core/errors.js';
import { isAlive } from './process.js';
import { setTimeout as sleep } from 'node:timers/promises';

interface Holder {
  pid: number;
  command: string;
  since: string;
}

/**
 * One exclusive lock for the whole run of a mutating command. proper-lockfile
 * takes it with an atomic mkdir and keeps its mtime fresh, so a lock left by
 * a crashed run goes stale; we also record the holder inside the lock
 * directory so that a waiting run can name it, and break the lock at once when
 * that process is gone.
 */
// proper-lockfile removes its directory with rmdir (also when it judges a lock
// stale, and on process exit): ours holds the owner file, so remove it whole.
const lockFs = {
  ...fs,
  rmdir: (p: string, cb: (e: NodeJS.ErrnoException | null) => void) => fs.rm(p, { recursive: true, force: true }, cb),
  rmdirSync: (p: string) => fs.rmSync(p, { recursive: true, force: true }),
};

export async function withLock<T>(lockPath: string, waitSeconds: number, command: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(lockPath), { recursive: true });
  const ownerFile = `${lockPath}/owner.json`;
  const deadline = Date.now() + waitSeconds * 1000;
  let release: (() => Promise<void>) | undefined;
  for (;;) {
    try {
      release = await lockfile.lock(lockPath, {
        realpath: false,
        lockfilePath: lockPath,
        stale: 15_000,
        update: 5_000,
        retries: 0,
        fs: lockFs,
        onCompromised: () => undefined,
      });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
      const holder = readHolder(ownerFile);
      if (holder && !isAlive(holder.pid)) {
        breakLock(lockPath, holder.pid);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = holder ? `pid ${holder.pid} (${holder.command}, since ${holder.since})` : 'another process';
        throw new VmStateError('busy', `Another vm-state run holds the lock ${lockPath}: ${who}`, {
          hint: 'Wait for it to finish, or wait longer with --wait SECONDS',
        });
      }
      await sleep(50 + Math.random() * 50);
    }
  }
  writeFileSync(ownerFile, JSON.stringify({ pid: process.pid, command, since: new Date().toISOString() } satisfies Holder));
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

function readHolder(ownerFile: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(ownerFile, 'utf8')) as Holder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Breaks the lock of dead process `deadPid`. Renaming is atomic, so of several
 * waiters only one moves the lock aside; it then checks that what it moved
 * still belonged to the dead process, and puts it back if another run took
 * the lock in between.
 */
function breakLock(lockPath: string, deadPid: number): void {
  const aside = `${lockPath}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return; // another waiter broke it first
  }
  const moved = readHolder(`${aside}/owner.json`);
  if (!moved || moved.pid !== deadPid) {
    try {
      renameSync(aside, lockPath); // not ours to break
      return;
    } catch {
      /* the path was taken again meanwhile: nothing better to do than drop it */
    }
  }
  rmSync(aside, { recursive: true, force: true });
}
