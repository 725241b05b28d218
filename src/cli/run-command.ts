import type { Command } from 'commander';
import { inputKey, type CommandSpec, type Input, type MutationSpec } from '../commands/spec.js';
import { now } from '../core/clock.js';
import { VmStateError } from '../core/errors.js';
import type { StateScope } from '../core/facts.js';
import { subjectOfArgs } from '../core/journal.js';
import { readImage } from '../io/image.js';
import { System, type ScopeOf } from '../io/system.js';
import { context, type ProgramDeps } from './actions.js';
import type { Context } from './context.js';
import type { Review } from './review.js';

/**
 * Runs one command of the table, loaded only once a command runs (so `--help`
 * never loads zod or the config). A mutation and a view each follow the one
 * path of their kind; an action runs itself. What only the end of a run needs
 * (the JSON schemas, the executor) is not loaded before the first zfs call:
 * a view loads its schema while zfs answers.
 */
export async function runCommand(
  spec: CommandSpec,
  input: Input,
  cmd: Command,
  deps: ProgramDeps,
): Promise<void> {
  let ctx: Context | undefined;
  const getCtx = () => (ctx ??= context(cmd, deps));
  const diverted = spec.kind === 'mutation' && spec.divert?.when(input);
  if (spec.kind !== 'mutation' || diverted) refuseReview(spec, cmd);
  switch (spec.kind) {
    case 'mutation': {
      if (diverted)
        return spec.divert!.run(getCtx, input, (text) => void (deps.streams ?? process).stdout.write(text));
      const c = getCtx();
      const expected = c.expectPlan;
      // A reviewed plan is decided again at the time it was decided; a token that is none: exit 2.
      const token = expected === undefined ? undefined : await import('../core/plan-token.js');
      const decidedAt = token ? token.requireDecidedBefore(token.tokenTime(expected!), now()) : now();
      return runMutationSpec(c, spec, input, { decidedAt, expected });
    }
    case 'view': {
      const c = getCtx();
      const make = spec.view(c.config, input);
      const facts = new System(c.runner, c.config).facts(scopeOf(spec, input)); // starts zfs and systemctl
      const schemas = c.out.json ? import('../schemas/output.js') : undefined;
      const doc = make(await facts, { readImage });
      if (schemas) c.out.document((await schemas).OUTPUT_SCHEMAS[spec.output], doc as never);
      else spec.render(c.out, doc);
      return;
    }
    case 'action':
      return spec.run(getCtx, input, (text) => void (deps.streams ?? process).stdout.write(text));
  }
}

/**
 * Runs a mutation of the table: validates the input, then reads, decides and runs (or prints) the plan.
 * `reviewed` pins the time and the token the plan must have (with a plan file's facts, to say what changed).
 * The states read are always the command's own scope: a plan file's is a record, never trusted to
 * read less than the planner's guards need.
 */
export async function runMutationSpec(
  ctx: Context,
  spec: MutationSpec,
  input: Input,
  reviewed: Pick<Review, 'decidedAt' | 'expected' | 'expectedFacts'>,
): Promise<void> {
  // Validates the input before anything is read.
  const decide = spec.plan(ctx.config, input, { at: reviewed.decidedAt, invoker: ctx.invoker });
  const { runMutation } = await import('./run-plan.js');
  // The states as read (a plan file records them): the scope depends on the assignments, read with the facts.
  let scope: StateScope = 'all';
  const read = scopeOf(spec, input);
  return runMutation(ctx, spec.name, decide, {
    confirm: spec.confirm,
    scope: read && ((a) => (scope = read(a))),
    // Each argument's kind says which journal field it fills (a slot, a state, a snapshot).
    subject: subjectOfArgs(spec.args.map((a) => ({ kind: a.kind, value: input[inputKey(a)] }))),
    review: { ...reviewed, input, scope: () => scope },
  });
}

/** --expect-plan and --plan-out are for the table's mutations: anywhere else they would be ignored. */
function refuseReview(spec: CommandSpec, cmd: Command): void {
  const g = cmd.optsWithGlobals<{ expectPlan?: string; planOut?: string }>();
  const flag = g.expectPlan !== undefined ? '--expect-plan' : g.planOut !== undefined ? '--plan-out' : null;
  if (flag === null) return;
  const why =
    spec.name === 'apply'
      ? 'A plan file carries its own token, and is applied as it is'
      : spec.kind === 'mutation' || ['send', 'replicate', 'doctor'].includes(spec.name)
        ? "Its plan depends on another host's facts or a repair's findings: review it with --dry-run"
        : `${flag} is for the commands that change states and slots by a plan: create, snapshot, delete, …`;
  throw new VmStateError('usage', `vm-state ${spec.name} takes no ${flag}`, { hint: why });
}

/** The spec's scope for this input, as System.facts takes it. */
const scopeOf = (spec: CommandSpec, input: Input): ScopeOf | undefined =>
  spec.scope && ((a) => spec.scope!(input, a));
