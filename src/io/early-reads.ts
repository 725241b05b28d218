import { parentDataset, unitOf } from '../core/layout.js';
import type { Config } from '../schemas/config.js';
import { DATASET_PATH, LAYOUT_DEFAULTS } from '../schemas/config-sources.js';
import { configInput, type ConfigFlags } from './config-input.js';
import { ProcessRunner, type PipeOptions, type Runner, type RunOptions, type RunResult } from './runner.js';
import { systemctlShowArgv } from './systemd-parse.js';
import { zfsGetArgv } from './zfs-parse.js';

/**
 * `list` reads the whole pool and every slot's unit, and loading zod and
 * checking the config (~40 ms CPU) need not come first. Its two reads start
 * from the config as given; the run takes their results only where the checked
 * config asks for exactly the same command. A guess that turns out wrong is a
 * wasted read, never a wrong fact: reads change nothing.
 */
export function startWholePoolReads(
  runner: Runner = new ProcessRunner(),
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
  const early = new EarlyRunner(runner);
  early.start(zfsGetArgv(parentDataset(layout)));
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
