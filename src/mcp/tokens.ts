/**
 * The plan tokens this server has handed out. A token is the plan's fingerprint (the CLI's
 * `--dry-run --json` gives it, `--expect-plan` checks it against a plan decided afresh under
 * the lock); what only the server can know is kept here: that it issued the token, for which
 * tool and arguments, until when, and that it was not used yet.
 */
export type Refusal = 'unknown' | 'other-call' | 'used' | 'expired';

interface Issued {
  tool: string;
  /** The call's arguments without the token, in a canonical form. */
  args: string;
  expiresAt: number;
  used: boolean;
}

export class PlanTokens {
  private readonly issued = new Map<string, Issued>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Issued (again, if the same plan was asked for twice: a new use and a new expiry). */
  issue(token: string, tool: string, args: Record<string, unknown>): Date {
    this.forgetExpired();
    const expiresAt = this.now() + this.ttlMs;
    this.issued.set(token, { tool, args: canonical(args), expiresAt, used: false });
    return new Date(expiresAt);
  }

  /** Takes the token for this call: used up at once, whether the run then succeeds or not. */
  take(token: string, tool: string, args: Record<string, unknown>): Refusal | undefined {
    const t = this.issued.get(token);
    if (!t) return 'unknown';
    if (t.tool !== tool || t.args !== canonical(args)) return 'other-call';
    if (t.used) return 'used';
    if (this.now() >= t.expiresAt) return 'expired';
    t.used = true;
    return undefined;
  }

  private forgetExpired(): void {
    // Kept for a while past their expiry, so that a late or second use is refused as such.
    for (const [token, t] of this.issued)
      if (this.now() >= t.expiresAt + this.ttlMs) this.issued.delete(token);
  }
}

/** The same arguments in any key order are the same call. */
function canonical(args: Record<string, unknown>): string {
  const sorted = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([k, x]) => [k, sorted(x)]),
        )
      : v;
  return JSON.stringify(sorted(args));
}
