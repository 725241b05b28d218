import { z } from 'zod';

/**
 * A plan file (`--plan-out FILE`, read by `vm-state apply FILE`): one plan as it was
 * reviewed, with everything it follows from. `steps` are kept as the planner made
 * them, but apply never runs them: it decides again and runs its own plan only
 * when that is this one (same token), so a step edited in the file runs nowhere.
 */
export const PLAN_FORMAT = 'vm-state-plan';
export const PLAN_FORMAT_VERSION = 1;

// A record of what was read (apply reads with the command's own scope): the flags a scope has.
const Scope = z.union([z.literal('all'), z.looseObject({ names: z.array(z.string()) })]);

export const PlanFile = z.strictObject({
  format: z.literal(PLAN_FORMAT),
  formatVersion: z.literal(PLAN_FORMAT_VERSION),
  version: z.string().describe('the vm-state that decided it: only the same version applies it'),
  host: z.strictObject({
    name: z.string(),
    id: z.string().nullable().describe("a digest of the host's /etc/machine-id (null: none)"),
  }),
  command: z.string(),
  input: z
    .record(z.string(), z.union([z.string(), z.boolean(), z.array(z.string())]))
    .describe("the command's arguments and options, by name"),
  scope: Scope.describe('the states it read'),
  decidedAt: z.iso.datetime(),
  summary: z.string(),
  facts: z.record(z.string(), z.string()).describe('what it was decided on, part by part'),
  commands: z.array(z.string()).describe('the steps as --dry-run prints them, for people'),
  steps: z.array(z.looseObject({ kind: z.string() })),
  token: z.string(),
});
export type PlanFile = z.infer<typeof PlanFile>;
