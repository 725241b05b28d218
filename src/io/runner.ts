import { execa } from 'execa';
import { constants } from 'node:os';

const osSignals = constants.signals;
import { CommandError } from './command-error.js';

export { CommandError, classify, type FailureClass } from './command-error.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** Milliseconds; the default suits zfs and systemctl calls that can wait on a VM. */
  timeout?: number;
  /** The child reads this process's standard input (serve's zfs receive: the stream ssh brings); no timeout. */
  inheritStdin?: boolean;
}

/** What each side of a pipe did. */
export interface PipeResult {
  producer: RunResult;
  consumer: RunResult;
  /** Bytes that went through. */
  bytes: number;
}

/** The one door to the outside world: every zfs and systemctl call passes here. */
export interface Runner {
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /**
   * Runs `producer | consumer` (no shell): the producer's stdout streams into
   * the consumer's stdin without being held in memory (`zfs send | zfs receive`).
   * No timeout: a stream can take as long as the data needs.
   */
  pipe(producer: readonly string[], consumer: readonly string[], opts?: PipeOptions): Promise<PipeResult>;
}

export interface PipeOptions {
  /** Called as the stream flows, with the bytes so far. */
  onBytes?: (bytes: number) => void;
}

/** Throws CommandError unless the command exited 0. */
export async function runChecked(
  runner: Runner,
  argv: readonly string[],
  opts?: RunOptions,
): Promise<RunResult> {
  const result = await runner.run(argv, opts);
  if (result.exitCode !== 0) throw new CommandError(argv, result);
  return result;
}

/**
 * Runs commands with execa: an argument array (never a shell), the C locale so
 * messages parse the same everywhere, and a timeout. VM_STATE_TRACE=1 prints
 * each argv to stderr, which is how the benchmark counts processes.
 */
export class ExecaRunner implements Runner {
  private readonly trace = process.env.VM_STATE_TRACE === '1';

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty argv');
    if (this.trace)
      process.stderr.write(`+ ${argv.join(' ')}  [${Math.round(process.uptime() * 1000)} ms]\n`);
    const r = await execa(file, args, {
      env: { LC_ALL: 'C', LANG: 'C' },
      reject: false,
      timeout: opts.inheritStdin ? 0 : (opts.timeout ?? 120_000),
      stdin: opts.inheritStdin ? 'inherit' : 'ignore',
      stripFinalNewline: false,
      // Its own process group: a Ctrl-C at the terminal reaches vm-state, which finishes
      // the step (a VM's stop can take minutes) and undoes, instead of killing the step.
      detached: true,
    });
    if (r.failed && r.exitCode === undefined) {
      // Could not start it at all (ENOENT, timeout): report it like a failed run.
      const why = r.timedOut
        ? `timed out after ${opts.timeout ?? 120_000} ms`
        : r.isTerminated
          ? `killed by ${r.signal}`
          : ((r.cause as Error | undefined)?.message ?? r.shortMessage ?? 'could not run');
      // 128 + signal number for a killed one, as a shell says; 127 for one that never ran.
      const code = r.isTerminated ? 128 + (osSignals[r.signal as keyof typeof osSignals] ?? 15) : 127;
      return { stdout: String(r.stdout ?? ''), stderr: why, exitCode: code };
    }
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? 1 };
  }

  async pipe(
    producer: readonly string[],
    consumer: readonly string[],
    opts: PipeOptions = {},
  ): Promise<PipeResult> {
    const [pFile, ...pArgs] = producer;
    const [cFile, ...cArgs] = consumer;
    if (!pFile || !cFile) throw new Error('empty argv');
    if (this.trace) process.stderr.write(`+ ${producer.join(' ')} | ${consumer.join(' ')}\n`);
    const common = {
      env: { LC_ALL: 'C', LANG: 'C' },
      reject: false,
      stripFinalNewline: false,
      detached: true,
    } as const;
    // The producer's stdout is not buffered: it goes to the consumer's stdin and nowhere else.
    const source = execa(pFile, pArgs, {
      ...common,
      stdin: 'ignore',
      buffer: { stdout: false },
      encoding: 'buffer',
    });
    const sink = execa(cFile, cArgs, common);
    let bytes = 0;
    source.stdout?.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      opts.onBytes?.(bytes);
    });
    try {
      await source.pipe(sink);
    } catch {
      // Reported below from each side's own result.
    }
    const [p, c] = await Promise.all([source, sink]);
    const side = (r: typeof p | typeof c, argv: readonly string[]): RunResult => {
      const stderr = typeof r.stderr === 'string' ? r.stderr : Buffer.from(r.stderr ?? []).toString();
      const stdout = typeof r.stdout === 'string' ? r.stdout : '';
      if (r.failed && r.exitCode === undefined) {
        const why = r.isTerminated
          ? `killed by ${r.signal}`
          : ((r.cause as Error | undefined)?.message ?? `${argv[0]}: could not run`);
        return { stdout, stderr: stderr || why, exitCode: 127 };
      }
      return { stdout, stderr, exitCode: r.exitCode ?? 1 };
    };
    return { producer: side(p, producer), consumer: side(c, consumer), bytes };
  }
}
