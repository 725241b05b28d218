import { VmStateError } from '../core/errors.js';
import type { Facts } from '../core/facts.js';
import { describeStep, type Plan, type Step } from '../core/plan.js';
import { Executor } from '../io/executor.js';
import { withLock } from '../io/lock.js';
import { System, type ScopeOf } from '../io/system.js';
import { ResultOut } from '../schemas/output.js';
import type { RemoteLink } from '../io/ssh.js';
import type { z } from 'zod';
import { confirmTyped } from './confirm.js';
import type { Context } from './context.js';
import { renderDryRun, resultDocument } from './render.js';

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
  const system = new System(ctx.runner, ctx.config);
  const readFacts = () => (opts.facts ? opts.facts(system) : system.facts(opts.scope));

  if (ctx.dryRun) {
    const plan = decide(await readFacts());
    if (out.json)
      out.document(ResultOut, { ...resultDocument(command, plan, true), ...opts.document?.(null) });
    else {
      plan.warnings.forEach((w) => out.warn(w));
      renderDryRun(out, plan);
    }
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
      const plan = decide(await readFacts());
      plan.warnings.forEach((w) => out.warn(w));
      if (opts.confirm) await confirmTyped(opts.confirm, { yes: ctx.yes, json: out.json, stdin: ctx.stdin });
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
      } finally {
        signals.forEach((sig) => process.off(sig, onSignal));
      }
      if (interrupted)
        out.warn('Interrupted past the point of no return: the command was finished, and nothing was undone');
      if (quiet(opts)) return;
      if (out.json)
        out.document(ResultOut, { ...resultDocument(command, plan, false), ...opts.document?.(streamed) });
      else plan.notes.forEach((n, i) => (i === 0 ? out.ok(n) : out.info(n)));
    },
    waiting,
  );
}
