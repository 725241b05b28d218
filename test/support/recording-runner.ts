import type { PipeResult, RunOptions, RunResult, Runner } from '../../src/io/runner.js';

export type Responder = (argv: readonly string[]) => Partial<RunResult> | undefined;

/**
 * A Runner that records every argv and answers from responders (the one added
 * last wins; default: exit 0, no output). `failAt(n)` makes the n-th mutating call
 * (not a read) fail, for fault injection.
 */
export class RecordingRunner implements Runner {
  readonly calls: string[][] = [];
  private responders: Responder[] = [];
  private failing?: { index: number; stderr: string };
  private mutations = 0;

  on(match: (argv: readonly string[]) => boolean, result: Partial<RunResult>): this {
    this.responders.unshift((argv) => (match(argv) ? result : undefined));
    return this;
  }

  respond(r: Responder): this {
    this.responders.unshift(r);
    return this;
  }

  failAt(index: number, stderr = 'injected failure'): this {
    this.failing = { index, stderr };
    return this;
  }

  /** Calls that change something (not zfs get / systemctl show). */
  get mutatingCalls(): string[][] {
    return this.calls.filter((c) => !isRead(c));
  }

  /** What the responders answer `argv`, without recording a call. */
  answer(argv: readonly string[]): RunResult {
    for (const r of this.responders) {
      const hit = r(argv);
      if (hit) return { stdout: '', stderr: '', exitCode: 0, ...hit };
    }
    return { stdout: '', stderr: '', exitCode: 0 };
  }

  async run(argv: readonly string[], _opts?: RunOptions): Promise<RunResult> {
    this.calls.push([...argv]);
    if (!isRead(argv)) {
      const n = this.mutations++;
      if (this.failing && n === this.failing.index)
        return { stdout: '', stderr: this.failing.stderr, exitCode: 1 };
    }
    return this.answer(argv);
  }

  /**
   * Records `producer | consumer` as one call (`[...producer, '|', ...consumer]`,
   * one mutation for failAt, which fails the consumer); each side is answered by
   * the responders on its own argv.
   */
  async pipe(producer: readonly string[], consumer: readonly string[]): Promise<PipeResult> {
    this.calls.push([...producer, '|', ...consumer]);
    const n = this.mutations++;
    const result = { producer: this.answer(producer), consumer: this.answer(consumer), bytes: 0 };
    if (this.failing && n === this.failing.index)
      result.consumer = { stdout: '', stderr: this.failing.stderr, exitCode: 1 };
    return result;
  }
}

export const isRead = (argv: readonly string[]) =>
  (argv[0] === 'zfs' && argv[1] === 'get') || (argv[0] === 'systemctl' && argv[1] === 'show');
