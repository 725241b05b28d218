import type { StateScope } from '../core/facts.js';
import { parentDataset, unitOf } from '../core/layout.js';
import type { Config } from '../schemas/config.js';
import { DATASET_PATH, LAYOUT_DEFAULTS } from '../schemas/config-sources.js';
import { MAX_EXISTING, nameProblem } from '../schemas/names.js';
import { configInput, type ConfigFlags } from './config-input.js';
import { ProcessRunner, type PipeOptions, type Runner, type RunOptions, type RunResult } from './runner.js';
import { systemctlShowArgv } from './systemd-parse.js';
import { isOpenZfs } from './zfs-flavour.js';
import { scopeListings, zfsGetArgv } from './zfs-parse.js';

/**
 * A view reads without the lock, and loading zod and checking the config need
 * not come first. The reads that do not depend on its arguments start
 * from the config as given: `list` reads the whole pool and every slot's unit; a
 * scoped view (`show`) the parent, the units, and the one listing of every state
 * its guards need (the read that grows with the pool). The run takes their results
 * only where the checked config asks for exactly the same command. A guess that
 * turns out wrong is a wasted read, never a wrong fact: reads change nothing. A
 * mutation reads its facts under the lock, so never early.
 */
export function startViewReads(
  runner: Runner = new ProcessRunner(),
  scope: StateScope,
  flags: ConfigFlags,
  env: NodeJS.ProcessEnv,
): Runner {
  let layout: Layout | undefined;
  try {
    layout = layoutOf(configInput(flags, env).merged);
  } catch {
    return runner; // a config that cannot be read: the checked read says why
  }
  if (layout === undefined) return runner;
  // A name the view refuses reads nothing: its own check says why (exit 2, before any read).
  if (scope !== 'all' && scope.names.some((n) => nameProblem(n, MAX_EXISTING) !== undefined)) return runner;
  const early = new EarlyRunner(runner);
  const parent = parentDataset(layout);
  if (scope === 'all') early.start(zfsGetArgv(parent));
  else {
    // What StateStore.readSome lists: the states themselves come from the arguments, later.
    for (const argv of Object.values(scopeListings(parent, scope, isOpenZfs()))) if (argv) early.start(argv);
  }
  early.start(systemctlShowArgv(layout.slots.map((s) => unitOf(layout, s))));
  return early;
}

type Layout = Pick<Config, 'pool' | 'dataset' | 'slots' | 'unitTemplate'>;

/** Where the reads go, if the values can go into an argv: a dataset path never starts with '-'. */
function layoutOf(given: Record<string, unknown>): Layout | undefined {
  const { pool, dataset, slots, unitTemplate } = { ...LAYOUT_DEFAULTS, ...given };
  const path = (v: unknown): v is string => typeof v === 'string' && DATASET_PATH.test(v);
  if (!path(pool) || !path(dataset) || typeof unitTemplate !== 'string') return undefined;
  if (!Array.isArray(slots) || !slots.every((s) => typeof s === 'string')) return undefined;
  return { pool, dataset, slots, unitTemplate };
}

/** A runner some of whose reads already run: the first run() of the same argv takes each. */
export class EarlyRunner implements Runner {
  private readonly started = new Map<string, Promise<RunResult>>();

  constructor(private readonly inner: Runner) {}

  start(argv: readonly string[]): void {
    const result = this.inner.run(argv);
    result.catch(() => undefined); // taken by nobody, its failure is nobody's
    this.started.set(argv.join('\0'), result);
  }

  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    const key = argv.join('\0');
    const early = opts === undefined ? this.started.get(key) : undefined;
    if (early === undefined) return this.inner.run(argv, opts);
    this.started.delete(key);
    return early;
  }

  pipe(producer: readonly string[], consumer: readonly string[], opts?: PipeOptions) {
    return this.inner.pipe(producer, consumer, opts);
  }
}
