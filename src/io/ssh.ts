import { lstatSync, mkdirSync } from 'node:fs';
import { VmStateError } from '../core/errors.js';
import type { Remote } from '../schemas/config.js';
import {
  decodeRequest,
  encodeRequest,
  PROTOCOL,
  Reply,
  RESULT_OF,
  type RequestBody,
  type ResultOf,
} from '../schemas/protocol.js';
import type { RunResult, Runner } from './runner.js';

/**
 * ssh to another hypervisor's vm-state, never to a shell of our own making:
 * every session runs `vm-state serve --request <base64url>` there. BatchMode
 * (a prompt would hang a timer), the user's ssh_config, and one connection for
 * the whole command (ControlMaster, its socket in a directory only we can enter).
 */
export class RemoteLink {
  private opened = false;

  constructor(
    private readonly runner: Runner,
    readonly name: string,
    readonly remote: Remote,
    private readonly runDir: string,
  ) {}

  /** Made when a command line is: /run may have been emptied since (a reboot, a test's reset). */
  private get controlDir(): string | undefined {
    return privateDir(`${this.runDir}/ssh`);
  }

  /** ssh's own options, before the destination. */
  private options(): string[] {
    const r = this.remote;
    const o = ['-T', '-o', 'BatchMode=yes'];
    const dir = this.controlDir;
    if (dir)
      o.push(
        ...['-o', 'ControlMaster=auto', '-o', `ControlPath=${dir}/%C`],
        // Short: the connection outlives the command only if `close` is never reached (kill -9).
        ...['-o', 'ControlPersist=15'],
      );
    if (r.port !== undefined) o.push('-p', String(r.port));
    if (r.identity !== undefined) o.push('-i', r.identity, '-o', 'IdentitiesOnly=yes');
    for (const [k, v] of Object.entries(r.sshOptions)) o.push('-o', `${k}=${v}`);
    return o;
  }

  /** The full ssh command line of one request. */
  argv(request: RequestBody): string[] {
    const body = encodeRequest({ protocol: PROTOCOL, ...request } as never);
    return ['ssh', ...this.options(), '--', this.remote.destination, 'vm-state', 'serve', '--request', body];
  }

  /** Sends a request and returns its checked result. */
  async call<Op extends keyof typeof RESULT_OF>(request: RequestBody & { op: Op }): Promise<ResultOf<Op>> {
    this.opened = true;
    const r = await this.runner.run(this.argv(request), { timeout: 120_000 });
    return this.result(request.op, r);
  }

  /** The remote's answer to a request, or the error it means. */
  result<Op extends keyof typeof RESULT_OF>(op: Op, r: RunResult): ResultOf<Op> {
    const reply = lastReply(r.stdout);
    if (reply === undefined) throw this.noReply(r);
    if (reply.protocol !== PROTOCOL)
      throw new VmStateError(
        'remote',
        `Remote '${this.name}' speaks vm-state protocol ${reply.protocol}, this one ${PROTOCOL}`,
        { hint: 'Install the same vm-state version on both hypervisors' },
      );
    if (!reply.ok) {
      const code = (KNOWN_CODES as readonly string[]).includes(reply.error.code)
        ? (reply.error.code as (typeof KNOWN_CODES)[number])
        : 'failed';
      throw new VmStateError(code, `On remote '${this.name}': ${reply.error.message}`, {
        hint: reply.error.hint,
      });
    }
    const parsed = RESULT_OF[op].safeParse(reply.result);
    if (!parsed.success)
      throw new VmStateError('remote', `Remote '${this.name}' sent a malformed '${op}' answer`);
    return parsed.data as ResultOf<Op>;
  }

  private noReply(r: RunResult): VmStateError {
    const why = lastLine(r.stderr) || lastLine(r.stdout) || `exit code ${r.exitCode}`;
    const where = `remote '${this.name}' (${this.remote.destination})`;
    if (r.exitCode === 255)
      return new VmStateError('remote', `Cannot reach ${where}: ${why}`, {
        hint: `Check it with: ssh ${this.remote.destination} (keys, host key, ssh_config)`,
      });
    if (r.exitCode === 127 && /not found|No such file/.test(r.stderr))
      return new VmStateError('remote', `No vm-state on ${where}: ${why}`, {
        hint: 'Install vm-state there (the same version), on the PATH of ssh sessions',
      });
    return new VmStateError('remote', `No answer from vm-state on ${where}: ${why}`);
  }

  /** Ends the shared connection, if one was made. */
  async close(): Promise<void> {
    if (!this.opened || !this.controlDir) return;
    await this.runner.run(['ssh', ...this.options(), '-O', 'exit', '--', this.remote.destination], {
      timeout: 10_000,
    });
  }
}

/** The op of an ssh command line `argv` made: its request is the last word. */
export function requestOp(argv: readonly string[]): keyof typeof RESULT_OF {
  const op = (decodeRequest(argv.at(-1) ?? '') as { op?: string }).op;
  if (op === undefined || !(op in RESULT_OF))
    throw new Error(`not a vm-state serve command line: ${argv[0]}`);
  return op as keyof typeof RESULT_OF;
}

/** The codes a remote error may carry through to our exit status. */
const KNOWN_CODES = [
  'not-found',
  'exists',
  'conflict',
  'busy',
  'permission',
  'invalid-name',
  'usage',
] as const;

const lastLine = (s: string) => s.trim().split('\n').at(-1)?.trim() ?? '';

/** The last line of `stdout` that is a protocol reply. */
export function lastReply(stdout: string): Reply | undefined {
  for (const line of stdout.trim().split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      const r = Reply.safeParse(JSON.parse(line));
      if (r.success) return r.data;
    } catch {
      // Not JSON: keep looking.
    }
  }
  return undefined;
}

/** A directory only this user can enter (ssh refuses a control socket elsewhere); undefined if it cannot be made. */
function privateDir(path: string): string | undefined {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    const st = lstatSync(path);
    const mine = st.isDirectory() && st.uid === process.geteuid?.() && (st.mode & 0o077) === 0;
    return mine ? path : undefined;
  } catch {
    return undefined;
  }
}
