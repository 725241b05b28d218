import type { Command } from 'commander';
import { inputKey, type CommandSpec, type Input } from '../commands/spec.js';
import { subjectOfArgs } from '../core/journal.js';
import { readImage } from '../io/image.js';
import { System, type ScopeOf } from '../io/system.js';
import { context, type ProgramDeps } from './actions.js';
import type { Context } from './context.js';

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
  switch (spec.kind) {
    case 'mutation': {
      if (spec.divert?.when(input))
        return spec.divert.run(getCtx, input, (text) => void (deps.streams ?? process).stdout.write(text));
      const c = getCtx();
      const decide = spec.plan(c.config, input, { invoker: c.invoker }); // validates the input before anything is read
      const { runMutation } = await import('./run-plan.js');
      return runMutation(c, spec.name, decide, {
        confirm: spec.confirm,
        scope: scopeOf(spec, input),
        // Each argument's kind says which journal field it fills (a slot, a state, a snapshot).
        subject: subjectOfArgs(spec.args.map((a) => ({ kind: a.kind, value: input[inputKey(a)] }))),
      });
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

/** The spec's scope for this input, as System.facts takes it. */
const scopeOf = (spec: CommandSpec, input: Input): ScopeOf | undefined =>
  spec.scope && ((a) => spec.scope!(input, a));
