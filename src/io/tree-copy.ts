import { rmdirSync } from 'node:fs';

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
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EBUSY' || code === 'ENOTDIR') return 'not-empty';
    throw e;
  }
}
