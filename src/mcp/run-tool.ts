import type { z } from 'zod';
import { ErrorOut } from '../schemas/output.js';
import { runCli, type Cli, type CliRun } from './cli-child.js';
import type { PlanTokens, Refusal } from './tokens.js';
import { PlanOut, type Tool } from './tools.js';

/**
 * One tools/call: the arguments checked against the tool's input schema, then vm-state run as
 * a child with --json, its one document checked against the tool's output schema. A tool that
 * changes something takes two calls: the first runs it with --dry-run and hands out the plan's
 * token, the second runs it with --expect-plan and that token, so the plan an agent saw is the
 * plan that runs, or nothing does.
 */

/** A tools/call result, as MCP has it. */
export interface CallResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export interface ToolContext {
  cli: Cli;
  /** Global options every command line gets (the server's --config). */
  globals: readonly string[];
  tokens: PlanTokens;
}

export async function callTool(
  tool: Tool,
  given: unknown,
  ctx: ToolContext,
  signal?: AbortSignal,
): Promise<CallResult> {
  const parsed = tool.input.safeParse(given ?? {});
  if (!parsed.success) {
    return refusal(
      `Invalid arguments for ${tool.name}, nothing was run: ${issues(parsed.error)}`,
      'usage',
      2,
    );
  }
  const { planToken, ...args } = parsed.data as Record<string, unknown> & { planToken?: string };
  const argv = [...ctx.globals, ...tool.argv(args)];
  if (!tool.writes) return answer(tool, await runCli(ctx.cli, ['--json', ...argv], signal), viewText);
  if (planToken === undefined) {
    const ran = await runCli(ctx.cli, ['--json', '--dry-run', ...argv], signal);
    return answer(
      tool,
      ran,
      (doc) => planText(tool, doc),
      (doc) => withToken(tool, doc, args, ctx),
    );
  }
  // Used up before the run, whatever its end: a token runs its plan once at most.
  const refused = ctx.tokens.take(planToken, tool.name, args);
  if (refused) return refusal(`${REFUSALS[refused]} (${tool.name}): nothing was run`, 'usage', 2);
  const ran = await runCli(ctx.cli, ['--json', '--yes', '--expect-plan', planToken, ...argv], signal);
  return answer(tool, ran, doneText);
}

const REFUSALS: Record<Refusal, string> = {
  unknown:
    'planToken was not issued by this server: call the tool without planToken first ' +
    '(tokens live as long as the server that issued them)',
  'other-call':
    'planToken was issued for another call (another tool or other arguments): ' +
    'call the tool with these arguments and no planToken first',
  used: 'planToken was used already: a token runs its plan once; ask for a new plan (no planToken)',
  expired: 'planToken has expired: ask for a new plan (no planToken)',
};

/** The plan's token, registered for this call; none: the command has no plan token to give. */
function withToken(
  tool: Tool,
  doc: Record<string, unknown>,
  args: Record<string, unknown>,
  ctx: ToolContext,
) {
  const token = typeof doc.token === 'string' ? doc.token : undefined;
  if (token === undefined) return doc;
  const expires = ctx.tokens.issue(token, tool.name, args);
  return { ...doc, planToken: token, planExpiresAt: expires.toISOString() };
}

/** The child's document (or error) as a tool result. */
function answer(
  tool: Tool,
  ran: CliRun,
  text: (doc: Record<string, unknown>) => string,
  extend: (doc: Record<string, unknown>) => Record<string, unknown> = (d) => d,
): CallResult {
  if (ran.code !== 0) return failure(tool, ran);
  let raw: unknown;
  try {
    raw = JSON.parse(ran.stdout);
  } catch {
    return refusal(
      `vm-state ${tool.command} printed no JSON document: ${ran.stdout.slice(0, 200)}`,
      'failed',
      1,
    );
  }
  const checked = tool.output.safeParse(extend(raw as Record<string, unknown>));
  if (!checked.success) {
    return refusal(
      `vm-state ${tool.command} printed a document its schema refuses: ${issues(checked.error)}`,
      'failed',
      1,
    );
  }
  const doc = checked.data as Record<string, unknown>;
  // The JSON too, after the short text: the protocol asks for it, for clients that pass only text on.
  return {
    content: [{ type: 'text', text: `${text(doc)}\n${JSON.stringify(doc)}` }],
    structuredContent: doc,
  };
}

/** What the CLI said on stderr (one JSON error document, after any warnings), as an error result. */
function failure(tool: Tool, ran: CliRun): CallResult {
  for (const line of ran.stderr.trim().split('\n').reverse()) {
    let parsed: z.infer<typeof ErrorOut> | undefined;
    try {
      parsed = ErrorOut.parse(JSON.parse(line));
    } catch {
      continue;
    }
    const e = parsed.error;
    return refusal(`${e.message}${e.hint ? `\n${e.hint}` : ''}`, e.code, ran.code, e.details);
  }
  const said = ran.stderr.trim() || ran.stdout.trim();
  return refusal(`vm-state ${tool.command} exited ${ran.code}${said ? `: ${said}` : ''}`, 'failed', ran.code);
}

/** An error result: the message first, then the CLI's error document as it has it. */
function refusal(message: string, code: string, exitCode: number, details?: unknown): CallResult {
  const doc = { error: { code, exitCode, message, ...(details === undefined ? {} : { details }) } };
  return { content: [{ type: 'text', text: `${message}\n${JSON.stringify(doc)}` }], isError: true };
}

const issues = (e: z.ZodError) =>
  e.issues.map((i) => `${i.path.length ? i.path.join('.') : 'arguments'}: ${i.message}`).join('; ');

/** `3 slots, 2 states, 5 snapshots`: how much the document holds. */
function viewText(doc: Record<string, unknown>): string {
  const counts = Object.entries(doc)
    .filter(([, v]) => Array.isArray(v))
    .map(([k, v]) => `${(v as unknown[]).length} ${k}`);
  return counts.length ? counts.join(', ') : 'ok';
}

function planText(tool: Tool, doc: Record<string, unknown>): string {
  const plan = PlanOut.parse(doc);
  const lines = [
    `Plan, nothing done yet: ${plan.summary}`,
    ...plan.steps.map((s, i) => `  ${i + 1}. ${s.command}`),
    ...plan.warnings.map((w) => `warning: ${w}`),
  ];
  if (plan.planToken)
    lines.push(
      `To run it: ${tool.name} with the same arguments and planToken "${plan.planToken}" ` +
        `(until ${plan.planExpiresAt})`,
    );
  else lines.push('This command gives no plan token: it cannot be run from here.');
  return lines.join('\n');
}

function doneText(doc: Record<string, unknown>): string {
  const result = PlanOut.parse(doc);
  return [`Done: ${result.summary}`, ...result.notes, ...result.warnings.map((w) => `warning: ${w}`)].join(
    '\n',
  );
}
