import { Readable } from 'node:stream';
import { main } from '../../src/main.js';
import type { Runner } from '../../src/io/runner.js';
import { MemoryJournal, type JournalWriter } from '../../src/io/journal.js';
import type { JournalField } from '../../src/core/journal.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The journal entries the run wrote, each a list of fields. */
  journal: JournalField[][];
}

/** Runs the real program in-process with a given runner, environment, euid and standard input. */
export async function runCli(
  argv: string[],
  opts: {
    runner: Runner;
    env: Record<string, string>;
    euid?: number;
    stdin?: string;
    /** Where journal entries go: in memory unless told (a test never writes to this machine's journal). */
    journal?: JournalWriter;
  },
): Promise<CliRun> {
  const memory = new MemoryJournal();
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
    journal: opts.journal ?? memory,
  });
  return { code, stdout, stderr, journal: memory.entries };
}
