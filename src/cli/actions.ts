import type { Command } from 'commander';
import { z } from 'zod';
import { VmStateError } from '../core/errors.js';
import { checkPreflight } from '../core/plans/preflight.js';
import { loadConfig, type ConfigOverrides } from '../io/config.js';
import { ExecaRunner, type Runner } from '../io/runner.js';
import { System } from '../io/system.js';
import { ListOut, OUTPUT_SCHEMAS } from '../schemas/output.js';
import type { Context } from './context.js';
import { Output, type Streams } from './output.js';
import { listDocument, renderList } from './render.js';

export { runMutation } from './run-plan.js';

/** Injected by tests: a recording runner, captured output, another euid. */
export interface ProgramDeps {
  runner?: Runner;
  streams?: Streams;
  env?: NodeJS.ProcessEnv;
  euid?: number;
  stdin?: NodeJS.ReadStream;
}

interface GlobalOpts extends ConfigOverrides {
  json?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  quiet?: boolean;
  color?: boolean;
  config?: string;
  wait?: string;
}

export function context(cmd: Command, deps: ProgramDeps): Context {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  const env = deps.env ?? process.env;
  const out = new Output({ json: Boolean(g.json), quiet: Boolean(g.quiet), color: g.color }, deps.streams ?? process, env);
  const wait = g.wait === undefined ? 10 : Number(g.wait);
  if (!Number.isFinite(wait) || wait < 0) throw new VmStateError('usage', `--wait must be a number of seconds, got ${JSON.stringify(g.wait)}`);
  return {
    config: loadConfig(g, env),
    runner: deps.runner ?? new ExecaRunner(),
    out,
    dryRun: Boolean(g.dryRun),
    yes: Boolean(g.yes),
    waitSeconds: wait,
    euid: deps.euid ?? process.geteuid?.() ?? 0,
    stdin: deps.stdin,
  };
}

export async function list(ctx: Context): Promise<void> {
  const facts = await new System(ctx.runner, ctx.config).facts();
  if (ctx.out.json) ctx.out.document(ListOut, listDocument(facts));
  else renderList(ctx.out, facts);
}

export async function preflight(ctx: Context, slot: string): Promise<void> {
  const check = checkPreflight(ctx.config, slot);
  const message = check(await new System(ctx.runner, ctx.config).facts());
  if (ctx.out.json) ctx.out.raw({ ok: true, slot, message });
  else ctx.out.ok(message);
}

export function schema(name: string | undefined, deps: ProgramDeps): void {
  if (name !== undefined && !(name in OUTPUT_SCHEMAS)) {
    throw new VmStateError('usage', `Unknown schema '${name}'`, { hint: `One of: ${Object.keys(OUTPUT_SCHEMAS).join(', ')}` });
  }
  const all = Object.fromEntries(Object.entries(OUTPUT_SCHEMAS).map(([k, s]) => [k, z.toJSONSchema(s, { io: 'output' })]));
  (deps.streams ?? process).stdout.write(`${JSON.stringify(name ? all[name] : all, null, 2)}\n`);
}
