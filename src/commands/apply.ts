import type { ActionSpec } from './spec.js';

export const apply: ActionSpec = {
  kind: 'action',
  name: 'apply',
  args: [{ name: 'file', kind: 'word' }],
  description: 'run a plan file (--plan-out) exactly as it was reviewed, or nothing if anything changed',
  readme: [
    {
      usage: '`vm-state apply <file>`',
      text:
        'runs the plan a `--plan-out FILE` dry run wrote, under the lock, only if the facts it was decided on ' +
        'are unchanged and deciding again gives the same steps; else exit 5 "plan is stale" with what changed, ' +
        'and nothing runs; asks for the command\'s confirmation (`DELETE`) unless `--yes`; see "Reviewed plans"',
    },
  ],
  run: async (ctx, input) => (await import('../cli/apply.js')).applyPlanFile(ctx(), String(input.file)),
};
