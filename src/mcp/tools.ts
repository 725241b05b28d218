import { z } from 'zod';
import type { ArgSpec, CommandSpec, OptionSpec } from '../commands/spec.js';
import { inputKey } from '../commands/spec.js';
import type { Config } from '../schemas/config.js';
import { MAX_EXISTING, MAX_NAME, NAME_PATTERN, SNAPSHOT_REF_PATTERN } from '../schemas/names.js';
import { OUTPUT_SCHEMAS, ResultOut } from '../schemas/output.js';

/**
 * The MCP tools, made from the command table (src/commands/index.ts) and nothing else: each
 * tool is one command, its input the command's arguments and options, its output the
 * document its --json prints, its annotations what its kind and its spec's `agent` say.
 */

/** The hints MCP clients show and decide by (all four set: the protocol's defaults are the unsafe ones). */
export interface Annotations {
  title: string;
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface Tool {
  /** `snapshot_delete` for `snapshot delete`: MCP tool names have no spaces. */
  name: string;
  command: string;
  description: string;
  /** What it takes; a tool that changes something also takes `planToken`. */
  input: z.ZodObject;
  /** What its structuredContent holds. */
  output: z.ZodObject;
  /** It changes something: two calls, plan then run (src/mcp/run-tool.ts). */
  writes: boolean;
  annotations: Annotations;
  /** The command line after `vm-state --json` for this (valid) input. */
  argv(input: Record<string, unknown>): string[];
}

/** A mutation's first call returns its plan with these; the second call gives the token back. */
export const PlanOut = ResultOut.extend({
  planToken: z
    .string()
    .optional()
    .describe('give it back as planToken, with the same arguments, to run exactly this plan'),
  planExpiresAt: z.iso.datetime().optional().describe('after this the token is refused'),
});

const PLAN_TOKEN = z
  .string()
  .min(1)
  .max(200)
  .optional()
  .describe(
    'absent: nothing changes, the plan is returned with a planToken; the planToken of that answer: runs it',
  );

export const toolName = (command: string) => command.replace(/[ -]/g, '_');

/**
 * Views and mutations are tools; an action only when its spec says what it prints, and then a
 * read-only one: a change runs by a plan token, which only the table's mutations give.
 */
const isTool = (spec: CommandSpec) =>
  !spec.hidden && (spec.kind !== 'action' || spec.agent?.output !== undefined);

export function toolsFromTable(commands: readonly CommandSpec[], config: Config): Tool[] {
  return commands.filter(isTool).map((spec) => toolOf(spec, config));
}

function toolOf(spec: CommandSpec, config: Config): Tool {
  const agent = spec.agent ?? {};
  const readOnly = spec.kind !== 'mutation';
  const options = (spec.options ?? []).map(optionOf);
  const args = spec.args.map((a) => ({
    key: inputKey(a),
    schema: argSchema(a, config, a.optional === true),
  }));
  const shape: Record<string, z.ZodType> = {};
  for (const a of args) shape[a.key] = a.schema;
  for (const o of options) shape[o.key] = o.schema;
  if (!readOnly) shape.planToken = PLAN_TOKEN;
  const outputKey = spec.kind === 'view' ? spec.output : spec.kind === 'mutation' ? 'result' : agent.output!;
  const output = readOnly ? OUTPUT_SCHEMAS[outputKey] : PlanOut;
  if (!(output instanceof z.ZodObject)) throw new Error(`${spec.name}: its output is no object`);
  return {
    name: toolName(spec.name),
    command: spec.name,
    description: describe(spec, readOnly),
    // Strict: a misspelt option is an error the agent sees, not an option silently not given.
    input: z.object(shape).strict(),
    output,
    writes: !readOnly,
    annotations: {
      title: `vm-state ${spec.name}`,
      readOnlyHint: readOnly,
      destructiveHint: !readOnly && agent.destructive === true,
      idempotentHint: readOnly || agent.idempotent === true,
      openWorldHint: agent.openWorld === true,
    },
    argv: (input) => [
      ...spec.name.split(' '),
      // `--name=value`: a value that starts with '-' (`--since -2h`) stays the option's.
      ...options.flatMap((o) => o.argv(input[o.key])),
      ...args.flatMap((a) => {
        const v = input[a.key];
        return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
      }),
    ],
  };
}

const longFlag = (o: OptionSpec) => o.flags.match(/--[a-z][a-z0-9-]*/)![0];

/** An option as the input has it: commander's camelCase key, a boolean or a value (or values). */
function optionOf(o: OptionSpec) {
  const flag = longFlag(o);
  const key = flag.slice(2).replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
  const value = /<[^>]+>/.exec(o.flags)?.[0];
  // A number where one is meant (`keep: 3`) is taken as the command line would take "3".
  const one = z.union([z.string().min(1), z.number()]).describe(`${value}: ${o.description}`);
  const schema = !value
    ? z.boolean().optional().describe(o.description)
    : o.repeatable
      ? z.array(one).optional().describe(`${o.description} (each value an option of its own)`)
      : one.optional();
  const argv = (v: unknown): string[] => {
    if (v === undefined || v === false) return [];
    if (v === true) return [flag];
    return (Array.isArray(v) ? v : [v]).map((x) => `${flag}=${String(x)}`);
  };
  return { key, schema, argv };
}

/** An argument's schema by its kind: the name rules (the command checks them again) in JSON Schema. */
function argSchema(arg: ArgSpec, config: Config, optional: boolean): z.ZodType {
  const name = (max: number, what: string) =>
    z
      .string()
      .min(1)
      .max(max)
      .regex(new RegExp(NAME_PATTERN), {
        message: "letters, digits and _ . : - only, not starting with '-' or '.', no '..'",
      })
      .describe(what);
  const kinds: Record<ArgSpec['kind'], () => z.ZodType> = {
    slot: () => z.enum(config.slots as [string, ...string[]]).describe('a slot'),
    state: () => name(MAX_EXISTING, 'an existing state'),
    'new-state': () => name(MAX_NAME, 'the name of a new state'),
    snapshot: () => name(MAX_NAME, 'the name of a new snapshot'),
    'snapshot-ref': () =>
      z
        .string()
        .max(2 * MAX_EXISTING + 1)
        .regex(new RegExp(SNAPSHOT_REF_PATTERN), { message: 'a snapshot: <snap> or <state>@<snap>' })
        .describe('a snapshot: <snap>, or <state>@<snap> when several states have one of that name'),
    // Never read as an option: the command line is built without `--`.
    word: () =>
      z
        .string()
        .min(1)
        .regex(/^[^-]/, { message: "must not start with '-'" })
        .describe(arg.name.replace(/\.\.\.$/, '')),
  };
  const one = arg.choices ? z.enum(arg.choices as [string, ...string[]]) : kinds[arg.kind]();
  const schema = arg.name.endsWith('...') ? z.array(one) : one;
  return optional ? schema.optional() : schema;
}

function describe(spec: CommandSpec, readOnly: boolean): string {
  const forms = spec.readme
    .map((r) => `- ${r.usage.replace(/\\\|/g, '|')}: ${r.text.replace(/\\\|/g, '|')}`)
    .join('\n');
  const how = readOnly
    ? 'Read-only.'
    : 'Changes the system, in two calls: without planToken nothing changes and the answer is the plan ' +
      '(the steps `--dry-run` prints) and a planToken; the same arguments with that planToken run exactly ' +
      'that plan. A token is used once and expires; it is refused when the plan would differ by then.';
  return `${spec.description}.\n${forms}\n${how}`;
}
