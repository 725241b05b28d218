import type { Command } from 'commander';
import { VmStateError } from '../core/errors.js';
import { checkPreflight } from '../commands/preflight.js';
import { loadConfig } from '../io/config.js';
import { configFileOf, type ConfigOverrides } from '../io/config-input.js';
import { invoker, LoggerJournal, type JournalWriter } from '../io/journal.js';
import { ProcessRunner, type Runner } from '../io/runner.js';
import { System } from '../io/system.js';
import type { Facts } from '../core/facts.js';
import { diskLinkOf, stateOfSlot } from '../core/layout.js';
import { describeStep } from '../core/plan.js';
import { diagnose, type AssignmentsHealth } from '../commands/doctor.js';
import { readAssignments, recoverAssignments } from '../io/assignments-file.js';
import { leftoverTemps } from '../io/leftovers.js';
import { readLink } from '../io/slot-manager.js';
import type { Context } from './context.js';
import { Output, type Streams } from './output.js';

/** Injected by tests: a recording runner, captured output, another euid. */
export interface ProgramDeps {
  runner?: Runner;
  streams?: Streams;
  env?: NodeJS.ProcessEnv;
  euid?: number;
  stdin?: NodeJS.ReadStream;
  journal?: JournalWriter;
}

interface GlobalOpts extends ConfigOverrides {
  json?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  quiet?: boolean;
  color?: boolean;
  config?: string;
  wait?: string;
  expectPlan?: string;
  planOut?: string;
}

export function context(cmd: Command, deps: ProgramDeps): Context {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  const env = deps.env ?? process.env;
  const out = new Output(
    { json: Boolean(g.json), quiet: Boolean(g.quiet), color: g.color },
    deps.streams ?? process,
    env,
  );
  const wait = g.wait === undefined ? 10 : Number(g.wait);
  if (!Number.isFinite(wait) || wait < 0)
    throw new VmStateError('usage', `--wait must be a number of seconds, got ${JSON.stringify(g.wait)}`);
  return {
    config: loadConfig(g, env),
    configFile: configFileOf(g, env),
    runner: deps.runner ?? new ProcessRunner(),
    out,
    dryRun: Boolean(g.dryRun) || g.planOut !== undefined,
    expectPlan: g.expectPlan,
    planOut: g.planOut,
    yes: Boolean(g.yes),
    waitSeconds: wait,
    euid: deps.euid ?? process.geteuid?.() ?? 0,
    stdin: deps.stdin,
    journal: deps.journal ?? new LoggerJournal(journalTrace(env, deps.streams ?? process)),
    invoker: invoker(env),
  };
}

/** What became of a journal entry: on stderr with VM_STATE_TRACE=1 or VM_STATE_VERBOSE=1, as the runner's. */
function journalTrace(env: NodeJS.ProcessEnv, streams: Streams): (message: string) => void {
  if (env.VM_STATE_TRACE !== '1' && env.VM_STATE_VERBOSE !== '1') return () => {};
  return (message) => void streams.stderr.write(`# journal: ${message}\n`);
}

export async function preflight(ctx: Context, slot: string): Promise<void> {
  const check = checkPreflight(ctx.config, slot);
  const system = new System(ctx.runner, ctx.config);
  const facts = await system.facts((a) => ({ names: [stateOfSlot(a, slot)] }));
  const message = check(facts);
  // Run by systemd as ExecStartPre, the unit reads `activating`: note which state this VM starts on.
  const s = facts.slots.find((x) => x.name === slot)!;
  if (s.unit.activeState === 'activating') system.slots.recordStart(slot, s.state);
  if (ctx.out.json)
    ctx.out.document((await import('../schemas/output.js')).PreflightOut, { ok: true, slot, message });
  else ctx.out.ok(message);
}

/** Reads the facts even when the assignments file is broken, and says how. */
async function doctorFacts(ctx: Context): Promise<{ facts: Facts; health: AssignmentsHealth }> {
  const system = new System(ctx.runner, ctx.config);
  const c = ctx.config;
  const leftovers = leftoverTemps(c);
  try {
    readAssignments(c.assignmentsFile);
    return { facts: await system.facts(), health: { leftovers } };
  } catch (e) {
    if (!(e instanceof VmStateError)) throw e;
    const links = Object.fromEntries(c.slots.map((s) => [s, readLink(diskLinkOf(c, s)).target]));
    const recovered = recoverAssignments(c.assignmentsFile, c.statesDir, links);
    return {
      facts: await system.facts(undefined, recovered.assignments),
      health: { broken: e.message, recoveredFrom: recovered.from, leftovers },
    };
  }
}

export async function doctor(ctx: Context, repair: boolean): Promise<void> {
  const { facts, health } = await doctorFacts(ctx);
  const diagnosis = diagnose(facts, ctx.config, health);
  if (repair && diagnosis.plan.steps.length > 0) {
    diagnosis.findings.forEach((f) => ctx.out.warn(f));
    // Decided again under the lock, from facts read under it: nothing changed meanwhile is overwritten.
    let locked: AssignmentsHealth = {};
    const readLocked = async () => {
      const r = await doctorFacts(ctx);
      locked = r.health;
      return r.facts;
    };
    const { runMutation } = await import('./run-plan.js');
    await runMutation(ctx, 'doctor', (f) => diagnose(f, ctx.config, locked).plan, { facts: readLocked });
    return;
  }
  if (ctx.out.json) {
    ctx.out.document((await import('../schemas/output.js')).DoctorOut, {
      healthy: diagnosis.findings.length === 0,
      findings: diagnosis.findings,
      repair: diagnosis.plan.steps.map(describeStep),
    });
  } else if (diagnosis.findings.length === 0) {
    ctx.out.ok('No problems found');
  } else {
    diagnosis.findings.forEach((f) => ctx.out.warn(f));
    if (diagnosis.plan.steps.length) {
      ctx.out.info('vm-state doctor --repair would:');
      diagnosis.plan.steps.forEach((s, i) => ctx.out.text(`  ${i + 1}. ${describeStep(s)}`));
    }
  }
  if (diagnosis.findings.length > 0 && !repair) {
    throw new VmStateError('failed', `doctor found ${diagnosis.findings.length} problem(s)`, {
      hint: diagnosis.plan.steps.length
        ? 'Repair with: vm-state doctor --repair (or --dry-run --repair to see the steps)'
        : undefined,
    });
  }
}

export async function schema(name: string | undefined, write: (text: string) => void): Promise<void> {
  const [{ z }, { OUTPUT_SCHEMAS }] = await Promise.all([import('zod'), import('../schemas/output.js')]);
  if (name !== undefined && !(name in OUTPUT_SCHEMAS)) {
    throw new VmStateError('usage', `Unknown schema '${name}'`, {
      hint: `One of: ${Object.keys(OUTPUT_SCHEMAS).join(', ')}`,
    });
  }
  const all = Object.fromEntries(
    Object.entries(OUTPUT_SCHEMAS).map(([k, s]) => [k, z.toJSONSchema(s, { io: 'output' })]),
  );
  write(`${JSON.stringify(name ? all[name] : all, null, 2)}\n`);
}
