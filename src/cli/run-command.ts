import type { Command } from 'commander';
import type { CommandSpec, Input } from '../commands/spec.js';
import { readImage } from '../io/image.js';
import { System, type ScopeOf } from '../io/system.js';
import { OUTPUT_SCHEMAS } from '../schemas/output.js';
import { context, type ProgramDeps } from './actions.js';
import type { Context } from './context.js';
import { runMutation } from './run-plan.js';

/**
 * Runs one command of the table, loaded only once a command runs (so `--help`
 * never loads zod, execa or the config). A mutation and a view each follow
 * the one path of their kind; an action runs itself.
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
      const decide = spec.plan(c.config, input); // validates the input before anything is read
      return runMutation(c, spec.name, decide, { confirm: spec.confirm, scope: scopeOf(spec, input) });
    }
    case 'view': {
      const c = getCtx();
      const make = spec.view(c.config, input);
      const doc = make(await new System(c.runner, c.config).facts(scopeOf(spec, input)), { readImage });
      if (c.out.json) c.out.document(OUTPUT_SCHEMAS[spec.output], doc as never);
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
