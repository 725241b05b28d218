import { Command, Option } from 'commander';
import { COMMANDS, GROUPS } from '../commands/index.js';
import { argsUsage, inputKey, type CommandSpec, type Input } from '../commands/spec.js';
import { EXIT_CODE_HELP, VmStateError } from '../core/errors.js';
import { shown } from '../core/names.js';
import { VERSION } from '../version.js';
import type { ProgramDeps } from './actions.js';

/**
 * The command line: names, arguments, options and help. It only parses; the
 * work is in ./actions.ts, loaded when a command runs, so that `--help` stays
 * as fast as a bare node start.
 */

const EXAMPLES = `
EXAMPLES:
  vm-state list                                 # slots, states, snapshots
  vm-state create dev-env                       # a new empty state
  vm-state snapshot slot1 before-update         # snapshot slot1's state
  vm-state assign slot2 dev-env                 # run dev-env on slot2 (after a restart)
  vm-state clone prod-env test-env              # copy a state (ZFS clone)
  vm-state migrate test-env slot3               # stop slot3, assign, start
  vm-state restore before-update recovered      # snapshot -> new state
  vm-state restore dev-env@before-update rec2   # when several states have that snapshot
  echo DELETE | vm-state delete test-env        # or: vm-state delete test-env --yes
  vm-state --dry-run --json migrate dev-env slot2   # the exact steps, as JSON
  vm-state --json --help                        # this command line, as data for programs

ARCHITECTURE:
  Slots are fixed network identities: slot1 = 10.1.0.2, ..., slot5 = 10.5.0.2,
  each a systemd unit microvm@<slot>.service whose disk is
  /var/lib/microvms/<slot>/data.img, a symlink to the assigned state's image.
  States are ZFS datasets mounted at /var/lib/microvms/states/<state>/.

${EXIT_CODE_HELP}
`;

export function buildProgram(deps: ProgramDeps = {}): Command {
  const program = new Command('vm-state');

  program
    .description('Manage portable VM states (ZFS datasets) for microVM slots (systemd units)')
    .version(VERSION, '-V, --version')
    .option('--json', 'print one JSON document (errors as JSON on stderr)')
    .option('-n, --dry-run', 'print the exact zfs/systemctl commands and file changes; change nothing')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('-q, --quiet', 'print only warnings and errors')
    .option('--no-color', 'no colour (also: NO_COLOR=1)')
    .option('--wait <seconds>', 'wait this long for another run to release the lock (default 10)')
    .option('--config <file>', 'config file (default /etc/vm-state/config.json; env VM_STATE_CONFIG)')
    .option('--expect-plan <token>', "run only the plan of this token (a dry run's), else exit 5")
    .option('--plan-out <file>', 'write the plan to FILE for vm-state apply (implies --dry-run)')
    .addOption(new Option('--pool <name>', 'ZFS pool (env VM_STATE_POOL)').hideHelp())
    .addOption(new Option('--dataset <path>', 'parent dataset in the pool (env VM_STATE_DATASET)').hideHelp())
    .addOption(
      new Option('--states-dir <dir>', 'where states are mounted (env VM_STATE_STATES_DIR)').hideHelp(),
    )
    .addOption(
      new Option('--slots-dir <dir>', 'where slot directories live (env VM_STATE_SLOTS_DIR)').hideHelp(),
    )
    .addOption(
      new Option(
        '--assignments-file <file>',
        'slot -> state JSON (env VM_STATE_ASSIGNMENTS_FILE)',
      ).hideHelp(),
    )
    .addOption(new Option('--slots <list>', 'comma-separated slot names (env VM_STATE_SLOTS)').hideHelp())
    .addOption(
      new Option('--unit-template <t>', 'systemd unit, %s = slot (env VM_STATE_UNIT_TEMPLATE)').hideHelp(),
    )
    .addOption(new Option('--owner <user>', 'owner of states and slot dirs (env VM_STATE_OWNER)').hideHelp())
    .addOption(new Option('--group <group>', 'group of states and slot dirs (env VM_STATE_GROUP)').hideHelp())
    .addHelpText('after', EXAMPLES)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (t) => void (deps.streams ?? process).stdout.write(t),
      writeErr: () => undefined,
      outputError: () => undefined,
    });

  // Top-level commands first, then subcommands (`snapshot delete`) under them: no order to get right.
  const byDepth = [...COMMANDS].sort((x, y) => x.name.split(' ').length - y.name.split(' ').length);
  for (const spec of byDepth) register(program, spec, deps);
  return program;
}

/** One command of the table, as commander's: usage, options, help, and the action that runs it. */
function register(program: Command, spec: CommandSpec, deps: ProgramDeps): void {
  const words = spec.name.split(' ');
  let parent = words.length === 1 ? program : program.commands.find((c) => c.name() === words[0]);
  // A noun with no action of its own (`remote`): a group for its subcommands.
  if (!parent && GROUPS[words[0]!]) parent = program.command(words[0]!).description(GROUPS[words[0]!]!);
  if (!parent) throw new Error(`${spec.name}: no command '${words[0]}' to put it under`);
  const usage = `${words.at(-1)} ${argsUsage(spec)}`.trim();
  const command = parent
    .command(usage, { isDefault: spec.isDefault, hidden: spec.hidden })
    .description(spec.description);
  for (const o of spec.options ?? [])
    if (o.repeatable) command.option(o.flags, o.description, (v: string, all: string[] = []) => [...all, v]);
    else command.option(o.flags, o.description);
  if (spec.isDefault) command.allowExcessArguments(true);
  command.action(async (...params: unknown[]) => {
    const cmd = params.at(-1) as Command;
    // The default command also receives a mistyped command name as an argument.
    if (spec.isDefault && cmd.args.length > spec.args.length) {
      throw new VmStateError('usage', `Unknown command: ${shown(cmd.args[0]!)}`, {
        hint: "Use 'vm-state help' for usage.",
      });
    }
    const input: Input = { ...cmd.opts() };
    spec.args.forEach((a, i) => (input[inputKey(a)] = params[i] as string | undefined));
    // A view's reads start before zod loads with the next import (io/early-reads.ts); its
    // scope's flags do not depend on the assignments, which are read later, with zod.
    const runner =
      spec.kind === 'view'
        ? (await import('../io/early-reads.js')).startViewReads(
            deps.runner,
            spec.scope?.(input, {}) ?? 'all',
            cmd.optsWithGlobals(),
            deps.env ?? process.env,
          )
        : deps.runner;
    await (await import('./run-command.js')).runCommand(spec, input, cmd, { ...deps, runner });
  });
}
