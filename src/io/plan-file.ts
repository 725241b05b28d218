import { readFileSync } from 'node:fs';
import { VmStateError } from '../core/errors.js';
import { describeStep, type Plan } from '../core/plan.js';
import type { ReviewedPlan } from '../core/plan-token.js';
import { PLAN_FORMAT, PLAN_FORMAT_VERSION, PlanFile } from '../schemas/plan-file.js';
import { writeFileAtomic } from './atomic-file.js';

/** Writes the reviewed plan to `path`: atomically, readable by its owner only (it lists the host's states). */
export function writePlanFile(path: string, reviewed: ReviewedPlan, plan: Plan): void {
  const file: PlanFile = {
    format: PLAN_FORMAT,
    formatVersion: PLAN_FORMAT_VERSION,
    version: reviewed.version,
    host: reviewed.host,
    command: reviewed.command,
    input: Object.fromEntries(
      Object.entries(reviewed.input).filter(([, v]) => v !== undefined),
    ) as PlanFile['input'],
    scope: reviewed.scope,
    decidedAt: reviewed.decidedAt.toISOString(),
    summary: plan.summary,
    facts: reviewed.facts,
    commands: plan.steps.map(describeStep),
    steps: plan.steps as unknown as PlanFile['steps'],
    token: reviewed.token,
  };
  try {
    writeFileAtomic(path, `${JSON.stringify(PlanFile.parse(file), null, 2)}\n`, 0o600);
  } catch (e) {
    throw new VmStateError('failed', `Cannot write the plan file ${path}: ${(e as Error).message}`);
  }
}

const notAPlan = (path: string, why: string, hint?: string) =>
  new VmStateError('usage', `${path} is not a plan file vm-state can apply: ${why}`, {
    hint: hint ?? 'Write one with: vm-state --plan-out FILE <command> …',
  });

/** The plan file at `path`, checked against its schema: each way it is not one is a usage error naming why. */
export function readPlanFile(path: string): PlanFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new VmStateError('not-found', `No plan file ${path}`);
    throw notAPlan(path, `it cannot be read (${code ?? (e as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw notAPlan(path, `not JSON (${(e as Error).message})`);
  }
  const head = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  if (head.format !== PLAN_FORMAT) throw notAPlan(path, `no "format": "${PLAN_FORMAT}"`);
  if (head.formatVersion !== PLAN_FORMAT_VERSION)
    throw notAPlan(
      path,
      `it is in plan format ${JSON.stringify(head.formatVersion)}; this vm-state reads format ${PLAN_FORMAT_VERSION}`,
      'Make the plan again with this vm-state: vm-state --plan-out FILE <command> …',
    );
  const parsed = PlanFile.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map(String).join('.') || '(the whole file)';
    throw notAPlan(path, `field ${JSON.stringify(field)}: ${issue.message}`);
  }
  return parsed.data;
}
