import { existsSync } from 'node:fs';
import type { Context } from '../cli/context.js';
import type { Input } from '../commands/spec.js';
import { VmStateError } from '../core/errors.js';

/**
 * `vm-state mcp`: its flags over the config's `mcp`, then the server until the client goes. The
 * server is a file of its own, dist/mcp.cjs (scripts/build.mjs): no other command loads its code,
 * the SDK's, or the second zod it brings.
 */
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
  const { serveMcp } = await import('./server.js');
  await serveMcp(
    { allowWrites: input.allowWrites === true || c.allowWrites, tools, planTtlSeconds: ttl },
    {
      config: ctx.config,
      commands: COMMANDS,
      // This process's own Node and script (the launcher, with its compile cache) run each call.
      cli: [process.execPath, process.argv[1]!],
      // The commands read the config this server read (a missing default file: the defaults, for both).
      globals: existsSync(ctx.configFile) ? ['--config', ctx.configFile] : [],
      usageError: (message, hint) => new VmStateError('usage', message, { hint }),
    },
  );
}
