import { Readable } from 'node:stream';
import { main } from '../../src/main.js';
import type { Runner } from '../../src/io/runner.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real program in-process with a given runner, environment, euid and standard input. */
export async function runCli(
  argv: string[],
  opts: { runner: Runner; env: Record<string, string>; euid?: number; stdin?: string },
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const streams = {
    stdout: { write: (s: string) => ((stdout += s), true), isTTY: false },
    stderr: { write: (s: string) => ((stderr += s), true), isTTY: false },
  };
  const stdin = Readable.from(opts.stdin === undefined ? [] : [opts.stdin]) as unknown as NodeJS.ReadStream;
  const code = await main(argv, {
    runner: opts.runner,
    env: { ...opts.env },
    euid: opts.euid ?? 0,
    streams,
    stdin,
  });
  return { code, stdout, stderr };
}
