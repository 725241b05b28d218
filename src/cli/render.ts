import { describeStep, runsThere, type Plan } from '../core/plan.js';
import type { z } from 'zod';
import type { ResultOut } from '../schemas/output.js';
import type { Output } from './output.js';

export function resultDocument(
  command: string,
  plan: Plan,
  dryRun: boolean,
  token?: string,
): z.input<typeof ResultOut> {
  return {
    command,
    summary: plan.summary,
    dryRun,
    ok: true,
    steps: plan.steps.map((s) => ({ ...s, command: describeStep(s) })),
    warnings: plan.warnings,
    notes: dryRun ? [] : plan.notes,
    ...(plan.details ? { details: plan.details } : {}),
    ...(token ? { token } : {}),
  };
}

export function renderDryRun(out: Output, plan: Plan, token?: string): void {
  for (const line of plan.details ?? []) out.text(`  ${line}`);
  out.info(`Dry run: ${plan.summary}. Nothing will be changed. Steps:`);
  plan.steps.forEach((s, i) => {
    out.text(`  ${i + 1}. ${describeStep(s)}`);
    for (const line of runsThere(s)) out.text(`       there: ${line}`);
  });
  if (token) out.text(`Plan token: ${token}   (--expect-plan runs exactly this plan, or nothing)`);
}
