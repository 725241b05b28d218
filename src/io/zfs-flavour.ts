import { existsSync } from 'node:fs';

/**
 * Whether this ZFS is OpenZFS (a kernel module) rather than zfs-fuse, which
 * lacks newer properties (`clones`). Cheap to know: the module's directory in
 * sysfs. VM_STATE_ZFS_FLAVOUR=openzfs|zfs-fuse says it instead (for tests).
 */
export function isOpenZfs(env: NodeJS.ProcessEnv = process.env): boolean {
  const said = env.VM_STATE_ZFS_FLAVOUR;
  if (said === 'openzfs' || said === 'zfs-fuse') return said === 'openzfs';
  return existsSync('/sys/module/zfs');
}
