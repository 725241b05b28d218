import { lstatSync, readdirSync, readlinkSync, renameSync, rmdirSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { VmStateError } from '../core/errors.js';
import { runChecked, type Runner } from './runner.js';
import { pathTaken } from './paths.js';

/**
 * Removes `path` if it is an empty directory: zfs-fuse leaves a dataset's old
 * mountpoint behind after a rename or a new mountpoint, and an empty directory
 * in the states directory would read as a plain-directory state.
 */
export function removeEmptyDir(path: string): 'removed' | 'missing' | 'not-empty' {
  try {
    rmdirSync(path);
    return 'removed';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EBUSY' || code === 'ENOTDIR')
      return 'not-empty';
    throw e;
  }
}

/** Renames `from` to `to`, refusing to land on anything that exists (rename(2) would replace an empty directory). */
export function moveEntry(from: string, to: string): void {
  if (pathTaken(to)) throw new VmStateError('exists', `${to} already exists; not moving ${from} onto it`);
  renameSync(from, to);
}

/**
 * Copies the contents of `from` into the existing directory `to` with GNU cp
 * (owner, mode, times, symlinks, hard links, xattrs, holes), then checks the
 * copy: every entry there with the same type, owner, mode, size, link target
 * and bytes, and nothing extra. A difference is an error naming the path.
 */
export async function copyTree(runner: Runner, from: string, to: string): Promise<void> {
  await runChecked(runner, ['cp', '-a', '--sparse=always', `${from}/.`, `${to}/`], {
    timeout: 24 * 3_600_000,
  });
  await compareTrees(from, to);
}

const differs = (path: string, what: string) =>
  new VmStateError('failed', `The copy differs from the original at ${path}: ${what}`, {
    hint: 'Nothing was switched over; the original directory is untouched',
  });

function sameMeta(a: Stats, b: Stats, path: string): void {
  const type = (s: Stats) =>
    s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : 'special';
  if (type(a) !== type(b)) throw differs(path, `${type(a)} became ${type(b)}`);
  if (a.uid !== b.uid || a.gid !== b.gid)
    throw differs(path, `owner ${a.uid}:${a.gid} became ${b.uid}:${b.gid}`);
  if (!a.isSymbolicLink() && (a.mode & 0o7777) !== (b.mode & 0o7777))
    throw differs(path, `mode ${(a.mode & 0o7777).toString(8)} became ${(b.mode & 0o7777).toString(8)}`);
  if (a.isFile() && a.size !== b.size) throw differs(path, `size ${a.size} became ${b.size}`);
}

async function sameBytes(a: string, b: string, size: number): Promise<boolean> {
  const CHUNK = 1 << 20;
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const ba = Buffer.alloc(CHUNK);
    const bb = Buffer.alloc(CHUNK);
    for (let pos = 0; pos < size; pos += CHUNK) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK, pos), fb.read(bb, 0, CHUNK, pos)]);
      if (ra.bytesRead !== rb.bytesRead || !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead)))
        return false;
      if (ra.bytesRead === 0) break;
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/** Throws unless `to` holds exactly what `from` holds (the roots' own owner and mode included). */
export async function compareTrees(from: string, to: string, rel = '.'): Promise<void> {
  const a = lstatSync(from);
  const b = lstatSync(to);
  sameMeta(a, b, rel);
  if (a.isSymbolicLink() && readlinkSync(from) !== readlinkSync(to))
    throw differs(rel, 'link target changed');
  if (a.isFile() && !(await sameBytes(from, to, a.size))) throw differs(rel, 'contents differ');
  if (!a.isDirectory()) return;
  const left = readdirSync(from).sort();
  const right = readdirSync(to).sort();
  const extra = right.filter((n) => !left.includes(n));
  if (extra.length) throw differs(rel, `unexpected ${extra.join(', ')} in the copy`);
  for (const name of left) {
    if (!right.includes(name)) throw differs(join(rel, name), 'missing from the copy');
    await compareTrees(join(from, name), join(to, name), join(rel, name));
  }
}
