import { VmStateError } from '../core/errors.js';
import type { Facts } from '../core/facts.js';
import {
  describedSteps,
  errorOf,
  failureResult,
  journalFields,
  subjectOfArgs,
  widenSubject,
  type ChangeResult,
  type Subject,
  type SubjectInput,
} from '../core/journal.js';
import { describeStep, type Plan, type Step } from '../core/plan.js';
import { Executor } from '../io/executor.js';
import { withLock } from '../io/lock.js';
import { System, type ScopeOf } from '../io/system.js';
import type { ResultOut } from '../schemas/output.js';
import type { RemoteLink } from '../io/ssh.js';
import type { z } from 'zod';
import { VERSION } from '../version.js';
import { confirmTyped } from './confirm.js';
import type { Context } from './context.js';
import { renderDryRun, resultDocument } from './render.js';
import type { Review } from './review.js';

export interface MutationOptions {
  /** Ask for this word on standard input (unless --yes) before running. */
  confirm?: string;
  /** How to read the facts, when not the usual way (doctor, with a broken assignments file). */
  facts?: (system: System) => Promise<Facts>;
  /** Which states to read (every state when absent). */
  scope?: ScopeOf;
  /** The remotes the plan's send and remote steps reach (send). */
  remotes?: ReadonlyMap<string, RemoteLink>;
  /** More for the --json document, once the plan ran (or, with --dry-run, was printed). */
  document?: (bytes: number | null) => Pick<z.input<typeof ResultOut>, 'send' | 'migrate'>;
  /**
   * A first phase of a command that says more after it (migrate's bulk send, a resumed send's
   * first round): no --json document, no notes. Asked once the plan is decided.
   */
  quiet?: boolean | (() => boolean);
  /** Called before (done false) and after (done true) each step that ran. */
  onStep?: (step: Step, done: boolean) => void;
  /** Bytes the current send step has streamed so far. */
  onBytes?: (bytes: number) => void;
  /**
   * What the command is about, for its journal entry: the spec's arguments by their kinds
   * (run-command), or said by a command with its own run (send, migrate to a remote).
   */
  subject?: Subject | SubjectInput;
  /** The plan can be reviewed: its token is printed with --dry-run, and checked when one is expected. */
  review?: Review;
}

const quiet = (opts: MutationOptions) =>
  typeof opts.quiet === 'function' ? opts.quiet() : Boolean(opts.quiet);

/**
 * The life of every mutating command: read the facts, decide a plan, then
 * either print it (--dry-run) or run it under the lock. The facts are read
 * after the lock is taken, so the plan never acts on stale facts.
 */
export async function runMutation(
  ctx: Context,
  command: string,
  decide: (facts: Facts) => Plan,
  opts: MutationOptions = {},
): Promise<void> {
  const { out } = ctx;
  // Loaded while the facts are read (the first step of either path below).
  const schemas = out.json ? import('../schemas/output.js') : undefined;
  const system = new System(ctx.runner, ctx.config);
  const readFacts = () => (opts.facts ? opts.facts(system) : system.facts(opts.scope));
  // Its digest (and node:crypto) only where a token is printed or checked: a plain run pays nothing.
  const reviewing = opts.review && (ctx.dryRun || opts.review.expected !== undefined);
  const review = reviewing ? import('./review.js') : undefined;

  if (ctx.dryRun) {
    const facts = await readFacts();
    const { plan, reviewed } = opts.review
      ? (await review!).decideReviewed(command, opts.review, facts, decide)
      : { plan: decide(facts), reviewed: undefined };
    // Written before anything is printed: a document or a dry run that says so is never about a file not there.
    if (ctx.planOut && reviewed)
      (await import('../io/plan-file.js')).writePlanFile(ctx.planOut, reviewed, plan);
    if (schemas)
      out.document((await schemas).ResultOut, {
        ...resultDocument(command, plan, true, reviewed?.token),
        ...(ctx.planOut ? { planFile: ctx.planOut } : {}),
        ...opts.document?.(null),
      });
    else {
      plan.warnings.forEach((w) => out.warn(w));
      renderDryRun(out, plan, reviewed?.token);
    }
    if (ctx.planOut && reviewed)
      out.info(`Plan written to ${ctx.planOut}: vm-state apply ${ctx.planOut} runs exactly it, or nothing`);
    return;
  }

  if (ctx.euid !== 0) {
    throw new VmStateError('permission', `vm-state ${command} must be run as root`, {
      hint: `Try: sudo vm-state ${command} … (or --dry-run to see the plan)`,
    });
  }

  const waiting = (holder: string) => out.info(`Waiting for the lock: ${holder} holds it...`);
  await withLock(
    ctx.config.lockFile,
    ctx.waitSeconds,
    `vm-state ${command}`,
    async (lock) => {
      // Planned and refused (a guard, no confirmation) is an entry too; nothing ran.
      let facts: Facts | undefined;
      let plan: Plan | undefined;
      try {
        facts = await readFacts();
        // Only the plan reviewed runs: decided again here, under the lock, it must be that one.
        if (opts.review?.expected !== undefined)
          plan = (await review!).decideReviewed(command, opts.review, facts, decide).plan;
        else plan = decide(facts);
        plan.warnings.forEach((w) => out.warn(w));
        if (opts.confirm)
          await confirmTyped(opts.confirm, { yes: ctx.yes, json: out.json, stdin: ctx.stdin });
      } catch (e) {
        await journal(ctx, command, opts, 'refused', facts, plan, e);
        throw e;
      }
      out.info(`${plan.summary}...`);
      const progress = out.progress();
      let streamed = 0;
      // A signal mid-plan must not leave a slot stopped on the wrong state: finish the step, undo, exit.
      let interrupted = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (interrupted) process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
        interrupted = true;
        out.warn(
          `${signal}: finishing the current step, then undoing what can be undone (send it again to quit at once)`,
        );
      };
      const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
      signals.forEach((sig) => process.on(sig, onSignal));
      const executor = new Executor(
        system.store,
        system.slots,
        {
          warn: (m) => out.warn(m),
          step: (step) => {
            opts.onStep?.(step, false);
            if (step.kind === 'stop') {
              out.info(`Stopping ${step.unit}...`);
              progress.start(`waiting for ${step.unit} to stop`);
            }
            if (step.kind === 'start') out.info(`Starting ${step.unit}...`);
            if (step.kind === 'send') progress.start(`sending to ${step.remote}`);
            if (step.kind === 'pipe') {
              out.info(`Copying: ${step.argv.join(' ')} | ${step.into.join(' ')}...`);
              progress.start('copying');
            }
            if (step.kind === 'copy-tree') {
              out.info(`Copying ${step.from} to ${step.to}, then comparing every file...`);
              progress.start('copying and comparing');
            }
            if (process.env.VM_STATE_VERBOSE === '1') out.info(`  ${describeStep(step)}`);
          },
          stepDone: (step) => {
            progress.stop();
            opts.onStep?.(step, true);
          },
          streamed: (bytes) => {
            streamed = bytes;
            progress.bytes(bytes);
          },
          interrupted: () => interrupted,
          lockLost: () => lock.lost(),
        },
        opts.remotes,
      );
      try {
        await executor.run(plan);
      } catch (e) {
        await journal(ctx, command, opts, failureResult(e), facts, plan, e);
        throw e;
      } finally {
        signals.forEach((sig) => process.off(sig, onSignal));
        // Done or undone, under the lock (the file's versions keep the changes' order); never throws.
        if (ctx.config.metricsFile) await (await import('./metrics.js')).refreshMetricsFile(ctx);
      }
      // Written while the result is printed, waited for under the lock: entries keep the changes' order.
      const logged = journal(ctx, command, opts, 'done', facts, plan);
      if (interrupted)
        out.warn('Interrupted past the point of no return: the command was finished, and nothing was undone');
      if (!quiet(opts)) {
        if (schemas)
          out.document((await schemas).ResultOut, {
            ...resultDocument(command, plan, false),
            ...opts.document?.(streamed),
          });
        else plan.notes.forEach((n, i) => (i === 0 ? out.ok(n) : out.info(n)));
      }
      await logged;
    },
    waiting,
  );
}

/** The change's journal entry (src/core/journal.ts has its fields). Never throws: see JournalWriter. */
async function journal(
  ctx: Context,
  command: string,
  opts: MutationOptions,
  result: ChangeResult,
  facts: Facts | undefined,
  plan: Plan | undefined,
  error?: unknown,
): Promise<void> {
  if (!ctx.journal) return;
  // A plan of no steps that ran (nothing to prune, a snapshot every state has already) changed nothing.
  if (result === 'done' && plan?.steps.length === 0) return;
  try {
    const given = opts.subject ?? {};
    const subject = 'states' in given ? given : subjectOfArgs([], given);
    await ctx.journal.write(
      journalFields({
        command,
        result,
        subject: widenSubject(subject, facts, plan),
        invoker: ctx.invoker ?? { uid: null, user: null, sudoUser: null, sshConnection: null },
        summary: plan?.summary,
        steps: describedSteps(plan),
        error: error === undefined ? undefined : errorOf(error),
        pid: process.pid,
        version: VERSION,
        plan: opts.review?.expected,
      }),
    );
  } catch {
    // Logging never breaks a command (the writer already swallows its own failures).
  }
}
