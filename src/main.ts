import { CommanderError } from 'commander';
import { EXIT, VmStateError } from './core/errors.js';
import type { ProgramDeps } from './cli/actions.js';
import { buildProgram } from './cli/program.js';
import { VERSION } from './version.js';
import { CommandError, toVmStateError as fromCommand } from './io/command-error.js';

/** Runs vm-state with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], deps: ProgramDeps = {}): Promise<number> {
  try {
    const program = buildProgram(deps);
    if (
      argv.includes('--json') &&
      (argv.includes('--help') || argv.includes('-h') || argv.filter((a) => !a.startsWith('-'))[0] === 'help')
    ) {
      const [{ describeProgram }, { HelpOut }] = await Promise.all([
        import('./cli/describe.js'),
        import('./schemas/output.js'),
      ]);
      (deps.streams ?? process).stdout.write(
        `${JSON.stringify(HelpOut.parse(describeProgram(program, VERSION)), null, 2)}\n`,
      );
      return EXIT.ok;
    }
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    const err = toVmStateError(e);
    if (err === undefined) return EXIT.ok;
    // Loaded only on failure: the success path of --help must not pay for it.
    const { Output } = await import('./cli/output.js');
    await new Output(
      { json: argv.includes('--json'), quiet: false, color: argv.includes('--no-color') ? false : undefined },
      deps.streams,
      deps.env,
    ).error(err);
    return err.exitCode;
  }
}

function toVmStateError(e: unknown): VmStateError | undefined {
  if (e instanceof VmStateError) return e;
  if (e instanceof CommanderError) {
    if (e.exitCode === 0) return undefined; // --help, --version
    const message = e.message.replace(/^error: /, '');
    const hint =
      e.code === 'commander.unknownCommand' ? "Use 'vm-state help' for usage." : 'See: vm-state help';
    return new VmStateError('usage', message.charAt(0).toUpperCase() + message.slice(1), { hint });
  }
  if (e instanceof CommandError) return fromCommand(e);
  return new VmStateError('failed', `Unexpected error: ${(e as Error)?.stack ?? String(e)}`);
}
