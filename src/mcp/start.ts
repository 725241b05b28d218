import { existsSync } from 'node:fs';
import type { Context } from '../cli/context.js';
import type { Input } from '../commands/spec.js';
import { VmStateError } from '../core/errors.js';
import { thisCli } from './cli-child.js';
import { serveMcp } from './server.js';

/** `vm-state mcp`: its flags over the config's `mcp`, then the server until the client goes. */
export async function startMcp(ctx: Context, input: Input): Promise<void> {
  const { COMMANDS } = await import('../commands/index.js');
  const c = ctx.config.mcp;
  const ttl = input.planTtl === undefined ? c.planTtlSeconds : Number(input.planTtl);
  if (!Number.isInteger(ttl) || ttl < 1) {
    throw new VmStateError(
      'usage',
      `--plan-ttl must be a whole number of seconds, got ${String(input.planTtl)}`,
    );
  }
  const tools = typeof input.tools === 'string' ? input.tools.split(',') : c.tools;
  await serveMcp(
    { allowWrites: input.allowWrites === true || c.allowWrites, tools, planTtlSeconds: ttl },
    {
      config: ctx.config,
      commands: COMMANDS,
      cli: thisCli(),
      // The commands read the config this server read (a missing default file: the defaults, for both).
      globals: existsSync(ctx.configFile) ? ['--config', ctx.configFile] : [],
    },
  );
}
