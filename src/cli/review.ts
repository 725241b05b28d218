import { VmStateError } from '../core/errors.js';
import type { Facts, StateScope } from '../core/facts.js';
import { changeText, diffParts, factParts, type FactParts } from '../core/fingerprint.js';
import type { Plan } from '../core/plan.js';
import { planToken, type Reviewed, type ReviewedPlan } from '../core/plan-token.js';
import { hostIdentity } from '../io/host-identity.js';
import { VERSION } from '../version.js';

/**
 * A plan that can be reviewed first and run later exactly as reviewed: with
 * --dry-run its token is printed (and a plan file written, --plan-out); with an
 * expected token (--expect-plan, vm-state apply) it runs only if deciding again,
 * from the facts read under the lock at the reviewed time, gives that token.
 */
export interface Review {
  /** The command's input, as the token digests it. */
  input: Record<string, unknown>;
  /** When the plan is decided: now, or the reviewed plan's time. */
  decidedAt: Date;
  /** The token the plan must have, else nothing runs (exit 5). */
  expected?: string;
  /** The facts the expected plan was decided on (a plan file's): a stale plan says what changed. */
  expectedFacts?: FactParts;
  /** The states the facts were read with (a plan file records them). */
  scope: () => StateScope;
}

/**
 * Decides the plan and its token. With a token expected, a plan that is not the one reviewed is
 * refused (exit 5, nothing run), and so is a refusal of the planner's now (the reviewed plan can no
 * longer be made: a replayed token, whose plan ran, meets the facts that run made).
 */
export function decideReviewed(
  command: string,
  review: Review,
  facts: Facts,
  decide: (facts: Facts) => Plan,
): { plan: Plan; reviewed: ReviewedPlan } {
  let plan: Plan;
  try {
    plan = decide(facts);
  } catch (e) {
    if (review.expected === undefined || !(e instanceof VmStateError)) throw e;
    throw staleError(command, review, factParts(facts), `deciding it again now: ${e.message}`);
  }
  const reviewed = reviewPlan(command, review, facts, plan);
  if (review.expected !== undefined && review.expected !== reviewed.token)
    throw staleError(command, review, reviewed.facts);
  return { plan, reviewed };
}

function reviewPlan(command: string, review: Review, facts: Facts, plan: Plan): ReviewedPlan {
  const reviewed: Reviewed = {
    version: VERSION,
    host: hostIdentity(),
    command,
    input: review.input,
    facts: factParts(facts),
    decidedAt: review.decidedAt,
    steps: plan.steps,
  };
  return { ...reviewed, token: planToken(reviewed), scope: review.scope() };
}

/** Stale: with the reviewed facts known (a plan file), each fact that changed; else only that. */
function staleError(command: string, review: Review, now: FactParts, refusal?: string): VmStateError {
  const again = `Review it again: vm-state --dry-run ${command} … prints the current plan and its token`;
  const changes = review.expectedFacts ? diffParts(review.expectedFacts, now) : [];
  if (changes.length > 0)
    return new VmStateError(
      'conflict',
      `plan is stale: ${changes.length} fact(s) changed since it was reviewed`,
      {
        hint: [...changes.map(changeText), ...(refusal ? [refusal] : []), again].join('\n'),
        details: { changes },
      },
    );
  if (review.expectedFacts === undefined)
    return new VmStateError(
      'conflict',
      'plan is stale: the facts or the plan changed since it was reviewed',
      {
        hint: [...(refusal ? [refusal] : []), again].join('\n'),
      },
    );
  const why = refusal ?? 'on the same facts the planner now makes other steps than the plan holds';
  return new VmStateError('conflict', `plan is stale: ${why}`, {
    hint: `The configuration changed, or the plan's steps were edited. ${again}`,
  });
}
