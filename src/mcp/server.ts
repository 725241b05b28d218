import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { CommandSpec } from '../commands/spec.js';
import type { Config } from '../schemas/config.js';
import { VERSION } from '../version.js';
import type { Cli } from './cli-child.js';
import { callTool, type CallResult } from './run-tool.js';
import { PlanTokens } from './tokens.js';
import { toolName, toolsFromTable, type Tool } from './tools.js';

/**
 * `vm-state mcp`: the tools of the command table served over MCP on standard input and output
 * (nothing else is written there; a word to the operator goes to stderr). Which tools are
 * offered is decided once, at start: the writing ones only with --allow-writes, and only
 * those --tools names when it is given. scripts/build.mjs bundles this module and all it
 * imports (the SDK, with a zod of its own) into dist/mcp.cjs, which only `vm-state mcp` loads.
 */
export interface McpOptions {
  allowWrites: boolean;
  /** Tool or command names (`snapshot_delete`, `snapshot delete`); none: every tool. */
  tools?: readonly string[];
  planTtlSeconds: number;
}

export interface McpDeps {
  config: Config;
  commands: readonly CommandSpec[];
  cli: Cli;
  globals: readonly string[];
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
  stderr?: { write(s: string): unknown };
  /** The CLI's usage error (exit 2): its class is the other bundle's. */
  usageError: (message: string, hint: string) => Error;
}

/** A tools/call as the SDK has checked it. */
type CallParams = { params: { name: string; arguments?: Record<string, unknown> } };

const INSTRUCTIONS =
  'vm-state manages VM states (ZFS datasets) and the microVM slots that run them on one hypervisor. ' +
  'Read-only tools answer at once. A tool that changes something takes two calls: without planToken ' +
  'it changes nothing and returns the plan (the exact zfs/systemctl steps) and a planToken; call it ' +
  'again with the same arguments and that planToken to run exactly that plan. Show the plan to the ' +
  'user before the second call. A token is used once and expires; it is refused when the facts ' +
  'changed so that the plan would differ (ask for a new plan then).';

/** Which tools this server offers, and why another one is not offered. */
export function chooseTools(all: readonly Tool[], opts: McpOptions, deps: Pick<McpDeps, 'usageError'>) {
  const wanted = opts.tools?.map((n) => toolName(n.trim())).filter(Boolean);
  const unknown = wanted?.filter((n) => !all.some((t) => t.name === n)) ?? [];
  if (unknown.length > 0)
    throw deps.usageError(
      `--tools: no tool ${unknown.join(', ')}`,
      `Tools: ${all.map((t) => t.name).join(', ')}`,
    );
  const offered = all.filter((t) => (!wanted || wanted.includes(t.name)) && (opts.allowWrites || !t.writes));
  const whyNot = (t: Tool): string =>
    t.writes && !opts.allowWrites
      ? `Tool ${t.name} changes the system, and this server offers no such tool: it was started ` +
        'without --allow-writes (vm-state mcp --allow-writes, or "mcp": {"allowWrites": true} in the config)'
      : `Tool ${t.name} is not offered by this server (its --tools: ${wanted?.join(', ')})`;
  return { offered, whyNot };
}

/** The tool as tools/list gives it: its zod schemas as JSON Schema draft 7 (what clients validate with). */
function listed(t: Tool) {
  const schema = (s: z.ZodType, io: 'input' | 'output') => {
    const { $schema: _, ...rest } = z.toJSONSchema(s, { io, target: 'draft-7' }) as Record<string, unknown>;
    return rest;
  };
  return {
    name: t.name,
    title: t.annotations.title,
    description: t.description,
    inputSchema: schema(t.input, 'input'),
    outputSchema: schema(t.output, 'output'),
    annotations: t.annotations,
  };
}

export async function serveMcp(opts: McpOptions, deps: McpDeps): Promise<void> {
  const all = toolsFromTable(deps.commands, deps.config);
  const { offered, whyNot } = chooseTools(all, opts, deps);
  const list = offered.map(listed);
  const tokens = new PlanTokens(opts.planTtlSeconds * 1000);
  const ctx = { cli: deps.cli, globals: deps.globals, tokens };
  const stderr = deps.stderr ?? process.stderr;

  const server = new Server(
    { name: 'vm-state', version: VERSION },
    { capabilities: { tools: { listChanged: false } }, instructions: INSTRUCTIONS },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: list }));
  // The SDK checks a tools/call itself and answers a malformed one with Invalid params (-32602);
  // given its own schema here, it would fail earlier, as an internal error (-32603).
  const callRequest = z.object({ method: z.literal('tools/call') }).loose();
  server.setRequestHandler(callRequest, async (request, extra): Promise<CallResult> => {
    const { name, arguments: given } = (request as unknown as CallParams).params;
    const tool = offered.find((t) => t.name === name);
    if (!tool) {
      const known = all.find((t) => t.name === name);
      if (!known) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
      return { content: [{ type: 'text', text: whyNot(known) }], isError: true };
    }
    try {
      return await callTool(tool, given, ctx, extra.signal);
    } catch (e) {
      // A bug of ours fails this call, never the server.
      return { content: [{ type: 'text', text: `vm-state mcp: ${(e as Error).message}` }], isError: true };
    }
  });

  const transport = new StdioServerTransport(
    (deps.stdin ?? process.stdin) as never,
    (deps.stdout ?? process.stdout) as never,
  );
  // A line that is no JSON-RPC message gets JSON-RPC's answer (no id to answer to), and the next one is read.
  server.onerror = (e: Error) => {
    const parse = e instanceof SyntaxError;
    if (!parse && !('issues' in e)) return void stderr.write(`vm-state mcp: ${e.message}\n`);
    const error = parse
      ? { code: ErrorCode.ParseError, message: `Parse error: ${e.message}` }
      : { code: ErrorCode.InvalidRequest, message: 'Invalid request: not a JSON-RPC 2.0 message' };
    void transport.send({ jsonrpc: '2.0', id: null, error } as never).catch(() => {});
  };
  const closed = new Promise<void>((resolve) => (server.onclose = resolve));
  await server.connect(transport);
  // The client closing our input is the end of the session.
  (deps.stdin ?? process.stdin).on('end', () => void server.close());
  const held = all.length - offered.length;
  stderr.write(
    `vm-state mcp ${VERSION}: ${offered.length} tools` +
      (held ? ` (${held} not offered${opts.allowWrites ? '' : ': writes are off'})` : '') +
      '\n',
  );
  await closed;
}
