import type { Input } from '../commands/spec.js';
import type { Context } from '../cli/context.js';
import { runMutation } from '../cli/run-plan.js';
import { VmStateError } from '../core/errors.js';
import { validateName } from '../core/names.js';
import { decideSend, type SendDecision, type SendFacts, type SendRequest } from '../core/replication.js';
import { RemoteLink } from '../io/ssh.js';
import type { Config } from '../schemas/config.js';
import { readSendFacts, thisHost } from './send-facts.js';

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
  const state = validateName('state', String(input.state));
  const { remote, target } = parseDestination(ctx.config, String(input.destination), state);
  const link = linkTo(ctx, remote);
  const request: SendRequest = {
    state,
    remote,
    target,
    host: thisHost(),
    force: Boolean(input.force),
    now: new Date(),
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
): Promise<void> {
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
      document: (bytes) => ({ send: { ...decision!.summary, bytes } }),
      quiet: opts.quiet,
    });
    if (!decision?.thenSendAgain || ctx.dryRun) break;
    request.now = new Date();
  }
}
