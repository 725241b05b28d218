import type { RequestBody, ResultOf } from '../schemas/protocol.js';
import type { Config } from '../schemas/config.js';
import { VmStateError } from './errors.js';
import type { SnapshotFact, StateFact } from './facts.js';
import { requireZfsFits } from './names.js';
import type { Plan, Step } from './plan.js';
import { snapshotStep } from './steps.js';
import { humanBytes } from './bytes.js';

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
}

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

/** The newest target snapshot the source has too (same guid), with the source's own. */
export function commonBase(source: StateFact, target: TargetState) {
  for (const t of [...target.snapshots].reverse()) {
    const s = source.snapshots.find((x) => x.guid === t.guid);
    if (s) return { source: s, target: t };
  }
  return undefined;
}

export function decideSend(c: Config, r: SendRequest, f: SendFacts): SendDecision {
  const { source, target } = f;
  const dataset = source.dataset;
  const from = { host: r.host, state: r.state };
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

  const summary: SendSummary = {
    state: r.state,
    remote: r.remote,
    target: r.target,
    base: null,
    snapshots: [],
    resumed: false,
    estimate: f.estimate,
  };

  // A cut transfer first: resumed from its token, or dropped when the token no longer fits.
  const steps: Step[] = [];
  const warnings: string[] = [];
  let view = target;
  if (target.resumeToken && f.resume && 'snapshot' in f.resume) {
    const into = f.call({
      op: 'receive',
      name: r.target,
      source: from,
      base: null,
      resume: true,
      snapshot: f.resume.snapshot,
    });
    return {
      plan: {
        summary: `Resume the cut send of '${r.state}' to ${where}`,
        steps: [
          {
            kind: 'send',
            argv: ['zfs', 'send', '-t', target.resumeToken],
            into,
            remote: r.remote,
            there: target.receive,
            room: target.available,
            commit: true,
          },
        ],
        warnings: [`A send to ${where} was cut: resuming it from where it stopped`],
        notes: [`Resumed: ${where} has ${f.resume.snapshot}`],
      },
      summary: { ...summary, snapshots: [f.resume.snapshot], resumed: true },
      thenSendAgain: true,
    };
  }
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

  const common = view.exists ? commonBase(source, view) : undefined;
  if (view.exists && !common)
    throw new VmStateError(
      'conflict',
      `'${where}' shares no snapshot with '${r.state}': nothing to send from`,
      {
        hint: `Send under another name, or delete it there first`,
      },
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

  const snap = requireZfsFits(`${dataset}@${replName(r.now)}`);
  const replSnap = snap.slice(dataset.length + 1);
  steps.push(snapshotStep(snap));
  const receive = (base: SnapshotFact | undefined, to: string): Step => ({
    kind: 'send',
    argv: base
      ? ['zfs', 'send', '-I', base.fullName, `${dataset}@${to}`]
      : ['zfs', 'send', `${dataset}@${to}`],
    into: f.call({
      op: 'receive',
      name: r.target,
      source: from,
      base: base?.guid ?? null,
      resume: false,
      snapshot: to,
    }),
    remote: r.remote,
    there: view.receive,
    room: view.available,
    commit: true,
  });
  // A first send carries the operator's snapshots too: the oldest in full, the rest incrementally.
  const first = common ? undefined : source.snapshots[0];
  if (first) steps.push(receive(undefined, first.name), receive(first, replSnap));
  else steps.push(receive(common?.source, replSnap));
  // Held here until the next send moves the hold on: prune cannot take the next send's base.
  steps.push({ kind: 'zfs', argv: ['zfs', 'hold', HOLD(r.remote), snap], tidy: true });
  if (common && common.source.holds > 0)
    steps.push({
      kind: 'zfs',
      argv: ['zfs', 'release', HOLD(r.remote), common.source.fullName],
      tidy: true,
      tolerates: 'hold-absent',
    });
  const sentAt = r.now.toISOString();
  const others = source.sentTo.filter((s) => s.remote !== r.remote);
  const sent = [...others, { remote: r.remote, name: r.target, at: sentAt }]
    .map((e) => `${e.remote}=${e.name}@${e.at}`)
    .join(' ');
  steps.push({ kind: 'zfs', argv: ['zfs', 'set', `vm-state:sent=${sent}`, dataset], tidy: true });

  const after = common
    ? source.snapshots.slice(source.snapshots.indexOf(common.source) + 1)
    : source.snapshots;
  const snapshots = [...after.map((s) => s.name), replSnap];
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

/** `vmstate-repl-20261201T131500Z`: UTC, sortable, no characters a name may not have. */
export const replName = (at: Date) =>
  `vmstate-repl-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;

export const sourceHold = HOLD;
