import { createHash } from 'node:crypto';
import { VmStateError } from './errors.js';
import type { StateScope } from './facts.js';
import type { FactParts } from './fingerprint.js';
import type { Step } from './plan.js';

/**
 * A plan token names one plan as it was reviewed: `vsp1.<decidedAt, ms since the epoch>.<sha-256>`,
 * the digest of everything the plan follows from (the vm-state version, the host, the command and
 * its input, the facts it was decided on, the time) and of its steps. Deciding again from equal
 * facts at the same time gives the same token; any change gives another. It is a fingerprint,
 * not a secret: it proves what a plan is, not who may run it.
 */
export const TOKEN_VERSION = 'vsp1';

const TOKEN_RE = /^vsp1\.(\d{1,15})\.([0-9a-f]{64})$/;

/** This host, as a plan names it: its name, and a digest of its machine id (never the id itself). */
export interface HostIdentity {
  name: string;
  /** null where the host has no /etc/machine-id. */
  id: string | null;
}

/** Everything a plan follows from, and the plan. */
export interface Reviewed {
  version: string;
  host: HostIdentity;
  command: string;
  input: Record<string, unknown>;
  facts: FactParts;
  decidedAt: Date;
  steps: readonly Step[];
}

/** A plan as reviewed: with its token, and the states it read. */
export type ReviewedPlan = Reviewed & { token: string; scope: StateScope };

/** A value as JSON with every object's keys in order and no undefined: equal data, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/**
 * The steps as the token digests them: what they do. `frees` (the bytes a destroy gives back, for
 * --dry-run) grows as the live data moves on and decides nothing, so it is left out.
 */
export const stepsDigested = (steps: readonly Step[]) =>
  steps.map((s) => (s.kind === 'zfs' ? { ...s, frees: undefined } : s));

export function planToken(r: Reviewed): string {
  const hash = createHash('sha256').update(
    canonicalJson({
      token: TOKEN_VERSION,
      version: r.version,
      host: r.host,
      command: r.command,
      input: r.input,
      decidedAt: r.decidedAt.getTime(),
      steps: stepsDigested(r.steps),
    }),
  );
  // The facts, one part a line in key order: a pool's thousands of parts without a JSON replacer's cost.
  for (const key of Object.keys(r.facts).sort())
    hash.update(`\n${JSON.stringify(key)}=${JSON.stringify(r.facts[key])}`);
  return `${TOKEN_VERSION}.${r.decidedAt.getTime()}.${hash.digest('hex')}`;
}

/** How far a plan's time may be ahead of this host's clock: another host's drift, never a day. */
const SKEW_MS = 60_000;

/**
 * A reviewed plan's time, refused when it is ahead of now: a plan decided "later" would see
 * more snapshots as old (prune --older-than) than any review did.
 */
export function requireDecidedBefore(decidedAt: Date, now: Date): Date {
  if (decidedAt.getTime() > now.getTime() + SKEW_MS)
    throw new VmStateError(
      'usage',
      `The plan says it was decided at ${decidedAt.toISOString()}, which is ahead of now`,
      {
        hint: 'No dry run gave it: make the plan again',
      },
    );
  return decidedAt;
}

/** The time a token's plan was decided at; a string that is no token is a usage error (exit 2). */
export function tokenTime(token: string): Date {
  const m = TOKEN_RE.exec(token);
  const at = m ? new Date(Number(m[1])) : undefined;
  if (!at || Number.isNaN(at.getTime()))
    throw new VmStateError('usage', `Not a plan token: ${JSON.stringify(token.slice(0, 100))}`, {
      hint: 'A token looks like vsp1.<digits>.<64 hex digits>: the dry run prints it (--dry-run, --json: token)',
    });
  return at;
}
