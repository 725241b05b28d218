import type { Context } from '../cli/context.js';
import { runMutation } from '../cli/run-plan.js';
import type { Input } from '../commands/spec.js';
import { now } from '../core/clock.js';
import { VmStateError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import { decideMigrateOut, type MigrateOutRequest, type SendFacts } from '../core/replication.js';
import type { Step } from '../core/plan.js';
import { linkTo, parseDestination, sendRounds } from './send-command.js';
import { readSendFacts, thisHost } from './send-facts.js';

/**
 * `vm-state migrate <state> <remote>:<slot>`: a bulk send while the VM runs, then
 * the short part under the lock: stop, last delta, the remote promotes and starts.
 */
export async function migrateOut(ctx: Context, input: Input): Promise<void> {
  const state = validateName('state', String(input.state));
  const text = String(input.slot);
  const colon = text.indexOf(':');
  const { remote } = parseDestination(ctx.config, text.slice(0, colon), state);
  const slot = validateName('state', text.slice(colon + 1));
  const link = linkTo(ctx, remote);
  try {
    const hello = await link.call({ op: 'hello' });
    if (!hello.slots.some((s) => s.name === slot))
      throw new VmStateError('invalid-name', `No slot '${slot}' on remote '${remote}'`, {
        hint: `Its slots: ${hello.slots.map((s) => s.name).join(', ')}`,
      });
    const request: MigrateOutRequest = {
      state,
      remote,
      target: state,
      host: thisHost(),
      force: false,
      now: now(),
      slot,
      remoteHost: hello.host,
    };
    // While the VM runs: the bulk of the data, so that the slot is down only for the last delta.
    await sendRounds(ctx, link, request, { quiet: true });
    if (ctx.dryRun) {
      ctx.out.info(
        `Then, under the lock: stop the slots running '${state}' here, send the last delta, ` +
          `promote and start it on ${remote}:${slot}, and make this copy its read-only replica`,
      );
      return;
    }
    request.now = now();
    let send: SendFacts | undefined;
    let stoppedAt: number | undefined;
    let startedAt: number | undefined;
    await runMutation(ctx, 'migrate', (facts) => decideMigrateOut(ctx.config, request, send!, facts), {
      facts: async (system) => {
        const read = await readSendFacts(system, link, request);
        send = read.send;
        return read.facts;
      },
      remotes: new Map([[remote, link]]),
      // The slot is the remote's: the slots stopped here come from the plan's steps.
      subject: { state, remote },
      onStep: (step: Step, done: boolean) => {
        if (step.kind === 'stop' && !done) stoppedAt ??= Date.now();
        if (step.kind === 'remote' && done) startedAt = Date.now();
      },
      document: () => ({ migrate: { remote, slot, downtimeSeconds: downtime(stoppedAt, startedAt) } }),
    });
    if (stoppedAt !== undefined && !ctx.out.json)
      ctx.out.info(`Down for ${downtime(stoppedAt, startedAt).toFixed(1)} s (stop here to start there)`);
  } finally {
    await link.close();
  }
}

const downtime = (from?: number, to?: number) =>
  from === undefined || to === undefined ? 0 : Math.max(0, (to - from) / 1000);
