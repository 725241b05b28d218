import type { Context } from '../cli/context.js';
import type { Output } from '../cli/output.js';
import { VmStateError } from '../core/errors.js';
import { IDENTIFIER, LOG_FIELDS, parseJournal, type Invoker, type LogEntry } from '../core/journal.js';
import { MAX_EXISTING, validateName } from '../core/names.js';
import type { ActionSpec, Input } from './spec.js';

/** What `vm-state log` was asked. */
export interface LogQuery {
  state: string | null;
  slot: string | null;
  since: string | null;
  until: string | null;
  lines: number | null;
}

/** The options, checked: names as names, a positive whole number of lines; times are journalctl's to read. */
export function logQuery(input: Input): LogQuery {
  const text = (k: string) => (typeof input[k] === 'string' ? (input[k] as string) : null);
  const state = text('state');
  const slot = text('slot');
  if (state !== null) validateName('state', state, MAX_EXISTING);
  // A slot no longer configured still has its history: checked as a name, not against the slots.
  if (slot !== null) validateName('state', slot, MAX_EXISTING);
  const lines = text('lines');
  if (lines !== null && !/^[1-9]\d{0,8}$/.test(lines))
    throw new VmStateError('usage', `--lines must be a whole number above 0, got ${JSON.stringify(lines)}`);
  return {
    state,
    slot,
    since: text('since'),
    until: text('until'),
    lines: lines === null ? null : Number(lines),
  };
}

/**
 * The journalctl command line: vm-state's entries, matched by journald's own index (fields of
 * different names must all match). `--all`: else a field longer than 4096 bytes (a big plan's
 * steps) comes as null. `-n` only without --since and --until: with them journalctl counts from
 * the oldest, so the newest N are taken after reading (logTail).
 */
export function journalctlArgv(q: LogQuery): string[] {
  return [
    'journalctl',
    '--output=json',
    '--all',
    '--no-pager',
    `--output-fields=${LOG_FIELDS.join(',')}`,
    ...(q.since !== null ? [`--since=${q.since}`] : []),
    ...(q.until !== null ? [`--until=${q.until}`] : []),
    ...(q.lines !== null && q.since === null && q.until === null ? [`--lines=${q.lines}`] : []),
    `SYSLOG_IDENTIFIER=${IDENTIFIER}`,
    ...(q.state !== null ? [`VMSTATE_STATE=${q.state}`] : []),
    ...(q.slot !== null ? [`VMSTATE_SLOT=${q.slot}`] : []),
  ];
}

/** The newest `lines` entries, newest last (journalctl gives them oldest first). */
export const logTail = (entries: LogEntry[], q: LogQuery) =>
  q.lines === null ? entries : entries.slice(-q.lines);

/** `alice (sudo, uid 0) from 192.0.2.7`: who, as sudo and ssh said. */
export function whoText(w: Invoker): string {
  const uid = w.uid !== null ? `, uid ${w.uid}` : '';
  const base =
    w.sudoUser !== null
      ? `${w.sudoUser} (sudo${w.user !== null ? ` to ${w.user}` : ''}${uid})`
      : w.user !== null
        ? `${w.user}${w.uid !== null ? ` (uid ${w.uid})` : ''}`
        : w.uid !== null
          ? `uid ${w.uid}`
          : 'unknown';
  return w.sshConnection !== null ? `${base} from ${w.sshConnection.split(' ')[0]}` : base;
}

/** `state dev, slot slot2`: what it was about. */
export function subjectText(e: LogEntry): string {
  const parts = [
    ...e.subject.states.map((s) => `state ${s}`),
    ...e.subject.slots.map((s) => `slot ${s}`),
    ...e.subject.snapshots.map((s) => `snapshot ${s}`),
    ...e.subject.remotes.map((s) => `remote ${s}`),
  ];
  return parts.join(', ');
}

const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

export function renderLog(out: Output, entries: LogEntry[]): void {
  const c = out.c;
  if (entries.length === 0) {
    out.text('  (no entries)');
    return;
  }
  const colour = (r: LogEntry['result']) =>
    r === 'done' ? c.green(r) : r === 'refused' ? c.yellow(r) : r === null ? '-' : c.red(r);
  for (const e of entries) {
    if (e.command === null) {
      // Not one of vm-state's entries (another tool logging as vm-state): as journalctl shows it.
      out.text(`${when(e.time)}  ${e.message}`);
      continue;
    }
    const subject = subjectText(e);
    out.text(
      `${c.bold(when(e.time))}  ${c.bold(e.command)}  ${colour(e.result)}` +
        `${subject ? `  ${subject}` : ''}  by ${whoText(e.who)}`,
    );
    if (e.summary !== null) out.text(`    ${e.summary}`);
    if (e.error !== null) out.text(`    ${c.red('error:')} ${e.error.message}`);
    e.steps.forEach((s, i) => out.text(`      ${i + 1}. ${s}`));
  }
}

async function runLog(ctx: Context, input: Input): Promise<void> {
  const q = logQuery(input);
  const [{ readJournal }, { LogOut }] = await Promise.all([
    import('../io/journal.js'),
    import('../schemas/output.js'),
  ]);
  const { stdout, stderr } = await readJournal(ctx.runner, journalctlArgv(q));
  const entries = logTail(parseJournal(stdout), q);
  // journalctl's hint to a user who cannot read the system journal (not in adm or systemd-journal).
  if (stderr.trim()) ctx.out.warn(`journalctl: ${stderr.trim().replace(/\s*\n\s*/g, ' ')}`);
  if (ctx.out.json) ctx.out.document(LogOut, { filters: q, entries });
  else renderLog(ctx.out, entries);
}

export const log: ActionSpec = {
  kind: 'action',
  name: 'log',
  agent: { output: 'log' },
  args: [],
  options: [
    { flags: '--state <state>', description: 'only changes that touched this state' },
    { flags: '--slot <slot>', description: 'only changes that touched this slot' },
    { flags: '--since <time>', description: "from this time on, as journalctl reads it: 'yesterday', '-2h'" },
    { flags: '--until <time>', description: 'up to this time, as journalctl reads it' },
    { flags: '--lines <n>', description: 'only the newest n entries' },
  ],
  description: 'what changed, when, and who did it: every mutating command, read back from the journal',
  readme: [
    {
      usage: '`vm-state log [--state S] [--slot S] [--since T] [--until T] [--lines N]`',
      text:
        'every change, refusal and undone failure from the systemd journal, newest last: time, command, ' +
        'result, what it touched, who ran it (sudo, ssh), the steps (no `journalctl`: exit 1); see "Journal"',
    },
  ],
  run: async (ctx, input) => runLog(ctx(), input),
};
