import type { Input } from '../commands/spec.js';
import type { Context } from '../cli/context.js';
import { runMutation } from '../cli/run-plan.js';
import { now } from '../core/clock.js';
import { VmStateError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import { decideSend, type SendDecision, type SendFacts, type SendRequest } from '../core/replication.js';
import { RemoteLink } from '../io/ssh.js';
import type { Config } from '../schemas/config.js';
import { readSendFacts, thisHost } from './send-facts.js';
import { System } from '../io/system.js';
import { statesByName } from '../core/facts.js';
import { SendAllOut } from '../schemas/output.js';

/** `<remote>` or `<remote>:<name>`, the remote one of the config's. */
export function parseDestination(c: Config, text: string, state: string) {
  const colon = text.indexOf(':');
  const remote = colon < 0 ? text : text.slice(0, colon);
  const target = colon < 0 ? state : text.slice(colon + 1);
  validateName('state', target);
  if (!(remote in c.remotes))
    throw new VmStateError('not-found', `No remote '${remote}' in the configuration`, {
      hint:
        Object.keys(c.remotes).length > 0
          ? `Remotes: ${Object.keys(c.remotes).join(', ')}`
          : 'Add one: vm-state remote add <name> <ssh-destination>',
    });
  return { remote, target };
}

/** A remote of the config's, as a link this command reaches it by. */
export const linkTo = (ctx: Context, remote: string) =>
  new RemoteLink(ctx.runner, remote, ctx.config.remotes[remote]!, ctx.config.runDir);

export async function sendCommand(ctx: Context, input: Input): Promise<void> {
  if (input.all) return sendAll(ctx, input);
  if (input.state === undefined || input.destination === undefined)
    throw new VmStateError('usage', 'Say what to send where: vm-state send <state> <remote>[:<name>]', {
      hint: 'Or every state: vm-state send --all <remote>',
    });
  const state = validateName('state', String(input.state));
  const { remote, target } = parseDestination(ctx.config, String(input.destination), state);
  const link = linkTo(ctx, remote);
  const request: SendRequest = {
    state,
    remote,
    target,
    host: thisHost(),
    force: Boolean(input.force),
    now: now(),
  };
  try {
    await sendRounds(ctx, link, request);
  } finally {
    await link.close();
  }
}

/** Sends until the target is up to date: a cut send is resumed first, then the rest: at most two rounds. */
export async function sendRounds(
  ctx: Context,
  link: RemoteLink,
  request: SendRequest,
  opts: { quiet?: boolean } = {},
): Promise<number> {
  let resumed = false;
  let total = 0;
  let current = 0;
  for (let round = 0; round < 2; round++) {
    let decision: SendDecision | undefined;
    let send: SendFacts | undefined;
    await runMutation(ctx, 'send', (facts) => (decision = decideSend(ctx.config, request, send!)).plan, {
      facts: async (system) => {
        const read = await readSendFacts(system, link, request);
        send = read.send;
        return read.facts;
      },
      remotes: new Map([[link.name, link]]),
      subject: { state: request.state, remote: request.remote },
      document: (bytes) => ({
        send: { ...decision!.summary, resumed: resumed || decision!.summary.resumed, bytes },
      }),
      // A resumed round is followed by the rest: one document, said by the last round.
      quiet: () => Boolean(opts.quiet) || (Boolean(decision?.thenSendAgain) && !ctx.dryRun),
      onBytes: (n) => void (current = n),
      onStep: (step, done) => {
        if (step.kind === 'send' && done) ((total += current), (current = 0));
      },
    });
    if (!decision?.thenSendAgain || ctx.dryRun) break;
    resumed = true;
    request.now = now();
  }
  return total;
}

/** `send --all <remote>`: every state of this host's own, one after the other; a failure does not stop the rest. */
async function sendAll(ctx: Context, input: Input): Promise<void> {
  if (input.state === undefined || input.destination !== undefined)
    throw new VmStateError(
      'usage',
      'vm-state send --all takes the remote alone: vm-state send --all <remote>',
    );
  const { remote } = parseDestination(ctx.config, String(input.state), 'x');
  if (String(input.state).includes(':'))
    throw new VmStateError(
      'usage',
      'vm-state send --all sends each state under its own name: give the remote alone',
    );
  const facts = await new System(ctx.runner, ctx.config).facts();
  const states = statesByName(facts).filter((s) => s.kind === 'dataset' && s.replicaOf === null);
  const link = linkTo(ctx, remote);
  const failed: string[] = [];
  const results: { state: string; ok: boolean; error?: string }[] = [];
  try {
    for (const s of states) {
      const request: SendRequest = {
        state: s.name,
        remote,
        target: s.name,
        host: thisHost(),
        force: false,
        now: now(),
      };
      try {
        await sendRounds(ctx, link, request, { quiet: ctx.out.json });
        results.push({ state: s.name, ok: true });
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        failed.push(s.name);
        results.push({ state: s.name, ok: false, error: message });
        if (!ctx.out.json) ctx.out.warn(`${s.name}: ${message}`);
      }
    }
  } finally {
    await link.close();
  }
  if (ctx.out.json) ctx.out.document(SendAllOut, { remote, dryRun: ctx.dryRun, results });
  if (failed.length > 0)
    throw new VmStateError(
      'failed',
      `${failed.length} of ${states.length} state(s) not sent: ${failed.join(', ')}`,
    );
  if (!ctx.out.json) ctx.out.ok(`Sent ${states.length} state(s) to ${remote}`);
}
