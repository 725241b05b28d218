import { humanBytes } from '../core/bytes.js';
import { Chalk, type ChalkInstance } from 'chalk';
import type { z } from 'zod';
import { VmStateError } from '../core/errors.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  color?: boolean;
}

/** Colour only on a terminal; NO_COLOR and --no-color turn it off, FORCE_COLOR on. */
export function colorLevel(opts: OutputOptions, env: NodeJS.ProcessEnv, isTTY: boolean): 0 | 1 {
  if (opts.json || opts.color === false) return 0;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return 1;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (env.TERM === 'dumb') return 0;
  return isTTY ? 1 : 0;
}

export interface Streams {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

/**
 * How vm-state talks: results on stdout, warnings and errors on stderr,
 * `[INFO]/[OK]/[WARN]/[ERROR]` for people, exactly one JSON document for programs.
 */
export class Output {
  readonly c: ChalkInstance;

  constructor(
    readonly opts: OutputOptions,
    private readonly io: Streams = process,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.c = new Chalk({ level: colorLevel(opts, env, Boolean(io.stdout.isTTY)) });
  }

  get json(): boolean {
    return this.opts.json;
  }

  info(msg: string): void {
    if (!this.opts.json && !this.opts.quiet) this.io.stdout.write(`${this.c.blue('[INFO]')} ${msg}\n`);
  }

  ok(msg: string): void {
    if (!this.opts.json && !this.opts.quiet) this.io.stdout.write(`${this.c.green('[OK]')} ${msg}\n`);
  }

  warn(msg: string): void {
    if (!this.opts.json) this.io.stderr.write(`${this.c.yellow('[WARN]')} ${msg}\n`);
  }

  /** Plain text for people (tables, help); never in JSON mode. */
  text(s: string): void {
    if (!this.opts.json) this.io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  }

  /**
   * The one JSON document of this run, validated against its schema. Without
   * zod's JIT: each schema is used once per run, and compiling its fast path
   * costs more than it saves (measured: README, "Numbers").
   */
  document<S extends z.ZodType>(schema: S, value: z.input<S>): void {
    this.io.stdout.write(`${JSON.stringify(schema.parse(value, { jitless: true }), null, 2)}\n`);
  }

  /**
   * A seconds counter for long waits, on a terminal only: `…: 12s`,
   * redrawn in place on stderr and erased when the wait ends.
   */
  /** A line on a terminal that counts seconds, and the bytes of a stream when told them. */
  progress(): { start(label: string): void; bytes(n: number): void; stop(): void } {
    const tty = Boolean(this.io.stderr.isTTY) && !this.opts.json && !this.opts.quiet;
    let timer: NodeJS.Timeout | undefined;
    let sent = 0;
    const stop = () => {
      if (timer) (clearInterval(timer), this.io.stderr.write('\r\x1b[K'));
      timer = undefined;
    };
    return {
      start: (label) => {
        if (!tty) return;
        stop();
        sent = 0;
        const t0 = Date.now();
        const line = () => {
          const secs = (Date.now() - t0) / 1000;
          const rate =
            sent > 0 && secs > 0 ? `, ${humanBytes(sent)} at ${humanBytes(Math.round(sent / secs))}/s` : '';
          return `\r\x1b[K  ${label}: ${Math.round(secs)}s${rate}`;
        };
        timer = setInterval(() => this.io.stderr.write(line()), 1000);
        timer.unref();
      },
      bytes: (n) => void (sent = n),
      stop,
    };
  }

  /** The error, for people or as one JSON document (whose schema is loaded only then). */
  async error(err: VmStateError): Promise<void> {
    if (this.opts.json) {
      const { ErrorOut } = await import('../schemas/output.js');
      const doc = ErrorOut.parse({
        error: {
          code: err.code,
          exitCode: err.exitCode,
          message: err.message,
          hint: err.hint,
          details: err.details,
        },
      });
      this.io.stderr.write(`${JSON.stringify(doc)}\n`);
      return;
    }
    this.io.stderr.write(`${this.c.red('[ERROR]')} ${err.message}\n`);
    // A hint of several lines (what a stale plan changed) keeps them under the message.
    for (const line of err.hint?.split('\n') ?? []) this.io.stderr.write(`        ${line}\n`);
  }
}
