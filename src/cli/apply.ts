import { COMMANDS } from '../commands/index.js';
import type { MutationSpec } from '../commands/spec.js';
import { VmStateError } from '../core/errors.js';
import type { Step } from '../core/plan.js';
import { planToken, requireDecidedBefore } from '../core/plan-token.js';
import { now } from '../core/clock.js';
import { hostIdentity } from '../io/host-identity.js';
import { readPlanFile } from '../io/plan-file.js';
import { VERSION } from '../version.js';
import type { Context } from './context.js';
import { runMutationSpec } from './run-command.js';

/**
 * `vm-state apply FILE`: runs a plan file's plan exactly as it was reviewed, or nothing. The file
 * must be one this vm-state on this host wrote, unchanged (exit 2 otherwise); then the command is
 * decided again from the file's input at the file's time, under the lock, and runs only if that
 * gives the file's token: the same facts, the same steps (exit 5, and what changed, otherwise).
 */
export async function applyPlanFile(ctx: Context, path: string): Promise<void> {
  const file = readPlanFile(path);
  if (file.version !== VERSION)
    throw new VmStateError(
      'usage',
      `${path} was planned by vm-state ${file.version}; this is vm-state ${VERSION}: its planner may decide otherwise`,
      { hint: `Make the plan again with this one: vm-state --plan-out ${path} ${file.command} …` },
    );
  const here = hostIdentity();
  if (file.host.name !== here.name || file.host.id !== here.id)
    throw new VmStateError(
      'usage',
      `${path} was planned on host ${file.host.name}${file.host.name === here.name ? ' (another machine of that name)' : ''}; this is ${here.name}`,
      { hint: 'A plan applies only where its facts were read: make it on this host' },
    );
  const decidedAt = requireDecidedBefore(new Date(file.decidedAt), now());
  // The file's steps are only digested here, never run: what runs is decided again below.
  const own = planToken({ ...file, decidedAt, steps: file.steps as unknown as Step[] });
  if (own !== file.token)
    throw new VmStateError(
      'usage',
      `${path} was changed after vm-state wrote it: its token does not match it`,
      {
        hint: `Make the plan again: vm-state --plan-out ${path} ${file.command} …`,
      },
    );
  const spec = COMMANDS.find((c): c is MutationSpec => c.kind === 'mutation' && c.name === file.command);
  if (!spec || spec.divert?.when(file.input))
    throw new VmStateError(
      'usage',
      `${path} holds a plan of '${file.command}', which vm-state apply does not run`,
    );
  await runMutationSpec(ctx, spec, file.input, {
    decidedAt,
    expected: file.token,
    expectedFacts: file.facts,
  });
}
