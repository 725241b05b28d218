import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * One vm-state command line run as a child process, the way a tool call runs: the server's
 * standard output stays the protocol's alone (nothing the command prints can reach it), and
 * a command that crashes takes only itself down.
 */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** How to start vm-state: a program and its first arguments (Node and the launcher). */
export type Cli = readonly string[];

/** stdout larger than this is no document of ours: the child is stopped. */
const MAX_OUTPUT = 64 * 1024 * 1024;

export function runCli(cli: Cli, argv: readonly string[], signal?: AbortSignal): Promise<CliRun> {
  const [file, ...pre] = cli;
  const trace = process.env.VM_STATE_TRACE === '1';
  // The same line the runner writes for zfs and systemctl: how the benchmark counts processes.
  if (trace) process.stderr.write(`+ vm-state ${argv.join(' ')}\n`);
  return new Promise((resolve) => {
    // No stdin: with --yes nothing asks, and nothing else may read the protocol's input.
    // SIGTERM on cancel: vm-state finishes its step and undoes what ran.
    const child = spawn(file!, [...pre, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_OUTPUT) child.kill('SIGTERM');
      else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      if (trace) process.stderr.write(b);
    });
    // Never started (no such file): as a shell says it. A cancelled one ends with 'close'.
    child.on('error', (e) => {
      if (child.pid === undefined) resolve({ code: 127, stdout: '', stderr: e.message });
    });
    child.on('close', (code, sig) =>
      resolve({
        // Killed: 128 + the signal's number, as a shell says it.
        code: code ?? 128 + (constants.signals[sig!] ?? 15),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}
