import type { Context } from '../cli/context.js';
import type { Input } from '../commands/spec.js';
import { humanBytes } from '../core/bytes.js';
import { VmStateError } from '../core/errors.js';
import { shown, validateName } from '../core/names.js';
import { readConfigJson, writeConfigJson } from '../io/config-file.js';
import { describeIssues } from '../io/config.js';
import { RemoteCheckOut, RemotesOut } from '../schemas/output.js';
import { RemoteSchema, type Remote } from '../schemas/config.js';
import { PROTOCOL } from '../schemas/protocol.js';
import { VERSION } from '../version.js';
import { linkTo } from './send-command.js';

const remoteName = (input: Input) => validateName('remote', String(input.name));

/** Changes the config file's `remotes`, or with --dry-run prints what the file would be. */
function editRemotes(
  ctx: Context,
  write: (text: string) => void,
  change: (remotes: Record<string, unknown>) => void,
  done: string,
): void {
  const json = readConfigJson(ctx.configFile);
  const remotes = { ...((json.remotes as Record<string, unknown> | undefined) ?? {}) };
  change(remotes);
  const next = { ...json, remotes };
  if (ctx.dryRun) {
    if (ctx.out.json)
      ctx.out.document(RemotesOut, {
        file: ctx.configFile,
        dryRun: true,
        remotes: shownRemotes(next.remotes),
      });
    else {
      ctx.out.info(`Dry run: ${ctx.configFile} would be:`);
      write(`${JSON.stringify(next, null, 2)}\n`);
    }
    return;
  }
  try {
    writeConfigJson(ctx.configFile, next);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
      throw new VmStateError(
        code === 'EROFS' ? 'failed' : 'permission',
        `Cannot write ${ctx.configFile}: ${(e as Error).message}`,
      );
    throw e;
  }
  if (ctx.out.json)
    ctx.out.document(RemotesOut, {
      file: ctx.configFile,
      dryRun: false,
      remotes: shownRemotes(next.remotes),
    });
  else ctx.out.ok(done);
}

const shownRemotes = (remotes: Record<string, unknown>) =>
  Object.entries(remotes).map(([name, r]) => ({ name, ...(r as Remote) }));

export function remoteAdd(ctx: Context, input: Input, write: (text: string) => void): void {
  const name = remoteName(input);
  const options: Record<string, string> = {};
  for (const kv of (input.sshOption as string[] | undefined) ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new VmStateError('usage', `--ssh-option takes KEY=VALUE, got ${shown(kv)}`);
    options[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const port = input.port === undefined ? undefined : Number(input.port);
  const parsed = RemoteSchema.safeParse({
    destination: String(input.destination),
    ...(port === undefined ? {} : { port }),
    ...(input.identity === undefined ? {} : { identity: String(input.identity) }),
    sshOptions: options,
  });
  if (!parsed.success)
    throw new VmStateError('usage', `Invalid remote ${shown(name)}: ${describeIssues(parsed.error)}`);
  const existed = name in ctx.config.remotes;
  editRemotes(
    ctx,
    write,
    (remotes) => void (remotes[name] = parsed.data),
    `${existed ? 'Changed' : 'Added'} remote '${name}' (${parsed.data.destination})`,
  );
}

export function remoteRemove(ctx: Context, input: Input, write: (text: string) => void): void {
  const name = remoteName(input);
  if (!(name in ctx.config.remotes))
    throw new VmStateError('not-found', `No remote '${name}' in the configuration`);
  editRemotes(ctx, write, (remotes) => void delete remotes[name], `Removed remote '${name}'`);
}

export function remoteList(ctx: Context): void {
  const remotes = shownRemotes(ctx.config.remotes);
  if (ctx.out.json) return ctx.out.document(RemotesOut, { file: ctx.configFile, dryRun: false, remotes });
  if (remotes.length === 0)
    return ctx.out.info('No remotes. Add one: vm-state remote add <name> <ssh-destination>');
  for (const r of remotes) {
    const extra = [
      r.port !== undefined ? `port ${r.port}` : '',
      r.identity ? `key ${r.identity}` : '',
      ...Object.entries(r.sshOptions).map(([k, v]) => `-o ${k}=${v}`),
    ].filter(Boolean);
    ctx.out.text(`${r.name}\t${r.destination}${extra.length ? `\t${extra.join(', ')}` : ''}`);
  }
}

export async function remoteCheck(ctx: Context, input: Input): Promise<void> {
  const name = remoteName(input);
  if (!(name in ctx.config.remotes))
    throw new VmStateError('not-found', `No remote '${name}' in the configuration`);
  const link = linkTo(ctx, name);
  try {
    const hello = await link.call({ op: 'hello' });
    const doc = { name, destination: ctx.config.remotes[name]!.destination, protocol: PROTOCOL, ...hello };
    if (ctx.out.json) return ctx.out.document(RemoteCheckOut, doc);
    ctx.out.ok(
      `Reached '${name}' (${doc.destination}): ${hello.host}, vm-state ${hello.version} (protocol ${PROTOCOL})`,
    );
    if (hello.version !== VERSION) ctx.out.warn(`Its vm-state is ${hello.version}, this one ${VERSION}`);
    ctx.out.info(
      `States under ${hello.parent}: ${hello.states}; free: ${humanBytes(hello.available)}; ZFS: ${hello.openZfs ? 'OpenZFS' : 'zfs-fuse'}`,
    );
    for (const s of hello.slots)
      ctx.out.text(`  ${s.name}\t${s.state}\t${s.running ? 'running' : 'stopped'}`);
  } finally {
    await link.close();
  }
}
