import { Command, Option } from 'commander';
import { EXIT_CODE_HELP, VmStateError } from '../core/errors.js';
import { shown } from '../core/names.js';
import { planAssign } from '../core/plans/assign.js';
import { planClone } from '../core/plans/clone.js';
import { planCreate } from '../core/plans/create.js';
import { planDelete } from '../core/plans/delete.js';
import { planMigrate } from '../core/plans/migrate.js';
import { planRestore } from '../core/plans/restore.js';
import { planSnapshot } from '../core/plans/snapshot.js';
import { planFullClone } from '../core/plans/full-clone.js';
import { planSnapshotStopped } from '../core/plans/snapshot-stop.js';
import { LIFECYCLE_MUTATIONS, registerSnapshotDelete, registerViews, type Mutation } from './lifecycle.js';
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

/** The commands that change things: each is a planner over the same read-plan-run path. */
const MUTATIONS: Mutation[] = [
  { usage: 'create <name>', description: 'create a new empty state', plan: (c, [name]) => planCreate(c, name!) },
  {
    usage: 'snapshot <slot> <name>',
    description: 'snapshot the state assigned to a slot (crash-consistent while it runs)',
    plan: (c, [slot, snap], o) => (o.stop ? planSnapshotStopped(c, slot!, snap!) : planSnapshot(c, slot!, snap!)),
    options: [['--stop', 'stop the slot for a clean snapshot, then start it again if it was running']],
  },
  {
    usage: 'assign <slot> <state>',
    description: 'assign a state to a slot (created if missing); takes effect at the next start',
    plan: (c, [slot, state]) => planAssign(c, slot!, state!),
  },
  {
    usage: 'clone <source> <dest>',
    description: 'clone a state to a new name (ZFS clone of a fresh snapshot)',
    plan: (c, [src, dst], o) => (o.full ? planFullClone(c, src!, dst!) : planClone(c, src!, dst!)),
    options: [['--full', 'an independent copy (zfs send | zfs receive): no origin, either side deletable']],
  },
  {
    usage: 'delete <state>',
    description: 'delete a state and its snapshots (not while assigned); asks you to type DELETE',
    plan: (c, [name]) => planDelete(c, name!),
    confirm: 'DELETE',
  },
  {
    usage: 'migrate <state> <slot>',
    description: 'stop the slot, assign the state, start the slot (rolled back if a step fails)',
    plan: (c, [state, slot]) => planMigrate(c, state!, slot!),
  },
  {
    usage: 'restore <snapshot> <new-state>',
    description: 'clone a snapshot (<snap> or <state>@<snap>) into a new state',
    plan: (c, [snap, dst]) => planRestore(c, snap!, dst!),
  },
];

const actions = () => import('./actions.js');

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
    .addOption(new Option('--pool <name>', 'ZFS pool (env VM_STATE_POOL)').hideHelp())
    .addOption(new Option('--dataset <path>', 'parent dataset in the pool (env VM_STATE_DATASET)').hideHelp())
    .addOption(new Option('--states-dir <dir>', 'where states are mounted (env VM_STATE_STATES_DIR)').hideHelp())
    .addOption(new Option('--slots-dir <dir>', 'where slot directories live (env VM_STATE_SLOTS_DIR)').hideHelp())
    .addOption(new Option('--assignments-file <file>', 'slot -> state JSON (env VM_STATE_ASSIGNMENTS_FILE)').hideHelp())
    .addOption(new Option('--slots <list>', 'comma-separated slot names (env VM_STATE_SLOTS)').hideHelp())
    .addOption(new Option('--unit-template <t>', 'systemd unit, %s = slot (env VM_STATE_UNIT_TEMPLATE)').hideHelp())
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

  program
    .command('list', { isDefault: true })
    .description('list slots, states and snapshots (the default command)')
    .allowExcessArguments(true)
    .action(async (_o, cmd: Command) => {
      // `list` is the default command, so an unknown command name arrives here as an argument.
      if (cmd.args.length > 0) {
        throw new VmStateError('usage', `Unknown command: ${shown(cmd.args[0]!)}`, { hint: "Use 'vm-state help' for usage." });
      }
      const a = await actions();
      await a.list(a.context(cmd, deps));
    });

  registerViews(program, deps);

  for (const m of [...MUTATIONS, ...LIFECYCLE_MUTATIONS]) {
    const command = program.command(m.usage).description(m.description);
    for (const [flags, description] of m.options ?? []) command.option(flags, description);
    command.action(async (...args: unknown[]) => {
      const cmd = args.at(-1) as Command;
      const a = await actions();
      const ctx = a.context(cmd, deps);
      const decide = m.plan(ctx.config, cmd.args, cmd.opts()); // validates the arguments before anything is read
      await a.runMutation(ctx, cmd.name(), decide, { confirm: m.confirm });
    });
  }
  registerSnapshotDelete(program, deps);

  program
    .command('preflight <slot>')
    .description("start guard for the unit's ExecStartPre: refuse if the state is not mounted or runs elsewhere")
    .action(async (slot: string, _o, cmd: Command) => {
      const a = await actions();
      await a.preflight(a.context(cmd, deps), slot);
    });

  program
    .command('completion <shell>')
    .description('print a completion script: bash, zsh or fish (e.g. vm-state completion bash > /etc/bash_completion.d/vm-state)')
    .action(async (shell: string) => (await import('./completion.js')).printScript(shell, deps.streams ?? process));

  program.command('__complete <index> [words...]', { hidden: true }).action(async (index: string, words: string[], _o, cmd: Command) => {
    const c = await import('./completion.js');
    const a = await actions();
    await c.complete(program, Number(index), words, a.context(cmd, deps));
  });

  program
    .command('doctor')
    .description('check the assignments file, slot links, mounts and shared states; --repair fixes what it can')
    .option('--repair', 'repair what was found (as root; the assignments file comes back from its backup or the links)')
    .action(async (o: { repair?: boolean }, cmd: Command) => {
      const a = await actions();
      await a.doctor(a.context(cmd, deps), Boolean(o.repair));
    });

  program
    .command('schema [name]')
    .description('print the JSON Schema of the --json documents (vm-state schema lists them)')
    .action(async (name: string | undefined) => (await actions()).schema(name, deps));

  return program;
}
