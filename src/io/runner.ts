import { execa } from 'execa';
import { CommandError } from './command-error.js';

export { CommandError, classify, type FailureClass } from './command-error.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** Feed this to the command's standard input. */
  input?: string;
  /** Milliseconds; the default suits zfs and systemctl calls that can wait on a VM. */
  timeout?: number;
}

/** The one door to the outside world: every zfs and systemctl call passes here. */
export interface Runner {
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** Throws CommandError unless the command exited 0. */
export async function runChecked(runner: Runner, argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
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
  spawned = 0;

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty argv');
    this.spawned++;
    if (this.trace) process.stderr.write(`+ ${argv.join(' ')}\n`);
    const r = await execa(file, args, {
      env: { LC_ALL: 'C', LANG: 'C' },
      reject: false,
      timeout: opts.timeout ?? 120_000,
      input: opts.input,
      stdin: opts.input === undefined ? 'ignore' : undefined,
      stripFinalNewline: false,
    });
    if (r.failed && r.exitCode === undefined) {
      // Could not start it at all (ENOENT, timeout): report it like a failed run.
      const why = r.timedOut ? `timed out after ${opts.timeout ?? 120_000} ms` : (r.cause as Error | undefined)?.message ?? r.shortMessage ?? "could not run";
      return { stdout: String(r.stdout ?? ''), stderr: why, exitCode: 127 };
    }
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? 1 };
  }
}
