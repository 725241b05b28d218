/**
 * The journal of changes, as data: which fields a mutating command's entry carries, and how
 * `journalctl -o json` output reads back. No I/O here (io/journal.ts writes and reads).
 *
 * Every field but MESSAGE is one line: the writer is `logger --journald` (io/journal.ts says why),
 * which reads one field per line and joins only repeated MESSAGE lines with newlines. Lists are
 * therefore JSON arrays (VMSTATE_STEPS) or repeated fields (VMSTATE_STATE: journald keeps each
 * distinct value, in no order, and `journalctl VMSTATE_STATE=x` matches any of them).
 */
import type { Facts } from './facts.js';
import type { Plan, Step } from './plan.js';
import { describeStep } from './plan.js';

/** What became of a change: one MESSAGE_ID and one priority each. */
export type ChangeResult = 'done' | 'undone' | 'failed' | 'refused';

/**
 * One fixed 128-bit id per kind of event, as systemd's catalog ids (made with `systemd-id128 new`):
 * `journalctl MESSAGE_ID=...` finds every event of that kind, whatever the wording of its message.
 */
export const MESSAGE_IDS: Readonly<Record<ChangeResult, string>> = {
  /** The plan ran to its end. */
  done: 'f46211fc8a554970b195aae4e068e880',
  /** A step failed (or the run was interrupted, or lost its lock) and every step that ran was undone. */
  undone: '46109a39037b48aaba559d72927e0c80',
  /** A step failed and not all is as before: past a commit point, something kept, or an undo failed. */
  failed: '9d56bba5e97b4b77b0fa56622cec3e84',
  /** Refused before any step ran: a guard said no (exists, conflict, not found...), or no confirmation. */
  refused: '7dd52ab3a7ca48d1b118b2c1b8dae098',
};

/** syslog priorities: notice for a change, warning for a refusal, err when undone, crit when half done. */
export const PRIORITIES: Readonly<Record<ChangeResult, number>> = {
  done: 5,
  refused: 4,
  undone: 3,
  failed: 2,
};

const WORDS: Readonly<Record<ChangeResult, string>> = {
  done: 'done',
  undone: 'failed, and undone',
  failed: 'FAILED, not all undone',
  refused: 'refused',
};

/** What a change is about: each list one journal field, repeated per value. */
export interface Subject {
  states: string[];
  slots: string[];
  snapshots: string[];
  remotes: string[];
}

/** What a command with its own run says it is about (send, migrate to a remote). */
export interface SubjectInput {
  state?: string;
  slot?: string;
  snapshot?: string;
  remote?: string;
}

/** Who ran the command: from the process and its environment. */
export interface Invoker {
  uid: number | null;
  /** The user name of uid. */
  user: string | null;
  /** Who ran sudo, when run through it. */
  sudoUser: string | null;
  /** `client-ip client-port server-ip server-port`, when run from an ssh session. */
  sshConnection: string | null;
}

export interface ChangeEvent {
  command: string;
  result: ChangeResult;
  subject: Subject;
  invoker: Invoker;
  /** The plan's summary; absent when the refusal came before there was a plan. */
  summary?: string;
  /** The plan's steps, described as --dry-run prints them. */
  steps: string[];
  error?: { message: string; code: string; exitCode: number; failedStep?: string };
  pid: number;
  version: string;
  /** The token of the reviewed plan it ran or refused (apply, --expect-plan). */
  plan?: string;
}

/** A field name and one value; a name may repeat. */
export type JournalField = readonly [name: string, value: string];

export const IDENTIFIER = 'vm-state';
/** Steps listed in MESSAGE (for people and Loki's log line); VMSTATE_STEPS has them all. */
const MESSAGE_STEPS = 50;

/** An argument's kind as the spec says it (./../commands/spec.ts ArgKind), and the value given. */
export interface ArgValue {
  kind: string;
  value: string | boolean | string[] | undefined;
}

const emptySubject = (): Subject => ({ states: [], slots: [], snapshots: [], remotes: [] });

/** What the arguments name, by their kinds: a slot, a state, a snapshot, `state@snap`. */
export function subjectOfArgs(args: readonly ArgValue[], extra: SubjectInput = {}): Subject {
  const s = emptySubject();
  for (const { kind, value } of args) {
    const values = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
    for (const v of values) {
      if (kind === 'slot') s.slots.push(v);
      else if (kind === 'state' || kind === 'new-state') s.states.push(v);
      else if (kind === 'snapshot') s.snapshots.push(v);
      else if (kind === 'snapshot-ref') {
        const at = v.indexOf('@');
        if (at >= 0) s.states.push(v.slice(0, at));
        s.snapshots.push(at >= 0 ? v.slice(at + 1) : v);
      }
    }
  }
  if (extra.state) s.states.push(extra.state);
  if (extra.slot) s.slots.push(extra.slot);
  if (extra.snapshot) s.snapshots.push(extra.snapshot);
  if (extra.remote) s.remotes.push(extra.remote);
  return s;
}

/**
 * The subject widened by what was decided: the state a named slot had (a snapshot of slot1 is
 * about its state too), the slots and states the plan stops and starts (a migrate stops the state
 * that ran there), and the states whose datasets its zfs commands name (a restore's source). So
 * `vm-state log --state X` finds every change to X, however it was named.
 */
export function widenSubject(subject: Subject, facts?: Facts, plan?: Plan): Subject {
  const s: Subject = {
    states: [...subject.states],
    slots: [...subject.slots],
    snapshots: [...subject.snapshots],
    remotes: [...subject.remotes],
  };
  for (const slot of subject.slots) {
    const state = facts?.slots.find((x) => x.name === slot)?.state;
    // A slot's own-name state by default only when it exists: else a name nothing ever had.
    if (state && (facts!.assignments[slot] !== undefined || facts!.states.has(state))) s.states.push(state);
  }
  for (const step of plan?.steps ?? []) {
    if (step.kind === 'stop' || step.kind === 'start') {
      if (step.slot) s.slots.push(step.slot);
      if (step.state) s.states.push(step.state);
    }
    if (facts) for (const state of statesInArgv(step, facts.parent)) s.states.push(state);
  }
  return {
    states: unique(s.states),
    slots: unique(s.slots),
    snapshots: unique(s.snapshots),
    remotes: unique(s.remotes),
  };
}

/** States (direct children of the parent) that a zfs, pipe or send step names. */
function statesInArgv(step: Step, parent: string): string[] {
  if (step.kind !== 'zfs' && step.kind !== 'pipe' && step.kind !== 'send') return [];
  const argv = step.kind === 'pipe' ? [...step.argv, ...step.into] : step.argv;
  const prefix = `${parent}/`;
  return argv
    .filter((a) => a.startsWith(prefix))
    .map((a) => a.slice(prefix.length).split(/[@/#]/)[0]!)
    .filter((name) => name !== '');
}

const unique = (xs: string[]) => [...new Set(xs)];

/** The outcome of a plan the executor threw on: everything put back (undone), or not (failed). */
export function failureResult(error: unknown): 'undone' | 'failed' {
  const d = (error as { details?: unknown } | undefined)?.details as
    { committed?: unknown[]; kept?: unknown[]; undoFailed?: unknown[] } | undefined;
  if (!d || typeof d !== 'object') return 'failed';
  const left = (xs?: unknown[]) => Array.isArray(xs) && xs.length > 0;
  return left(d.committed) || left(d.kept) || left(d.undoFailed) ? 'failed' : 'undone';
}

/** The error's fields for the journal: what vm-state said, and which step failed. */
export function errorOf(error: unknown): ChangeEvent['error'] {
  const e = error as { message?: unknown; code?: unknown; exitCode?: unknown; details?: unknown };
  const failedStep = (e?.details as { failedStep?: unknown } | undefined)?.failedStep;
  return {
    message: typeof e?.message === 'string' ? e.message : String(error),
    code: typeof e?.code === 'string' ? e.code : 'failed',
    exitCode: typeof e?.exitCode === 'number' ? e.exitCode : 1,
    failedStep: typeof failedStep === 'string' ? failedStep : undefined,
  };
}

export const describedSteps = (plan?: Plan) => (plan?.steps ?? []).map(describeStep);

/** One line: a field other than MESSAGE may not hold a newline (see the top of this file). */
const oneLine = (s: string) => s.replace(/\s*[\r\n]+\s*/g, ' ').trim();

/** The entry's fields, in the order they are written. */
export function journalFields(e: ChangeEvent): JournalField[] {
  const head = `vm-state ${e.command}${e.summary ? `: ${oneLine(e.summary)}` : ''}: ${WORDS[e.result]}`;
  const lines = [e.error ? `${head}: ${oneLine(e.error.message)}` : head];
  lines.push(...e.steps.slice(0, MESSAGE_STEPS).map((s, i) => `  ${i + 1}. ${oneLine(s)}`));
  if (e.steps.length > MESSAGE_STEPS) lines.push(`  ... and ${e.steps.length - MESSAGE_STEPS} more steps`);
  const f: JournalField[] = [
    ['MESSAGE', lines.join('\n')],
    ['MESSAGE_ID', MESSAGE_IDS[e.result]],
    ['PRIORITY', String(PRIORITIES[e.result])],
    ['SYSLOG_IDENTIFIER', IDENTIFIER],
    // The writer is a child process: journald's _PID is its, this is vm-state's.
    ['SYSLOG_PID', String(e.pid)],
    ['VMSTATE_COMMAND', e.command],
    ['VMSTATE_RESULT', e.result],
  ];
  const add = (name: string, value: string | number | null | undefined) => {
    if (value !== undefined && value !== null && String(value) !== '') f.push([name, oneLine(String(value))]);
  };
  add('VMSTATE_SUMMARY', e.summary);
  e.subject.states.forEach((v) => add('VMSTATE_STATE', v));
  e.subject.slots.forEach((v) => add('VMSTATE_SLOT', v));
  e.subject.snapshots.forEach((v) => add('VMSTATE_SNAPSHOT', v));
  e.subject.remotes.forEach((v) => add('VMSTATE_REMOTE', v));
  // JSON, one line: the order of the steps matters, and a repeated field would lose it.
  f.push(['VMSTATE_STEPS', JSON.stringify(e.steps)]);
  add('VMSTATE_PLAN', e.plan);
  if (e.error) {
    add('VMSTATE_ERROR', e.error.message);
    add('VMSTATE_ERROR_CODE', e.error.code);
    add('VMSTATE_EXIT_STATUS', e.error.exitCode);
    add('VMSTATE_FAILED_STEP', e.error.failedStep);
  }
  add('VMSTATE_UID', e.invoker.uid);
  add('VMSTATE_USER', e.invoker.user);
  add('VMSTATE_SUDO_USER', e.invoker.sudoUser);
  add('VMSTATE_SSH_CONNECTION', e.invoker.sshConnection);
  add('VMSTATE_VERSION', e.version);
  return f;
}

/** An entry as `vm-state log` shows it. */
export interface LogEntry {
  /** ISO 8601, from journald's own receive time. */
  time: string;
  command: string | null;
  result: ChangeResult | null;
  priority: number | null;
  messageId: string | null;
  summary: string | null;
  message: string;
  subject: Subject;
  who: Invoker;
  steps: string[];
  error: { message: string; code: string | null; exitCode: number | null; failedStep: string | null } | null;
  pid: number | null;
  host: string | null;
}

/** The fields `vm-state log` asks journalctl for (`--output-fields`): nothing else is read. */
export const LOG_FIELDS = [
  'MESSAGE',
  'MESSAGE_ID',
  'PRIORITY',
  'SYSLOG_PID',
  '_PID',
  '_HOSTNAME',
  'VMSTATE_COMMAND',
  'VMSTATE_RESULT',
  'VMSTATE_SUMMARY',
  'VMSTATE_STATE',
  'VMSTATE_SLOT',
  'VMSTATE_SNAPSHOT',
  'VMSTATE_REMOTE',
  'VMSTATE_STEPS',
  'VMSTATE_ERROR',
  'VMSTATE_ERROR_CODE',
  'VMSTATE_EXIT_STATUS',
  'VMSTATE_FAILED_STEP',
  'VMSTATE_UID',
  'VMSTATE_USER',
  'VMSTATE_SUDO_USER',
  'VMSTATE_SSH_CONNECTION',
] as const;

/**
 * A field's values as `journalctl -o json` gives them: a string; an array of bytes when it is
 * not printable UTF-8; an array of those when the field repeats; null when too long (--all
 * prevents that).
 */
function values(raw: unknown): string[] {
  const one = (v: unknown): string | undefined =>
    typeof v === 'string'
      ? v
      : Array.isArray(v) && v.every((b) => typeof b === 'number')
        ? Buffer.from(v as number[]).toString('utf8')
        : undefined;
  if (Array.isArray(raw) && !raw.every((b) => typeof b === 'number'))
    return raw.map(one).filter((v): v is string => v !== undefined);
  const v = one(raw);
  return v === undefined ? [] : [v];
}

const RESULTS: readonly string[] = ['done', 'undone', 'failed', 'refused'];

const intOrNull = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : null);

/** The steps field: a JSON array of strings; anything else (another writer's) as lines. */
function stepsOf(text: string | undefined): string[] {
  if (text === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.every((s) => typeof s === 'string')) return parsed;
  } catch {
    // not JSON: below
  }
  return text.split('\n').filter((l) => l !== '');
}

/** Parses `journalctl -o json` output (one object a line) into entries, in the order given. */
export function parseJournal(text: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // journalctl's own notices are not JSON
    }
    if (typeof o !== 'object' || o === null) continue;
    const all = (k: string) => values(o[k]);
    const first = (k: string): string | undefined => all(k)[0];
    const micros = first('__REALTIME_TIMESTAMP');
    const result = first('VMSTATE_RESULT');
    const errorMessage = first('VMSTATE_ERROR');
    entries.push({
      time: micros && /^\d+$/.test(micros) ? new Date(Number(BigInt(micros) / 1000n)).toISOString() : '',
      command: first('VMSTATE_COMMAND') ?? null,
      result: result !== undefined && RESULTS.includes(result) ? (result as ChangeResult) : null,
      priority: intOrNull(first('PRIORITY')),
      messageId: first('MESSAGE_ID') ?? null,
      summary: first('VMSTATE_SUMMARY') ?? null,
      message: first('MESSAGE') ?? '',
      subject: {
        states: all('VMSTATE_STATE').sort(),
        slots: all('VMSTATE_SLOT').sort(),
        snapshots: all('VMSTATE_SNAPSHOT').sort(),
        remotes: all('VMSTATE_REMOTE').sort(),
      },
      who: {
        uid: intOrNull(first('VMSTATE_UID')),
        user: first('VMSTATE_USER') ?? null,
        sudoUser: first('VMSTATE_SUDO_USER') ?? null,
        sshConnection: first('VMSTATE_SSH_CONNECTION') ?? null,
      },
      steps: stepsOf(first('VMSTATE_STEPS')),
      error:
        errorMessage === undefined
          ? null
          : {
              message: errorMessage,
              code: first('VMSTATE_ERROR_CODE') ?? null,
              exitCode: intOrNull(first('VMSTATE_EXIT_STATUS')),
              failedStep: first('VMSTATE_FAILED_STEP') ?? null,
            },
      pid: intOrNull(first('SYSLOG_PID') ?? first('_PID')),
      host: first('_HOSTNAME') ?? null,
    });
  }
  return entries;
}
