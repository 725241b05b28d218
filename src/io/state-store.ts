import { readdir } from 'node:fs/promises';
import { VmStateError } from '../core/errors.js';
import { stateNameOf, type StateFact, type StateScope } from '../core/facts.js';
import { directoryStates } from '../core/policy.js';
import type { Config } from '../schemas/config.js';
import { datasetOf, parentDataset } from '../core/layout.js';
import { CommandError, type PipeResult, type RunResult, type Runner } from './runner.js';
import { copyTree } from './tree-copy.js';
import {
  availableOf,
  missingDatasets,
  parseMountpoints,
  parseTrash,
  parseZfsGet,
  zfsGetTrashArgv,
  zfsGetMountpointsArgv,
  zfsGetArgv,
  zfsGetStatesArgv,
  scopeListings,
} from './zfs-parse.js';
import { isOpenZfs } from './zfs-flavour.js';
import { trashDataset, type TrashFact } from '../core/trash.js';
import { setTimeout as sleep } from 'node:timers/promises';

const BUSY_RETRIES = 8;

/** What a read of the states found (see Facts). */
export interface StatesRead {
  parentExists: boolean;
  parentMounted: boolean;
  parentAvailable: number | null;
  states: Map<string, StateFact>;
  mountpoints?: Map<string, string>;
  trash?: TrashFact;
}

/** States and snapshots on ZFS: one read of everything, and the zfs commands of a plan. */
export class StateStore {
  constructor(
    private readonly runner: Runner,
    private readonly config: Config,
  ) {}

  /** The states `scope` names (see StateScope), with the parent's own state and the plain directories among them. */
  async read(scope: StateScope = 'all'): Promise<StatesRead> {
    const parent = parentDataset(this.config);
    // The directory scan runs while zfs does (it costs ms on a FUSE mount).
    const [zfs, directories]: [StatesRead, string[]] = await Promise.all([
      scope === 'all' ? this.readAll() : this.readSome(scope),
      this.plainDirectories(),
    ]);
    const wanted = scope === 'all' ? directories : directories.filter((d) => scope.names.includes(d));
    // A directory is a plain state only if no dataset has it as its mountpoint, mounted or not (a
    // rename that did not finish): when a scoped read has not seen every dataset, it asks.
    if (scope !== 'all' && !zfs.mountpoints && wanted.some((d) => !zfs.states.has(d))) {
      zfs.mountpoints = parseMountpoints(await this.get(zfsGetMountpointsArgv(parent)));
    }
    const held = new Set(
      [...zfs.states.values()].map((s) => s.mountpoint).concat([...(zfs.mountpoints?.keys() ?? [])]),
    );
    for (const d of directoryStates(this.config.statesDir, parent, zfs.states, wanted, held))
      zfs.states.set(d.name, d);
    return zfs;
  }

  private async readAll(): Promise<StatesRead> {
    const parent = parentDataset(this.config);
    const argv = zfsGetArgv(parent);
    const r = await this.runner.run(argv);
    if (r.exitCode === 0) {
      const states = parseZfsGet(r.stdout, parent, this.config.statesDir);
      return {
        parentExists: true,
        parentMounted: r.stdout.includes(`${parent}\tmounted\tyes\n`),
        parentAvailable: availableOf(r.stdout, parent),
        states,
        trash: this.trashIn(r.stdout),
      };
    }
    // A missing pool, or the ZFS module not loaded, is an error, not an empty list.
    if (/dataset does not exist/.test(r.stderr))
      return {
        parentExists: false,
        parentMounted: false,
        parentAvailable: null,
        states: new Map(),
        trash: this.trashIn(''),
      };
    throw new CommandError(argv, r);
  }

  /** The parent, and the named states at depth 1 (then those related to them): a few zfs calls, whatever the pool. */
  private async readSome(scope: Exclude<StateScope, 'all'>): Promise<StatesRead> {
    const parent = parentDataset(this.config);
    const openZfs = isOpenZfs();
    // Clones: OpenZFS lists them on each snapshot; zfs-fuse has no such property, so they are
    // derived from every state's origin, as readAll does.
    const askClones = scope.clones === true && openZfs;
    const listed = scopeListings(parent, scope, openZfs);
    const [head, origins, places, trash, ...first] = await Promise.all([
      this.get(listed.parent),
      listed.origins ? this.get(listed.origins) : Promise.resolve(''),
      listed.mountpoints ? this.get(listed.mountpoints) : Promise.resolve(''),
      scope.trash ? this.get(zfsGetTrashArgv(trashDataset(this.config), askClones)) : Promise.resolve(''),
      this.getStates(scope.names, askClones),
    ]);
    let text = `${head}${origins}${first.join('')}`;
    if (head === '')
      return {
        parentExists: false,
        parentMounted: false,
        parentAvailable: null,
        states: new Map<string, StateFact>(),
        trash: scope.trash ? this.trashIn('') : undefined,
      };
    let states = parseZfsGet(text, parent, this.config.statesDir);
    if (scope.related) {
      const more = new Set<string>();
      for (const st of scope.names.map((n) => states.get(n)).filter((x) => x !== undefined)) {
        const from = st.origin && stateNameOf(parent, st.origin.split('@')[0]!);
        if (from) more.add(from);
        for (const clone of st.snapshots.flatMap((x) => x.clones)) {
          const name = stateNameOf(parent, clone);
          if (name) more.add(name);
        }
      }
      const extra = [...more].filter((n) => !states.has(n));
      if (extra.length > 0) {
        text += await this.getStates(extra, askClones);
        states = parseZfsGet(text, parent, this.config.statesDir);
      }
    }
    const mountpoints = scope.mountpoints ? parseMountpoints(places) : undefined;
    return {
      parentExists: true,
      parentMounted: head.includes(`${parent}\tmounted\tyes\n`),
      parentAvailable: availableOf(head, parent),
      states,
      mountpoints,
      // The origins read above say which states were cloned from the entries' snapshots.
      trash: scope.trash
        ? parseTrash(`${trash}${origins}`, trashDataset(this.config), this.config.statesDir)
        : undefined,
    };
  }

  /** The trash in a read of the whole parent: only its lines and the origins are parsed again. */
  private trashIn(stdout: string): TrashFact {
    const trash = trashDataset(this.config);
    if (!stdout.includes(`\n${trash}\t`) && !stdout.includes(`\n${trash}/`))
      return parseTrash('', trash, this.config.statesDir);
    const lines = stdout
      .split('\n')
      .filter(
        (l) =>
          l.startsWith(`${trash}\t`) ||
          l.startsWith(`${trash}/`) ||
          (l.includes('\torigin\t') && !l.endsWith('\t-')),
      );
    return parseTrash(`${lines.join('\n')}\n`, trash, this.config.statesDir);
  }

  /** `zfs get` of datasets that may not exist: their text, '' for the missing ones. */
  private async get(argv: string[]): Promise<string> {
    const r = await this.runner.run(argv);
    if (r.exitCode === 0) return r.stdout;
    const { missing, other } = missingDatasets(r.stderr);
    if (missing.length > 0 && other === '') return r.stdout;
    throw new CommandError(argv, r);
  }

  private getStates(names: string[], clones: boolean): Promise<string> {
    if (names.length === 0) return Promise.resolve('');
    return this.get(
      zfsGetStatesArgv(
        names.map((n) => datasetOf(this.config, n)),
        clones,
      ),
    );
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
      // Busy can pass: zfs-fuse unmounts asynchronously (the first destroy of a mounted dataset
      // is always busy there), and OpenZFS answers busy while a process is leaving the mountpoint.
      // zfs-fuse alone also answers a rollback just after an unmount with EIO while it settles;
      // on OpenZFS an I/O error is a real one.
      const settling = argv[1] === 'rollback' && /I\/O error/.test(r.stderr) && !isOpenZfs();
      const transient = err.failure === 'busy' || settling;
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

  /** Runs `producer | consumer` and returns both sides' results, as they are (send to a remote). */
  stream(
    producer: readonly string[],
    consumer: readonly string[],
    onBytes?: (n: number) => void,
  ): Promise<PipeResult> {
    return this.runner.pipe(producer, consumer, { onBytes });
  }

  /**
   * The size of the stream `zfs send …` would write: OpenZFS says so (`-nP`); zfs-fuse
   * cannot, so a full stream counts as what its snapshot refers to, an incremental as unknown.
   */
  async streamSize(send: readonly string[]): Promise<number | null> {
    if (isOpenZfs()) {
      const r = await this.runner.run(['zfs', 'send', '-nP', ...send.slice(2)]);
      const size = /^size\s+(\d+)$/m.exec(r.stdout + r.stderr)?.[1];
      return size === undefined ? null : Number(size);
    }
    if (send.length !== 3) return null;
    const r = await this.runner.run(['zfs', 'get', '-H', '-p', '-o', 'value', 'referenced', send[2]!]);
    return /^\d+$/.test(r.stdout.trim()) ? Number(r.stdout.trim()) : null;
  }

  /** Runs a command and returns its result, as it is. */
  run(argv: readonly string[]): Promise<RunResult> {
    return this.runner.run(argv);
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
    return this.zfs(['zfs', 'unmount', dataset], {
      retryBusy: true,
      tolerate: /not currently mounted|not mounted/i,
    });
  }
}
