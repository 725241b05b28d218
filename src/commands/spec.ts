import type { Context } from '../cli/context.js';
import type { Output } from '../cli/output.js';
import type { Facts, ImageInfo, StateScope } from '../core/facts.js';
import type { Assignments } from '../schemas/assignments.js';
import type { Decide } from '../core/plan.js';
import type { Invoker } from '../core/journal.js';
import type { Config } from '../schemas/config.js';
import type { OUTPUT_SCHEMAS } from '../schemas/output.js';

/**
 * The shape of a command: everything about it in one value, kept in one
 * module per command and listed in ./index.ts. The command line, completion,
 * `--json --help`, `vm-state schema` and the README's command table all come
 * from these values. A spec holds no zod and reaches no I/O when it is
 * loaded: `--help` loads every spec, and only the command that runs loads more.
 */

/** What an argument names: completion offers live names for it, and the input schema checks it. */
export type ArgKind = 'slot' | 'state' | 'new-state' | 'snapshot' | 'snapshot-ref' | 'word';

export interface ArgSpec {
  name: string;
  kind: ArgKind;
  optional?: boolean;
  /** The only values it takes (completion offers them). */
  choices?: readonly string[];
}

export interface OptionSpec {
  /** As commander writes them: `--keep <n>`, `--stop`. */
  flags: string;
  description: string;
  /** May be given more than once: the input holds every value, in order. */
  repeatable?: boolean;
}

/** A row of the README's command table. */
export interface ReadmeRow {
  usage: string;
  text: string;
}

/** The key of an argument in the input: `new-state` is `newState`, `state...` is `state`. */
export const inputKey = (arg: Pick<ArgSpec, 'name'>) =>
  arg.name.replace(/\.\.\.$/, '').replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());

/** A command's input: its arguments by name, and its options by commander's camelCase key. */
export type Input = Record<string, string | boolean | string[] | undefined>;

/** Which states a command reads, from its input and the assignments; every state when a command has none. */
export type ScopeOf = (input: Input, assignments: Assignments) => StateScope;

/**
 * What an agent is told of a command offered as an MCP tool (src/mcp/tools.ts), beside what
 * its kind already says: views change nothing and print their `output`, mutations print a
 * result. An action is a tool only when it says what it prints here, and then a read-only one
 * (a change runs by a plan token, and only the table's mutations give one).
 */
export interface AgentSpec {
  /** The --json document an action prints (views and mutations have theirs). */
  output?: keyof typeof OUTPUT_SCHEMAS;
  /** It can destroy what cannot be had back (a snapshot, a state, an original directory). */
  destructive?: boolean;
  /** Run again with the same input, it changes nothing more. */
  idempotent?: boolean;
  /** It reaches another host. */
  openWorld?: boolean;
}

interface Common {
  /** `create`, or `snapshot delete` for a subcommand. */
  name: string;
  args: readonly ArgSpec[];
  options?: readonly OptionSpec[];
  /** The one line of `--help`. */
  description: string;
  readme: readonly ReadmeRow[];
  hidden?: boolean;
  /** Runs when no command is given (list). */
  isDefault?: boolean;
  scope?: ScopeOf;
  agent?: AgentSpec;
}

/** What a planner may know of the run beyond its input. */
export interface RunInfo {
  /** When it decides (auto names, a policy's age): a reviewed plan's own time when one runs. */
  at: Date;
  /** Who runs it (the trash records it). */
  invoker?: Invoker;
}

/** Reads facts, plans, and runs the plan under the lock (or prints it with --dry-run). */
export interface MutationSpec extends Common {
  kind: 'mutation';
  /** Validates the input at once (before anything is read), then decides from the facts. */
  plan: (c: Config, input: Input, run: RunInfo) => Decide;
  /** A word to type on standard input before it runs (unless --yes). */
  confirm?: string;
  /** Another form of the command that runs its own way (`migrate <state> <remote>:<slot>`). */
  divert?: { when: (input: Input) => boolean; run: ActionSpec['run'] };
}

/** The one piece of I/O a view may do, injected: looking at a state's image. */
export interface ViewIO {
  readImage(path: string): ImageInfo;
}

/** Reads facts and prints a document: read-only, no lock. */
export interface ViewSpec<D = unknown> extends Common {
  kind: 'view';
  /** Validates the input at once, then makes the document from the facts. */
  view: (c: Config, input: Input) => (facts: Facts, io: ViewIO) => D;
  output: keyof typeof OUTPUT_SCHEMAS;
  render: (out: Output, doc: D) => void;
}

/** Anything else (doctor, preflight, completion, schema): its own run, loaded when it runs. */
export interface ActionSpec extends Common {
  kind: 'action';
  /** `ctx` reads the configuration when first called; `write` prints to standard output as it is. */
  run: (ctx: () => Context, input: Input, write: (text: string) => void) => Promise<void>;
}

export type CommandSpec = MutationSpec | ViewSpec | ActionSpec;

/** A view as the table holds it: its document's type is known only to its own view and renderer. */
export const defineView = <D>(spec: ViewSpec<D>): ViewSpec => spec as unknown as ViewSpec;

/** The command's usage line after its name: `<slot> <snapshot>`, `[state]`. */
export const argsUsage = (spec: Pick<Common, 'args'>) =>
  spec.args.map((a) => (a.optional ? `[${a.name}]` : `<${a.name}>`)).join(' ');
