import { hostname } from 'node:os';
import type { Facts } from '../core/facts.js';
import { requireDataset } from '../core/guards.js';
import {
  commonBase,
  sendFrom,
  type BookmarkFact,
  type SendFacts,
  type SendRequest,
} from '../core/replication.js';
import { datasetOf } from '../core/layout.js';
import type { RemoteLink } from '../io/ssh.js';
import type { System } from '../io/system.js';
import { isOpenZfs } from '../io/zfs-flavour.js';

/** This host as replicas name their source: its short host name. */
export const thisHost = () => hostname().split('.')[0]!;

/**
 * Both sides' facts for a send: the local state with its snapshots (guids,
 * holds), the target's there, and what zfs can tell before sending (the
 * stream's size, whether a cut stream's token still resumes).
 */
export async function readSendFacts(
  system: System,
  link: RemoteLink,
  r: Pick<SendRequest, 'state' | 'target' | 'host'>,
): Promise<{ facts: Facts; send: SendFacts }> {
  const openZfs = isOpenZfs();
  const [facts, target, bookmarks] = await Promise.all([
    system.facts(() => ({ names: [r.state] })),
    link.call({ op: 'state', name: r.target, source: { host: r.host, state: r.state } }),
    openZfs ? readBookmarks(system, datasetOf(system.config, r.state)) : null,
  ]);
  const source = requireDataset(facts, r.state);
  const send: SendFacts = {
    source,
    target,
    call: (request) => link.argv(request),
    estimate: null,
    bookmarks,
  };
  if (target.resumeToken) {
    // `zfs send -nv -t` checks the token against this side (it fails once its snapshot is gone).
    const check = await system.runner.run(['zfs', 'send', '-nv', '-t', target.resumeToken]);
    const to = /toname = \S+@(\S+)/.exec(check.stdout + check.stderr)?.[1];
    send.resume =
      check.exitCode === 0 && to
        ? { snapshot: to }
        : { stale: (check.stderr.trim().split('\n')[0] ?? '') || 'the token does not match this side' };
  }
  const newest = source.snapshots.at(-1);
  const common = target.exists ? commonBase(source, target, bookmarks) : undefined;
  if (openZfs && newest) {
    // The stream up to the newest snapshot, plus what was written since (the new snapshot takes that too).
    const base = common ? sendFrom(common) : [];
    const [size, written] = await Promise.all([
      system.runner.run(['zfs', 'send', '-nP', ...base, newest.fullName]),
      system.runner.run(['zfs', 'get', '-H', '-p', '-o', 'value', 'written', source.dataset]),
    ]);
    const bytes = /^size\s+(\d+)$/m.exec(size.stdout + size.stderr)?.[1];
    const since = written.stdout.trim();
    if (bytes && /^\d+$/.test(since)) send.estimate = Number(bytes) + Number(since);
  } else if (!common) {
    // zfs-fuse cannot estimate a stream: a full one is at most what the state refers to.
    send.estimate = source.referenced;
  }
  return { facts, send };
}

/** The state's bookmarks (OpenZFS): one `zfs list`, read beside the facts. */
async function readBookmarks(system: System, dataset: string): Promise<BookmarkFact[]> {
  const argv = ['zfs', 'list', '-H', '-p', '-t', 'bookmark', '-o', 'name,guid', '-d', '1', dataset];
  const r = await system.runner.run(argv);
  // No dataset yet is the facts' error to give; no bookmark is an empty list.
  if (r.exitCode !== 0) return [];
  return r.stdout
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([name, guid]) => name?.startsWith(`${dataset}#`) && /^\d+$/.test(guid ?? ''))
    .map(([fullName, guid]) => ({
      name: fullName!.slice(dataset.length + 1),
      fullName: fullName!,
      guid: guid!,
    }));
}
