/**
 * The systemd journal: an entry for every change (written), and `vm-state log` (read).
 *
 * Written with `logger --journald` (util-linux), one short process per entry, only after a
 * mutating command decided or ran its plan: never on a read-only path. Not the native protocol
 * (a datagram to /run/systemd/journal/socket): Node has no unix datagram socket, and a native
 * addon would be a compiled dependency the single-file bundle cannot carry. systemd-cat cannot
 * carry fields (it writes to journald's stream socket: MESSAGE and PRIORITY only); logger
 * --journald passes each `FIELD=value` line to sd_journal_sendv, which is the native protocol.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Invoker, JournalField } from '../core/journal.js';
import { VmStateError } from '../core/errors.js';
import type { Runner } from './runner.js';

export const JOURNAL_SOCKET = '/run/systemd/journal/socket';

/** Where entries go. Never throws, never rejects: logging must not break a command. */
export interface JournalWriter {
  write(fields: readonly JournalField[]): Promise<void>;
}

/**
 * The entry as `logger --journald` reads it: a field a line, ended by the end of input (an
 * empty line would end it early). MESSAGE's lines each become a `MESSAGE=` line, which logger
 * joins again with newlines; any other field is one line already (core/journal.ts).
 */
export function loggerInput(fields: readonly JournalField[]): string {
  const lines: string[] = [];
  for (const [name, value] of fields) {
    if (name === 'MESSAGE') lines.push(...value.split('\n').map((l) => `MESSAGE=${l}`));
    else lines.push(`${name}=${value.replace(/[\r\n]+/g, ' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes each entry with `logger --journald`; no journald (its socket missing) is a quiet skip. */
export class LoggerJournal implements JournalWriter {
  constructor(
    /** Says what happened to an entry (VM_STATE_TRACE=1 or VM_STATE_VERBOSE=1). */
    private readonly trace: (message: string) => void = () => {},
    private readonly socket = JOURNAL_SOCKET,
    private readonly logger = 'logger',
    private readonly timeoutMs = 5000,
  ) {}

  async write(fields: readonly JournalField[]): Promise<void> {
    if (!existsSync(this.socket)) {
      this.trace(`no journald here (${this.socket} is missing): this change is not logged`);
      return;
    }
    const started = performance.now();
    const outcome = await new Promise<string | undefined>((resolve) => {
      let settled = false;
      const done = (why?: string) => {
        if (!settled) ((settled = true), resolve(why));
      };
      let stderr = '';
      try {
        const child = spawn(this.logger, ['--journald'], {
          stdio: ['pipe', 'ignore', 'pipe'],
          env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
          timeout: this.timeoutMs,
          // Its own process group, as every child of vm-state: a Ctrl-C at the terminal is vm-state's.
          detached: true,
        });
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', (e) => done(`could not run ${this.logger}: ${e.message}`));
        child.on('close', (code, signal) =>
          done(
            code === 0
              ? undefined
              : `${this.logger} --journald ${signal ? `was killed by ${signal}` : `exited ${code}`}` +
                  (stderr.trim() ? `: ${stderr.trim()}` : ''),
          ),
        );
        child.stdin?.on('error', () => {}); // it died before reading: 'close' says why
        child.stdin?.end(loggerInput(fields));
      } catch (e) {
        done(`could not run ${this.logger}: ${(e as Error).message}`);
      }
    });
    const ms = (performance.now() - started).toFixed(1);
    this.trace(outcome ? `${outcome}: this change is not logged` : `logged (${this.logger}, ${ms} ms)`);
  }
}

/** Keeps the entries in memory: what tests read instead of the journal. */
export class MemoryJournal implements JournalWriter {
  readonly entries: JournalField[][] = [];
  async write(fields: readonly JournalField[]): Promise<void> {
    this.entries.push([...fields]);
  }
}

/** Who runs this process: its uid and user name; from the environment, sudo's user and ssh's connection. */
export function invoker(env: NodeJS.ProcessEnv, uid = process.getuid?.() ?? null): Invoker {
  let user: string | null = null;
  try {
    user = userInfo().username;
  } catch {
    // a uid without a passwd entry: the uid says it
  }
  const nonEmpty = (s: string | undefined) => (s === undefined || s === '' ? null : s);
  return {
    uid,
    user,
    sudoUser: nonEmpty(env.SUDO_USER),
    sshConnection: nonEmpty(env.SSH_CONNECTION),
  };
}

/**
 * `journalctl argv...` (vm-state log): its standard output, and what it said on standard error
 * (a hint for a user who may not read the system journal). Missing is exit 1 with what to do; a
 * time it cannot parse is a usage error (exit 2); any other failure exit 1 with its message.
 */
export async function readJournal(
  runner: Runner,
  argv: readonly string[],
): Promise<{ stdout: string; stderr: string }> {
  const r = await runner.run(argv);
  if (r.exitCode === 0) return { stdout: r.stdout, stderr: r.stderr };
  const said = r.stderr.trim().split('\n')[0]?.trim() || `exit code ${r.exitCode}`;
  if (r.exitCode === 127)
    throw new VmStateError('failed', `journalctl is not available: ${said}`, {
      hint: 'vm-state log reads the systemd journal with journalctl: run it where systemd is',
    });
  if (/parse (?:timestamp|time)|invalid time|--since|--until/i.test(said))
    throw new VmStateError('usage', `journalctl: ${said}`, {
      hint: "Times as journalctl takes them: 'yesterday', 'today', '-2h', '2025-06-01 12:00'",
    });
  throw new VmStateError('failed', `${argv.join(' ')}: ${said}`);
}
