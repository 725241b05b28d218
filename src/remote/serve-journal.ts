import type { Context } from '../cli/context.js';
import { errorOf, failureResult, journalFields, type ChangeResult } from '../core/journal.js';
import type { Runner } from '../io/runner.js';
import type { Request } from '../schemas/protocol.js';
import { VERSION } from '../version.js';

/**
 * The receiving host's journal of what serve changed there: one entry per receive, abort,
 * set-aside or promote, as the sending host's own commands log theirs (core/journal.ts has
 * the fields). `hello` and `state` only read, and log nothing.
 */

/** The commands that change something: what an entry lists as its steps. */
const CHANGES: Readonly<Record<string, readonly string[]>> = {
  zfs: [
    'receive',
    'set',
    'inherit',
    'hold',
    'release',
    'rename',
    'clone',
    'promote',
    'mount',
    'unmount',
    'destroy',
  ],
  systemctl: ['start', 'stop', 'restart'],
};

/** `runner`, with each changing command it runs (the argv, joined) added to `ran`. */
export function recordingChanges(runner: Runner, ran: string[]): Runner {
  const note = (argv: readonly string[]) => {
    if (CHANGES[argv[0] ?? '']?.includes(argv[1] ?? '')) ran.push(argv.join(' '));
  };
  return {
    run: (argv, opts) => (note(argv), runner.run(argv, opts)),
    pipe: (producer, consumer, opts) => (note(consumer), runner.pipe(producer, consumer, opts)),
  };
}

/** What the request asks, in the words of a plan's summary; undefined for a read. */
export function summaryOf(r: Request): string | undefined {
  if (r.op === 'hello' || r.op === 'state') return undefined;
  const from = `from ${r.source.host}:${r.source.state}`;
  switch (r.op) {
    case 'receive':
      return `Receive '${r.name}' up to ${r.snapshot} ${from}${r.resume ? ' (resumed)' : ''}`;
    case 'abort':
      return `Drop the cut receive into '${r.name}' ${from}`;
    case 'set-aside':
      return `Set aside what only '${r.name}' here has, for a forced send ${from}`;
    case 'promote':
      return `Make the replica '${r.name}' the live state on ${r.slot}, migrated ${from}`;
  }
}

/**
 * The entry for a changing request: done, or refused when it failed before changing anything,
 * undone or failed as the error's details say. A request that changed nothing (an abort with
 * no token left) is not logged, as a plan of no steps is not.
 */
export async function journalServe(
  ctx: Context,
  r: Request,
  ran: readonly string[],
  error?: unknown,
): Promise<void> {
  const summary = summaryOf(r);
  if (!ctx.journal || summary === undefined) return;
  if (error === undefined && ran.length === 0) return;
  const result: ChangeResult = error === undefined ? 'done' : ran.length ? failureResult(error) : 'refused';
  const name = r.op === 'hello' ? undefined : r.name;
  try {
    await ctx.journal.write(
      journalFields({
        command: `serve ${r.op}`,
        result,
        subject: {
          states: name ? [name] : [],
          slots: r.op === 'promote' ? [r.slot] : [],
          snapshots: r.op === 'receive' || r.op === 'promote' ? [r.snapshot] : [],
          remotes: [],
        },
        invoker: ctx.invoker ?? { uid: null, user: null, sudoUser: null, sshConnection: null },
        summary,
        steps: [...ran],
        error: error === undefined ? undefined : errorOf(error),
        pid: process.pid,
        version: VERSION,
      }),
    );
  } catch {
    // Logging never breaks a command (the writer swallows its own failures too).
  }
}
