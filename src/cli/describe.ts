import type { Command } from 'commander';
import { EXIT } from '../core/errors.js';

/**
 * `--json --help`: the command line itself as data, for programs that drive
 * vm-state (commands, their arguments and options, global options, exit codes),
 * taken from the same commander definitions that print the human help.
 */
export function describeProgram(program: Command, version: string) {
  const options = (cmd: Command) =>
    cmd.options
      .filter((o) => !o.hidden)
      .map((o) => ({ flags: o.flags, description: o.description, takesValue: o.required || o.optional }));
  const command = (cmd: Command): unknown => ({
    name: cmd.name(),
    usage: `${cmd.parent ? `${cmd.parent.name()} ` : ''}${cmd.name()} ${cmd.usage()}`.trim(),
    description: cmd.description(),
    arguments: cmd.registeredArguments.map((a) => ({
      name: a.name(),
      required: a.required,
      variadic: a.variadic,
    })),
    options: options(cmd),
    ...(cmd.commands.length
      ? { commands: cmd.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden).map(command) }
      : {}),
  });
  return {
    name: program.name(),
    version,
    globalOptions: options(program),
    commands: program.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden).map(command),
    exitCodes: EXIT,
  };
}
