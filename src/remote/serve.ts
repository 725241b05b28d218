import { VmStateError } from '../core/errors.js';
import { datasetOf, parentDataset } from '../core/layout.js';
import { validateName, validateSlot } from '../core/names.js';
import { now, stamp } from '../core/clock.js';
import { migrate } from '../commands/migrate.js';
import { Executor } from '../io/executor.js';
import { readAssignments } from '../io/assignments-file.js';
import { CommandError, runChecked, type Runner } from '../io/runner.js';
import { withLock } from '../io/lock.js';
import { isOpenZfs } from '../io/zfs-flavour.js';
import type { Config } from '../schemas/config.js';
import { decodeRequest, PROTOCOL, Request, type Reply } from '../schemas/protocol.js';
import type { ResultOf } from '../schemas/protocol.js';
import { VERSION } from '../version.js';
import { parseTarget, PROP, TARGET_HOLD, targetGetArgv, type TargetRecord } from './target.js';
import { System } from '../io/system.js';
import { thisHost } from './send-facts.js';
import { isRunning } from '../core/facts.js';

/**
 * `vm-state serve`: the far end of `send`, run by ssh. It answers one request
 * (see schemas/protocol.ts) and exits; it never runs anything a request names,
 * only the zfs commands its own code decides on, under its own lock, for names
 * it validated itself. Safe as an authorized_keys forced command.
 */

/** What `command="vm-state serve"` lets through: `[path/]vm-state serve --request <base64url>`. */
const FORCED = /^(?:\/[^\s]*\/)?vm-state serve --request ([A-Za-z0-9_-]{1,65536})$/;

/** The request's text, from the command line or (forced command) from SSH_ORIGINAL_COMMAND. */
export function requestText(fromArgv: string | undefined, env: NodeJS.ProcessEnv): string {
  const original = env.SSH_ORIGINAL_COMMAND;
  if (original !== undefined) {
    const m = FORCED.exec(original);
    if (!m) throw new VmStateError('usage', 'This key may only run vm-state serve requests');
    return m[1]!;
  }
  if (fromArgv === undefined)
    throw new VmStateError('usage', 'vm-state serve takes --request (it is run by vm-state send over ssh)');
  return fromArgv;
}

export function parseRequest(text: string): Request {
  let json: unknown;
  try {
    json = decodeRequest(text);
  } catch {
    throw new VmStateError('usage', 'The request is not base64url-encoded JSON');
  }
  const version = (json as { protocol?: unknown } | null)?.protocol;
  if (version !== PROTOCOL)
    throw new VmStateError(
      'remote',
      `This vm-state speaks protocol ${PROTOCOL}, the request ${String(version)}`,
      {
        hint: 'Install the same vm-state version on both hypervisors',
      },
    );
  const r = Request.safeParse(json);
  if (!r.success) throw new VmStateError('usage', `Bad request: ${r.error.issues[0]?.message ?? 'invalid'}`);
  validateName('state', r.data.op === 'hello' ? 'x' : r.data.name);
  return r.data;
}

export const replyOk = (result: unknown): Reply => ({ protocol: PROTOCOL, ok: true, result });
export const replyError = (e: VmStateError): Reply => ({
  protocol: PROTOCOL,
  ok: false,
  error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) },
});

export class Server {
  private readonly openZfs = isOpenZfs();

  constructor(
    private readonly runner: Runner,
    private readonly config: Config,
    private readonly waitSeconds: number,
  ) {}

  handle(r: Request): Promise<unknown> {
    switch (r.op) {
      case 'hello':
        return this.hello();
      case 'state':
        return this.state(r.name, r.source);
      case 'receive':
        return this.locked('receive', () => this.receive(r));
      case 'abort':
        return this.locked('abort', () => this.abort(r.name, r.source));
      case 'set-aside':
        return this.locked('set-aside', () => this.setAside(r.name, r.source, r.base));
      case 'promote':
        return this.locked('promote', () => this.promote(r));
    }
  }

  private locked<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return withLock(this.config.lockFile, this.waitSeconds, `vm-state serve ${op}`, () => fn());
  }

  private async hello(): Promise<ResultOf<'hello'>> {
    const facts = await new System(this.runner, this.config).facts();
    return {
      version: VERSION,
      host: thisHost(),
      parent: parentDataset(this.config),
      openZfs: this.openZfs,
      states: facts.states.size,
      available: await this.parentAvailable(),
      slots: facts.slots.map((s) => ({ name: s.name, state: s.state, running: isRunning(s.unit) })),
    };
  }

  private async parentAvailable(): Promise<number | null> {
    const r = await this.runner.run([
      'zfs',
      'get',
      '-H',
      '-p',
      '-o',
      'value',
      'available',
      parentDataset(this.config),
    ]);
    const v = r.stdout.trim();
    return r.exitCode === 0 && /^\d+$/.test(v) ? Number(v) : null;
  }

  private async target(name: string): Promise<TargetRecord> {
    const argv = targetGetArgv(this.config, name, this.openZfs);
    const r = await this.runner.run(argv);
    if (r.exitCode !== 0 && !/dataset does not exist/.test(r.stderr)) throw new CommandError(argv, r);
    const t = parseTarget(this.config, name, r.exitCode === 0 ? r.stdout : '');
    if (!t.exists) t.available = await this.parentAvailable();
    return t;
  }

  private async state(name: string, source: { host: string; state: string }): Promise<ResultOf<'state'>> {
    const t = await this.target(name);
    const assignments = readAssignments(this.config.assignmentsFile);
    return {
      ...t,
      assignedTo: Object.entries(assignments)
        .filter(([, s]) => s === name)
        .map(([slot]) => slot),
      receive: this.receiveArgvs(t.dataset, !t.exists, t.resumeToken !== null, source),
    };
  }

  /** The commands a receive runs here, in order (the stream goes into the first). */
  private receiveArgvs(
    dataset: string,
    fresh: boolean,
    resume: boolean,
    source: { host: string; state: string },
  ): string[][] {
    const replicaOf = `${PROP.replicaOf}=${source.host}:${source.state}`;
    if (this.openZfs) {
      // -u: never mounted; -s: a cut stream leaves a resume token; -o: a replica from its first byte.
      const props = resume ? [] : ['-o', 'readonly=on', '-o', 'canmount=noauto', '-o', replicaOf];
      return [['zfs', 'receive', '-u', '-s', ...props, dataset]];
    }
    // zfs-fuse: no -u, -s or -o. The receive mounts the dataset: the next steps make it a replica.
    return [
      ['zfs', 'receive', dataset],
      ...(fresh
        ? [
            ['zfs', 'set', replicaOf, dataset],
            ['zfs', 'set', 'canmount=noauto', dataset],
          ]
        : []),
      ['zfs', 'set', 'readonly=on', dataset],
      ['zfs', 'unmount', dataset],
    ];
  }

  /** A replica of `source` (or nothing yet): never a state of this hypervisor's own. */
  private requireReplica(t: TargetRecord, name: string, source: { host: string; state: string }): void {
    if (!t.exists) return;
    const from = `${source.host}:${source.state}`;
    if (t.replicaOf === null)
      throw new VmStateError('exists', `State '${name}' exists here and is not a replica: not touching it`, {
        hint: 'Send under another name: vm-state send <state> <remote>:<new-name>',
      });
    if (t.replicaOf !== from)
      throw new VmStateError(
        'conflict',
        `State '${name}' here is a replica of ${t.replicaOf}, not of ${from}`,
      );
  }

  private async receive(r: Extract<Request, { op: 'receive' }>): Promise<ResultOf<'receive'>> {
    const t = await this.target(r.name);
    this.requireReplica(t, r.name, r.source);
    const assigned = Object.entries(readAssignments(this.config.assignmentsFile)).filter(
      ([, s]) => s === r.name,
    );
    if (assigned.length > 0)
      throw new VmStateError(
        'conflict',
        `State '${r.name}' is assigned to ${assigned.map(([s]) => s).join(', ')} here`,
      );
    if (r.resume) {
      if (t.resumeToken === null)
        throw new VmStateError('conflict', `No cut receive to resume into '${r.name}'`);
    } else if (r.base === null) {
      if (t.exists)
        throw new VmStateError('exists', `A full send needs a new target, and '${r.name}' exists here`);
    } else {
      const newest = t.snapshots.at(-1);
      if (newest?.guid !== r.base)
        throw new VmStateError(
          'conflict',
          `'${r.name}' here changed since the send was planned (newest snapshot ${newest?.name ?? 'none'})`,
        );
    }
    const before = new Set(t.snapshots.map((s) => s.name));
    const [first, ...rest] = this.receiveArgvs(t.dataset, !t.exists, r.resume, r.source);
    const got = await this.runner.run(first!, { inheritStdin: true });
    if (got.exitCode !== 0) throw receiveError(first!, got);
    for (const argv of rest) {
      const r2 = await this.runner.run(argv);
      // canmount=noauto may have unmounted it already.
      if (r2.exitCode !== 0 && !(argv[1] === 'unmount' && /not currently mounted/.test(r2.stderr)))
        throw new CommandError(argv, r2);
    }
    const after = await this.target(r.name);
    const dataset = after.dataset;
    // The new base is held here, the old one let go: prune here cannot take the base away.
    const synced = new Date().toISOString();
    await runChecked(this.runner, ['zfs', 'set', `${PROP.synced}=${synced}`, dataset]);
    const newest = after.snapshots.at(-1);
    if (newest && newest.name === r.snapshot) {
      await this.runner.run(['zfs', 'hold', TARGET_HOLD, `${dataset}@${newest.name}`]);
      for (const s of after.snapshots.slice(0, -1))
        if (s.holds > 0) await this.runner.run(['zfs', 'release', TARGET_HOLD, `${dataset}@${s.name}`]);
    }
    return { dataset, snapshots: after.snapshots.map((s) => s.name).filter((n) => !before.has(n)) };
  }

  private async promote(r: Extract<Request, { op: 'promote' }>): Promise<ResultOf<'promote'>> {
    const t = await this.target(r.name);
    if (!t.exists) throw new VmStateError('not-found', `No replica '${r.name}' here`);
    if (t.replicaOf === null) throw new VmStateError('conflict', `'${r.name}' here is not a replica`);
    this.requireReplica(t, r.name, r.source);
    const newest = t.snapshots.at(-1);
    if (newest?.name !== r.snapshot)
      throw new VmStateError(
        'conflict',
        `'${r.name}' here is not at ${r.snapshot} (its newest: ${newest?.name ?? 'none'})`,
      );
    return promoteReplica(this.runner, this.config, r, t, (m) => process.stderr.write(`${m}\n`));
  }

  private async abort(name: string, source: { host: string; state: string }): Promise<ResultOf<'abort'>> {
    const t = await this.target(name);
    if (t.resumeToken === null) return {};
    // A partial first receive is not marked a replica yet: a token is only ours to drop on a replica or a new one.
    if (t.replicaOf !== null) this.requireReplica(t, name, source);
    await runChecked(this.runner, ['zfs', 'receive', '-A', t.dataset]);
    return {};
  }

  /**
   * `send --force`: the target's own snapshots (after `base`) and changes are kept
   * as the clone `<name>.diverged-<time>`; the target is back at `base`, its newest.
   * Rename the target aside, clone it back from `base`, promote the clone (the
   * snapshots up to `base` move to it, guids and holds with them).
   */
  private async setAside(
    name: string,
    source: { host: string; state: string },
    base: string,
  ): Promise<ResultOf<'set-aside'>> {
    const t = await this.target(name);
    if (!t.exists) throw new VmStateError('not-found', `No state '${name}' here`);
    this.requireReplica(t, name, source);
    const at = t.snapshots.findIndex((s) => s.guid === base);
    if (at < 0) throw new VmStateError('conflict', `'${name}' here has no snapshot with guid ${base}`);
    const keptName = `${name}.diverged-${stamp(new Date())}`;
    const kept = datasetOf(this.config, keptName);
    const dataset = t.dataset;
    const baseName = t.snapshots[at]!.name;
    await runChecked(this.runner, ['zfs', 'unmount', dataset]).catch(() => undefined);
    await runChecked(this.runner, ['zfs', 'rename', dataset, kept]);
    try {
      await runChecked(this.runner, [
        'zfs',
        'clone',
        '-o',
        'canmount=noauto',
        '-o',
        'readonly=on',
        `${kept}@${baseName}`,
        dataset,
      ]);
    } catch (e) {
      await this.runner.run(['zfs', 'rename', kept, dataset]);
      throw e;
    }
    await runChecked(this.runner, ['zfs', 'promote', dataset]);
    await runChecked(this.runner, ['zfs', 'set', `${PROP.replicaOf}=${t.replicaOf}`, dataset]);
    // What is kept aside is the operator's to look at: no longer a replica, never mounted by itself.
    await runChecked(this.runner, ['zfs', 'inherit', PROP.replicaOf, kept]);
    await runChecked(this.runner, ['zfs', 'set', `${PROP.replicaOf}=-`, kept]).catch(() => undefined);
    return { dataset, keptAs: keptName, snapshots: t.snapshots.slice(at + 1).map((s) => s.name) };
  }
}

/**
 * The replica becomes this host's live state on `slot`: writable, mounted, no longer a
 * replica, then migrated to the slot as `vm-state migrate` does (which undoes itself if
 * the start fails). If it fails, the replica is put back as it was.
 */
async function promoteReplica(
  runner: Runner,
  config: Config,
  r: Extract<Request, { op: 'promote' }>,
  t: TargetRecord,
  waitWarn: (m: string) => void,
): Promise<ResultOf<'promote'>> {
  const slot = validateSlot(r.slot, config.slots);
  const dataset = t.dataset;
  const replicaOf = t.replicaOf!;
  const put = [
    ['zfs', 'set', 'readonly=off', dataset],
    ['zfs', 'set', 'canmount=on', dataset],
    ['zfs', 'inherit', PROP.replicaOf, dataset],
    ['zfs', 'mount', dataset],
  ];
  const back = [
    ['zfs', 'unmount', dataset],
    ['zfs', 'set', 'readonly=on', dataset],
    ['zfs', 'set', 'canmount=noauto', dataset],
    ['zfs', 'set', `${PROP.replicaOf}=${replicaOf}`, dataset],
  ];
  const system = new System(runner, config);
  try {
    for (const argv of put) await runChecked(runner, argv);
    const decide = migrate.plan(config, { state: r.name, slot }, { at: now() });
    const plan = decide(await system.facts(() => ({ names: [r.name] })));
    await new Executor(system.store, system.slots, { warn: waitWarn }).run(plan);
  } catch (e) {
    const undone: string[] = [];
    const undoFailed: string[] = [];
    for (const argv of back) {
      const res = await runner.run(argv);
      const put = res.exitCode === 0 || /not currently mounted/.test(res.stderr);
      (put ? undone : undoFailed).push(argv.join(' '));
    }
    const why = e instanceof Error ? e.message : String(e);
    const failed = undoFailed.length ? ` Could NOT put back: ${undoFailed.join('; ')}.` : '';
    throw new VmStateError(
      e instanceof VmStateError ? e.code : 'failed',
      `${why} Put the replica back: ${undone.join('; ')}.${failed}`,
      { details: { undone, undoFailed } },
    );
  }
  return { dataset, slot, unit: config.unitTemplate.replace('%s', slot) };
}

/** A failed receive, in words: a modified target is a divergence (exit 5), not a generic failure. */
function receiveError(argv: string[], r: { stdout: string; stderr: string; exitCode: number }): Error {
  if (/has been modified|destination .* exists|more recent snapshot/i.test(r.stderr))
    return new VmStateError(
      'conflict',
      `The target changed since its last snapshot: ${r.stderr.trim().split('\n')[0]}`,
      {
        hint: 'vm-state send --force keeps its changes aside and sends again',
      },
    );
  return new CommandError(argv, r);
}
