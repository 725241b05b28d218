import type { RequestBody, ResultOf } from '../schemas/protocol.js';
import type { Config } from '../schemas/config.js';
import { VmStateError } from './errors.js';
import { runningOn, slotsUsing, type Facts, type SnapshotFact, type StateFact } from './facts.js';
import { requireZfsFits, untakenName } from './names.js';
import type { Plan, Step } from './plan.js';
import { snapshotStep, stopStep } from './steps.js';
import { humanBytes } from './bytes.js';
import { stamp } from './clock.js';

/**
 * Sending a state to another hypervisor, decided from both sides' facts. The
 * base is the newest snapshot both sides have, matched by guid (a name proves
 * nothing: either side may have made a snapshot of that name on its own). What
 * only the target has is never destroyed: a diverged target is refused, or with
 * --force set aside there first.
 */

type TargetState = ResultOf<'state'>;

export interface SendRequest {
  /** The local state. */
  state: string;
  remote: string;
  /** Its name there. */
  target: string;
  /** This host's name, as replicas record their source. */
  host: string;
  force: boolean;
  now: Date;
}

export interface SendFacts {
  source: StateFact;
  target: TargetState;
  /** The ssh command line of a request to the remote. */
  call: (request: RequestBody) => string[];
  /** The stream's size in bytes, where zfs can tell before sending (null: unknown). */
  estimate: number | null;
  /** A cut receive's token there, checked here: what it resumes, or why it cannot. */
  resume?: { snapshot: string } | { stale: string };
  /** The source's bookmarks (OpenZFS); null where the ZFS has none (zfs-fuse). */
  bookmarks?: BookmarkFact[] | null;
}

/** `dataset#name`: a snapshot's guid and place in history, without its data (OpenZFS). */
export interface BookmarkFact {
  name: string;
  fullName: string;
  guid: string;
}

/** The bookmark of the last snapshot sent to `remote`: a base for the next send, should that snapshot go. */
export const cursorName = (remote: string) => `vmstate-to-${remote}`;

/** What a send did, for --json. */
export interface SendSummary {
  state: string;
  remote: string;
  target: string;
  base: string | null;
  snapshots: string[];
  resumed: boolean;
  estimate: number | null;
}

export interface SendDecision {
  plan: Plan;
  summary: SendSummary;
  /** A resumed stream carries one snapshot: the rest needs a normal send after it. */
  thenSendAgain: boolean;
}

const HOLD = (remote: string) => `vm-state:sent-to:${remote}`;
/** The hold a replica keeps on its newest snapshot, the base of the next send into it. */
export const REPLICA_HOLD = 'vm-state:replica';

/**
 * Steps that let go of every hold vm-state may have put on `snap` (a state being deleted):
 * zfs-fuse cannot list a hold's tags, so each tag it could be is released, a missing one tolerated.
 */
export function releaseHolds(c: Config, snap: SnapshotFact): Step[] {
  if (snap.holds === 0) return [];
  return [REPLICA_HOLD, ...Object.keys(c.remotes).map(HOLD)].map((tag) => ({
    kind: 'zfs',
    argv: ['zfs', 'release', tag, snap.fullName],
    undo: ['zfs', 'hold', tag, snap.fullName],
    tolerates: 'hold-absent',
  }));
}

/** The base of a send: the source's snapshot (or bookmark) of the newest target snapshot. */
export interface Base {
  source: SnapshotFact;
  target: TargetState['snapshots'][number];
  /** The source has only a bookmark of it: `zfs send -i` from that, the snapshots between stay here. */
  bookmark?: true;
}

/**
 * The newest target snapshot the source has too (same guid), with the source's own; failing
 * a snapshot, a bookmark of it (its guid is the snapshot's), as zrepl's cursor is.
 */
export function commonBase(
  source: StateFact,
  target: TargetState,
  bookmarks: readonly BookmarkFact[] | null = null,
): Base | undefined {
  for (const t of [...target.snapshots].reverse()) {
    const s = source.snapshots.find((x) => x.guid === t.guid);
    if (s) return { source: s, target: t };
    const b = bookmarks?.find((x) => x.guid === t.guid);
    if (b) return { source: bookmarkAsBase(source, b), target: t, bookmark: true };
  }
  return undefined;
}

/** The base's part of a `zfs send`: -I carries the snapshots between; from a bookmark only -i can. */
export const sendFrom = (base: Pick<Base, 'source' | 'bookmark'>) => [
  base.bookmark ? '-i' : '-I',
  base.source.fullName,
];

/** A bookmark in a snapshot's place: what a stream's base needs (its name, guid; no holds). */
const bookmarkAsBase = (source: StateFact, b: BookmarkFact): SnapshotFact => ({
  name: `#${b.name}`,
  state: source.name,
  fullName: b.fullName,
  created: new Date(0),
  used: 0,
  referenced: 0,
  clones: [],
  guid: b.guid,
  holds: 0,
});

/** Refuses a target that is not this state's replica: never a live state there, never another's copy. */
export function requireOurReplica(r: SendRequest, target: TargetState): void {
  const where = `${r.remote}:${r.target}`;
  if (target.assignedTo.length > 0)
    throw new VmStateError(
      'conflict',
      `'${where}' is assigned to ${target.assignedTo.join(', ')} there: it is a live state, not a replica`,
    );
  if (target.exists && target.replicaOf === null && !target.resumeToken)
    throw new VmStateError('exists', `State '${where}' exists and is not a replica of '${r.state}'`, {
      hint: `Send under another name: vm-state send ${r.state} ${r.remote}:<new-name>`,
    });
  if (target.replicaOf !== null && target.replicaOf !== `${r.host}:${r.state}`)
    throw new VmStateError(
      'conflict',
      `'${where}' is a replica of ${target.replicaOf}, not of ${r.host}:${r.state}`,
    );
}

/** A cut transfer's stream, resumed from its token (it carries one snapshot: `snapshot`). */
function resumePlan(r: SendRequest, f: SendFacts, token: string, snapshot: string): Plan {
  const where = `${r.remote}:${r.target}`;
  const into = f.call({
    op: 'receive',
    name: r.target,
    source: { host: r.host, state: r.state },
    base: null,
    resume: true,
    snapshot,
  });
  return {
    summary: `Resume the cut send of '${r.state}' to ${where}`,
    steps: [
      {
        kind: 'send',
        argv: ['zfs', 'send', '-t', token],
        into,
        remote: r.remote,
        there: f.target.receive,
        commit: true,
      },
    ],
    warnings: [`A send to ${where} was cut: resuming it from where it stopped`],
    notes: [`Resumed: ${where} has ${snapshot}`],
  };
}

/**
 * What must happen there before the data can go: a stale token dropped, a diverged
 * target set aside (`force`) or refused. Gives the target as it will be then, and
 * the base both sides share.
 */
export function reconcile(r: SendRequest, f: SendFacts) {
  const { source, target } = f;
  const from = { host: r.host, state: r.state };
  const where = `${r.remote}:${r.target}`;
  const steps: Step[] = [];
  const warnings: string[] = [];
  let view = target;
  if (target.resumeToken) {
    const why = f.resume && 'stale' in f.resume ? f.resume.stale : 'it no longer matches';
    warnings.push(`A cut send to ${where} cannot be resumed (${why}): dropping its partial data there`);
    steps.push({
      kind: 'remote',
      argv: f.call({ op: 'abort', name: r.target, source: from }),
      remote: r.remote,
      what: 'drop the cut receive',
      there: [['zfs', 'receive', '-A', target.dataset]],
      commit: true,
    });
    view = { ...target, resumeToken: null, exists: target.snapshots.length > 0 };
  }
  const common = view.exists ? commonBase(source, view, f.bookmarks) : undefined;
  if (view.exists && !common)
    throw new VmStateError(
      'conflict',
      `'${where}' shares no snapshot with '${r.state}': nothing to send from`,
      {
        hint: `Send under another name, or delete it there first`,
      },
    );
  if (common?.bookmark)
    warnings.push(
      `${common.target.name}, the last snapshot '${where}' has from here, is gone here: sending from its ` +
        `bookmark ${common.source.fullName} (the snapshots taken here since then are not sent, only the new one)`,
    );
  if (common) {
    const at = view.snapshots.findIndex((s) => s.guid === common.target.guid);
    const targetOnly = view.snapshots.slice(at + 1).map((s) => s.name);
    const written = view.written ?? 0;
    if (targetOnly.length > 0 || written > 0) {
      const what = [
        targetOnly.length ? `snapshots only it has: ${targetOnly.join(', ')}` : '',
        written > 0 ? `${humanBytes(written)} written since ${view.snapshots.at(-1)?.name}` : '',
      ].filter(Boolean);
      if (!r.force)
        throw new VmStateError(
          'conflict',
          `'${where}' has diverged from '${r.state}' since the last shared snapshot ${common.target.name} (${what.join('; ')})`,
          { hint: `vm-state send --force keeps what only it has as a clone there, then sends` },
        );
      warnings.push(`'${where}' has diverged (${what.join('; ')}): keeping that aside there, then sending`);
      steps.push({
        kind: 'remote',
        argv: f.call({ op: 'set-aside', name: r.target, source: from, base: common.target.guid }),
        remote: r.remote,
        what: `keep what only it has as ${r.target}.diverged-<time>, back to ${common.target.name}`,
        there: [
          ['zfs', 'rename', view.dataset, `${view.dataset}.diverged-<time>`],
          ['zfs', 'clone', `${view.dataset}.diverged-<time>@${common.target.name}`, view.dataset],
          ['zfs', 'promote', view.dataset],
        ],
        commit: true,
      });
    }
  }
  if (f.estimate !== null && view.available !== null && f.estimate > view.available)
    throw new VmStateError(
      'conflict',
      `'${r.remote}' has ${humanBytes(view.available)} free, and the send needs about ${humanBytes(f.estimate)}`,
      { hint: 'Free space there first (vm-state prune, or delete states it no longer needs)' },
    );
  return { steps, warnings, view, common };
}

const summaryOf = (r: SendRequest, f: SendFacts): SendSummary => ({
  state: r.state,
  remote: r.remote,
  target: r.target,
  base: null,
  snapshots: [],
  resumed: false,
  estimate: f.estimate,
});

export function decideSend(_c: Config, r: SendRequest, f: SendFacts): SendDecision {
  const where = `${r.remote}:${r.target}`;
  requireOurReplica(r, f.target);
  const summary = summaryOf(r, f);
  const token = f.target.resumeToken;
  if (token && f.resume && 'snapshot' in f.resume)
    return {
      plan: resumePlan(r, f, token, f.resume.snapshot),
      summary: { ...summary, snapshots: [f.resume.snapshot], resumed: true },
      thenSendAgain: true,
    };
  const { steps, warnings, view, common } = reconcile(r, f);
  const t = transferSteps(r, f, view, common);
  steps.push(t.snapshot, ...t.streams, ...t.tidy);
  const snapshots = t.snapshots;
  return {
    plan: {
      summary: `Send '${r.state}' to ${where} (${common ? `incremental from ${common.source.name}` : 'full'})`,
      steps,
      warnings,
      notes: [`Sent '${r.state}' to ${where}: ${snapshots.join(', ')}`],
    },
    summary: { ...summary, base: common?.source.name ?? null, snapshots },
    thenSendAgain: false,
  };
}

/** How a transfer's steps behave: a send's stream is its commit point; a migration's is undone. */
export interface TransferMode {
  /** A migration's last delta: its snapshot is kept and its stream is not a commit point (the promote is). */
  final?: boolean;
}

/**
 * The steps that move the data: a new replication snapshot, the stream(s) from the
 * shared base (or, the first time, every snapshot), and the tidying after (the hold
 * moves on, the state records where it went).
 */
export function transferSteps(
  r: SendRequest,
  f: SendFacts,
  view: TargetState,
  common: Base | undefined,
  mode: TransferMode = {},
) {
  const { source } = f;
  const dataset = source.dataset;
  const from = { host: r.host, state: r.state };
  // A migration's last delta can follow its bulk send within the second.
  const replSnap = untakenName(
    replName(r.now),
    source.snapshots.map((s) => s.name),
  );
  const snap = requireZfsFits(`${dataset}@${replSnap}`);
  const receive = (base: Pick<Base, 'source' | 'bookmark'> | undefined, to: string): Step => ({
    kind: 'send',
    argv: ['zfs', 'send', ...(base ? sendFrom(base) : []), `${dataset}@${to}`],
    into: f.call({
      op: 'receive',
      name: r.target,
      source: from,
      base: base?.source.guid ?? null,
      resume: false,
      snapshot: to,
    }),
    remote: r.remote,
    there: view.receive,
    commit: !mode.final,
  });
  const streams: Step[] = [];
  // A first send carries the operator's snapshots too: the oldest in full, the rest incrementally.
  const first = common ? undefined : source.snapshots[0];
  if (first) streams.push(receive(undefined, first.name), receive({ source: first }, replSnap));
  else streams.push(receive(common, replSnap));
  if (view.available !== null) {
    const whole = ['zfs', 'send', ...(common ? sendFrom(common) : []), snap];
    streams.unshift({
      kind: 'room',
      argv: whole,
      room: view.available,
      remote: r.remote,
      commit: !mode.final,
    });
  }
  // Held here until the next send moves the hold on: prune cannot take the next send's base.
  const tidy: Step[] = [{ kind: 'zfs', argv: ['zfs', 'hold', HOLD(r.remote), snap], tidy: true }];
  if (common && common.source.holds > 0)
    tidy.push({
      kind: 'zfs',
      argv: ['zfs', 'release', HOLD(r.remote), common.source.fullName],
      tidy: true,
      tolerates: 'hold-absent',
    });
  const others = source.sentTo.filter((s) => s.remote !== r.remote);
  const sent = [...others, { remote: r.remote, name: r.target, at: r.now.toISOString() }]
    .map((e) => `${e.remote}=${e.name}@${e.at}`)
    .join(' ');
  tidy.push({ kind: 'zfs', argv: ['zfs', 'set', `vm-state:sent=${sent}`, dataset], tidy: true });
  if (f.bookmarks) tidy.push(...cursorSteps(f.bookmarks, dataset, r.remote, snap));
  const after = !common
    ? source.snapshots
    : common.bookmark
      ? []
      : source.snapshots.slice(source.snapshots.indexOf(common.source) + 1);
  return {
    snapshot: snapshotStep(snap, { keep: mode.final }),
    streams,
    tidy,
    snapshots: [...after.map((s) => s.name), replSnap],
    fullName: snap,
  };
}

/** The remote's cursor moves on to `snap`: a bookmark cannot be renamed or overwritten, so destroy and make. */
function cursorSteps(
  bookmarks: readonly BookmarkFact[],
  dataset: string,
  remote: string,
  snap: string,
): Step[] {
  const cursor = requireZfsFits(`${dataset}#${cursorName(remote)}`);
  const old = bookmarks.some((b) => b.fullName === cursor);
  return [
    ...(old ? [{ kind: 'zfs', argv: ['zfs', 'destroy', cursor], tidy: true } as Step] : []),
    { kind: 'zfs', argv: ['zfs', 'bookmark', snap, cursor], tidy: true },
  ];
}

/** `vmstate-repl-20261201T131500Z`: UTC, sortable, no characters a name may not have. */
export const replName = (at: Date) => `vmstate-repl-${stamp(at)}`;

export const sourceHold = HOLD;

export interface MigrateOutRequest extends SendRequest {
  /** The slot there. */
  slot: string;
  /** The remote's host name, as the local copy will name where the live state went. */
  remoteHost: string;
}

/**
 * `migrate <state> <remote>:<slot>`, after a bulk send while the VM ran: stop the
 * slots running it here, send the last delta, make the copy there the live state
 * (promoted, assigned, started by the remote's vm-state), and turn this copy into
 * its replica, assigned to nothing. Until the remote has started it, every step is
 * undone (the slots here start again); the promote is the commit point.
 */
export function decideMigrateOut(c: Config, r: MigrateOutRequest, f: SendFacts, facts: Facts): Plan {
  requireOurReplica(r, f.target);
  if (f.target.resumeToken)
    throw new VmStateError('conflict', `A cut send to ${r.remote}:${r.target} is pending: send again first`);
  const { steps: prelude, view, common } = reconcile({ ...r, force: false }, f);
  if (prelude.length > 0 || !common)
    throw new VmStateError(
      'conflict',
      `${r.remote}:${r.target} is not an up-to-date replica after the bulk send`,
    );
  const runners = runningOn(facts, r.state);
  const users = slotsUsing(facts, r.state);
  const t = transferSteps(r, f, view, common, { final: true });
  const source = f.source;
  const assignments = Object.fromEntries(
    Object.entries(facts.assignments).filter(([, state]) => state !== r.state),
  );
  const steps: Step[] = [
    ...runners.map((s) => stopStep(s.unit.unit, s.name, r.state)),
    t.snapshot,
    ...t.streams,
    {
      kind: 'remote',
      argv: f.call({
        op: 'promote',
        name: r.target,
        source: { host: r.host, state: r.state },
        snapshot: t.snapshots.at(-1)!,
        slot: r.slot,
      }),
      remote: r.remote,
      what: `make '${r.target}' the live state there, on ${r.slot}, and start it`,
      there: [
        ['zfs', 'set', 'readonly=off', view.dataset],
        ['zfs', 'set', 'canmount=on', view.dataset],
        ['zfs', 'inherit', 'vm-state:replica-of', view.dataset],
        ['zfs', 'mount', view.dataset],
        ['vm-state', 'migrate', r.target, r.slot],
      ],
      commit: true,
    },
    // This copy becomes the replica: read-only, never mounted by itself, assigned to nothing.
    { kind: 'unmount', dataset: source.dataset },
    { kind: 'zfs', argv: ['zfs', 'set', 'readonly=on', source.dataset] },
    { kind: 'zfs', argv: ['zfs', 'set', 'canmount=noauto', source.dataset] },
    { kind: 'zfs', argv: ['zfs', 'set', `vm-state:replica-of=${r.remoteHost}:${r.target}`, source.dataset] },
    ...(users.some((s) => s.explicit)
      ? [{ kind: 'write-assignments', file: c.assignmentsFile, assignments } as Step]
      : []),
    ...t.tidy,
  ];
  const here = users.map((s) => s.name);
  return {
    summary: `Migrate '${r.state}' to ${r.remote}:${r.slot}`,
    steps,
    warnings: runners.length
      ? [
          `${runners.map((s) => s.name).join(', ')} will be stopped here for the last delta, and not started again`,
        ]
      : [],
    notes: [
      `'${r.state}' now runs on ${r.remote}:${r.slot}; here it is a read-only replica of ${r.remoteHost}:${r.target}` +
        (here.length ? ` (assigned to no slot: ${here.join(', ')} had it)` : ''),
    ],
  };
}
