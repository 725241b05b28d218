import { readdir } from 'node:fs/promises';
import { VmStateError } from '../core/errors.js';
import type { StateFact } from '../core/facts.js';
import { directoryStates } from '../core/policy.js';
import type { Config } from '../schemas/config.js';
import { parentDataset } from '../core/layout.js';
import { CommandError, type Runner } from './runner.js';
import { copyTree } from './tree-copy.js';
import { parseZfsGet, zfsGetArgv } from './zfs-parse.js';
import { setTimeout as sleep } from 'node:timers/promises';

const BUSY_RETRIES = 8;

/** States and snapshots on ZFS: one read of everything, and the zfs commands of a plan. */
export class StateStore {
  constructor(
    private readonly runner: Runner,
    private readonly config: Config,
  ) {}

  /** Every state (datasets under the parent, plus plain directories in statesDir) with its snapshots: one zfs call. */
  async read(): Promise<{ parentExists: boolean; parentMounted: boolean; states: Map<string, StateFact> }> {
    const parent = parentDataset(this.config);
    const argv = zfsGetArgv(parent);
    // The directory scan runs while zfs does (it costs ms on a FUSE mount).
    const [r, directories] = await Promise.all([this.runner.run(argv), this.plainDirectories()]);
    let parentExists = true;
    let states = new Map<string, StateFact>();
    let parentMounted = false;
    if (r.exitCode === 0) {
      states = parseZfsGet(r.stdout, parent, this.config.statesDir);
      parentMounted = r.stdout.includes(`${parent}\tmounted\tyes\n`);
    } else if (/dataset does not exist/.test(r.stderr)) {
      parentExists = false; // a missing pool, or the ZFS module not loaded, is an error, not an empty list
    } else {
      throw new CommandError(argv, r);
    }
    for (const d of directoryStates(this.config.statesDir, parent, states, directories)) states.set(d.name, d);
    return { parentExists, parentMounted, states };
  }

  /** Directories in statesDir: datasets' mountpoints and, on a fresh hypervisor, tmpfiles-made plain directories. */
  private async plainDirectories(): Promise<string[]> {
    try {
      const entries = await readdir(this.config.statesDir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return [];
    }
  }

  /**
   * Runs a zfs command. ZFS answers "dataset is busy" transiently while a
   * mount is still being released (zfs-fuse always does, the first time), so
   * destroy and rename retry briefly before reporting it.
   */
  async zfs(argv: readonly string[], opts: { retryBusy?: boolean; tolerate?: RegExp } = {}): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.runner.run(argv);
      if (r.exitCode === 0) return;
      if (opts.tolerate?.test(r.stderr)) return;
      const err = new CommandError(argv, r);
      // zfs-fuse also answers a rollback just after an unmount with EIO while the unmount settles.
      const transient = err.failure === 'busy' || (argv[1] === 'rollback' && /I\/O error/.test(r.stderr));
      if (transient && opts.retryBusy && attempt < BUSY_RETRIES) {
        await sleep(25 * 2 ** Math.min(attempt, 4)); // ~2 s in all
        continue;
      }
      if (err.failure === 'busy') {
        throw new VmStateError('busy', `${err.message} (still busy after ${attempt + 1} tries)`, {
          hint: 'A process may still use the mountpoint: check with fuser -vm <mountpoint>',
          cause: err,
        });
      }
      throw err;
    }
  }

  /** Runs `producer | consumer` (zfs send | zfs receive); a failure of either side is the step's failure. */
  async pipe(producer: readonly string[], consumer: readonly string[]): Promise<void> {
    const r = await this.runner.pipe(producer, consumer);
    if (r.consumer.exitCode !== 0) throw new CommandError([...producer, '|', ...consumer], r.consumer);
    if (r.producer.exitCode !== 0) throw new CommandError([...producer, '|', ...consumer], r.producer);
  }

  /** Copies a plain directory's contents into a dataset's mountpoint and checks every byte (adopt). */
  copyTree(from: string, to: string): Promise<void> {
    return copyTree(this.runner, from, to);
  }

  /** `zfs create`/`zfs clone` may leave the new dataset unmounted: mount it so chown hits the dataset, not the bare directory. */
  ensureMounted(dataset: string): Promise<void> {
    return this.zfs(['zfs', 'mount', dataset], { tolerate: /already mounted/i });
  }

  unmount(dataset: string): Promise<void> {
    return this.zfs(['zfs', 'unmount', dataset], { retryBusy: true, tolerate: /not currently mounted|not mounted/i });
  }
}
