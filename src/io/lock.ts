import { readFileSync, rmdirSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { VmStateError } from '../core/errors.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Holder {
  pid: number;
  command: string;
  since: string;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * One exclusive lock for the whole run of a mutating command. proper-lockfile
 * takes it with an atomic mkdir and keeps its mtime fresh, so a lock left by
 * a crashed run goes stale; we also record the holder inside the lock
 * directory so that a waiting run can name it, and break the lock at once when
 * that process is gone.
 */
export async function withLock<T>(lockPath: string, waitSeconds: number, command: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(lockPath), { recursive: true });
  const ownerFile = `${lockPath}/owner.json`;
  const deadline = Date.now() + waitSeconds * 1000;
  let release: (() => Promise<void>) | undefined;
  for (;;) {
    try {
      release = await lockfile.lock(lockPath, { realpath: false, lockfilePath: lockPath, stale: 15_000, update: 5_000, retries: 0, onCompromised: () => undefined });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
      const holder = readHolder(ownerFile);
      if (holder && !alive(holder.pid)) {
        breakLock(lockPath, ownerFile);
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
    try {
      unlinkSync(ownerFile);
    } catch {
      /* already gone */
    }
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

function breakLock(lockPath: string, ownerFile: string): void {
  try {
    unlinkSync(ownerFile);
    rmdirSync(lockPath);
  } catch {
    /* someone else broke it first */
  }
}
