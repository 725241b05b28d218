import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { CommandError } from './command-error.js';

const osSignals = constants.signals;

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

/** What a read may hold in memory (execa's limit, kept when this runner replaced it). */
const MAX_BUFFER = 100_000_000;
/** After a timeout's SIGTERM, how long a child has to exit before SIGKILL. */
const FORCE_KILL_AFTER = 5_000;

/**
 * Runs commands with node:child_process: an argument array (never a shell), the C
 * locale so messages parse the same everywhere, a timeout, each child in its own
 * process group. VM_STATE_TRACE=1 prints each argv to stderr, which is how the
 * benchmark counts processes. Not execa: loading it and its first call cost more
 * than a small pool's zfs read (README, "Start-up").
 */
export class ProcessRunner implements Runner {
  private readonly trace = process.env.VM_STATE_TRACE === '1';

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty argv');
    if (this.trace)
      process.stderr.write(`+ ${argv.join(' ')}  [${Math.round(process.uptime() * 1000)} ms]\n`);
    const timeout = opts.timeout ?? 120_000;
    const child = start(file, args, opts.inheritStdin ? 'inherit' : 'ignore');
    let stopped: string | undefined;
    const stop = (why: string) => {
      if (stopped !== undefined) return;
      stopped = why;
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode ?? child.signalCode ?? child.kill('SIGKILL'), FORCE_KILL_AFTER).unref();
    };
    // A child reading our stdin (serve's zfs receive) takes as long as the stream does.
    const timer = opts.inheritStdin
      ? undefined
      : setTimeout(() => stop(`timed out after ${timeout} ms`), timeout);
    const r = await ended(child, true, (size) => {
      if (size > MAX_BUFFER) stop(`its output was larger than ${MAX_BUFFER} characters`);
    }).finally(() => clearTimeout(timer));
    // Could not start it at all (ENOENT): report it like a failed run.
    if (r.error) return { stdout: r.stdout, stderr: r.error.message, exitCode: 127 };
    if (r.signal !== null) {
      // 128 + signal number for a killed one, as a shell says; 127 for one that never ran.
      const code = 128 + (osSignals[r.signal] ?? 15);
      return { stdout: r.stdout, stderr: stopped ?? `killed by ${r.signal}`, exitCode: code };
    }
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.code ?? 1 };
  }

  async pipe(
    producer: readonly string[],
    consumer: readonly string[],
    opts: PipeOptions = {},
  ): Promise<PipeResult> {
    const [pFile, ...pArgs] = producer;
    const [cFile, ...cArgs] = consumer;
    if (!pFile || !cFile) throw new Error('empty argv');
    // One line a process, as run prints them (the benchmark counts the lines).
    if (this.trace)
      process.stderr.write(
        `+ ${producer.join(' ')} |\n+ | ${COUNTER.join(' ')} |\n+ | ${consumer.join(' ')}\n`,
      );
    // The stream goes from child to child, never through this process: relayed here it cost
    // ~8% of a 1 GiB send's time (README, "Numbers"). dd counts the bytes on the way.
    const source = start(pFile, pArgs, 'ignore');
    const counter = start(COUNTER[0], COUNTER.slice(1), source.stdout!);
    const sink = start(cFile, cArgs, counter.stdout!);
    // Our ends of the two pipes close: as in a shell, when one side ends the other's pipe
    // closes with it (the consumer reads EOF, the producer gets EPIPE); no signal is sent.
    source.stdout!.destroy();
    counter.stdout!.destroy();
    let bytes = 0;
    counter.stderr!.setEncoding('utf8').on('data', (d: string) => {
      // `status=progress` says `<n> bytes … copied` every second and once more at the end.
      for (const m of d.matchAll(/(\d+) bytes/g)) bytes = Math.max(bytes, Number(m[1]));
      opts.onBytes?.(bytes);
    });
    const [p, k, c] = await Promise.all([ended(source, false), ended(counter, false), ended(sink, true)]);
    const side = (r: Ended): RunResult => {
      if (r.error) return { stdout: r.stdout, stderr: r.stderr || r.error.message, exitCode: 127 };
      if (r.signal !== null)
        return { stdout: r.stdout, stderr: r.stderr || `killed by ${r.signal}`, exitCode: 127 };
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.code ?? 1 };
    };
    // A counter that could not start is the consumer's failure: nothing reached it.
    const consumerResult = k.error ? { ...side(k), stderr: `${COUNTER[0]}: ${k.error.message}` } : side(c);
    return { producer: side(p), consumer: consumerResult, bytes };
  }
}

/** What stands between a pipe's two sides: coreutils' dd, counting (the Nix package's PATH has it). */
const COUNTER = ['dd', 'bs=1M', 'status=progress'] as const;

/** A child that ran to its end: its output and how it ended, or why it could not start (ENOENT). */
interface Ended {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

/**
 * Starts `file` in its own process group (a Ctrl-C at the terminal reaches vm-state,
 * which finishes the step, a VM's stop can take minutes, and undoes, instead of
 * killing the step), with the rest of the environment as it is.
 */
const start = (file: string, args: readonly string[], stdin: 'ignore' | 'inherit' | Readable): ChildProcess =>
  spawn(file, args, {
    env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    stdio: [stdin, 'pipe', 'pipe'],
    detached: true,
  });

/** Waits for `child` to end (after 'error' too: Node closes a child that could not start). */
function ended(child: ChildProcess, keepStdout: boolean, onSize?: (chars: number) => void): Promise<Ended> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let error: Error | undefined;
    if (keepStdout)
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        onSize?.(stdout.length + stderr.length);
      });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      onSize?.(stdout.length + stderr.length);
    });
    child.on('error', (e) => {
      if (child.pid === undefined) error ??= e; // not started; other errors (a failed kill) change nothing
    });
    child.on('close', (code, signal) => resolve({ stdout, stderr, code, signal, error }));
  });
}
