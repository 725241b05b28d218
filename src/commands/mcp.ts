import type { ActionSpec } from './spec.js';

/** The MCP server (src/mcp/): the table's commands as tools, for agents; loaded only when it runs. */
export const mcp: ActionSpec = {
  kind: 'action',
  name: 'mcp',
  args: [],
  options: [
    {
      flags: '--allow-writes',
      description: 'offer the tools that change something too (each runs only with its plan token)',
    },
    { flags: '--tools <list>', description: 'offer only these tools, comma-separated: list,show,snapshot' },
    { flags: '--plan-ttl <seconds>', description: 'how long a plan token may be used (default 600)' },
  ],
  description: 'a Model Context Protocol server on stdio, for agents: ssh -T HOST vm-state mcp',
  readme: [
    {
      usage: '`vm-state mcp [--allow-writes] [--tools list,show,...] [--plan-ttl S]`',
      text:
        "the commands as MCP tools on standard input and output, each with its arguments' and its " +
        "document's schema; read-only unless `--allow-writes`, and then a change runs only with the " +
        'token of the plan it returned first; see "For agents: MCP"',
    },
  ],
  run: async (ctx, input) => (await import('../mcp/start.js')).startMcp(ctx(), input),
};
