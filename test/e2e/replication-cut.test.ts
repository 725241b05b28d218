// A send cut mid-stream (the ssh link killed): OpenZFS resumes it from the target's token;
// zfs-fuse, which has no resumable receive, starts again cleanly. Either way, no byte is lost.
// On OpenZFS also a stale token, dropped; and after each completed send, the holds of both sides
// (`zfs holds`, which zfs-fuse cannot list) on the newest shared snapshot only.
import { afterAll, beforeEach, describe, expect } from 'vitest';
import {
  backend,
  hasPeer,
  holdsOf,
  ok,
  onlyOn,
  P,
  peer,
  resetLab,
  resetPeer,
  sh,
  STATES,
  vm,
  type Ran,
} from './lab.js';

const json = <T>(text: string): T => JSON.parse(text) as T;
type Sent = { send: { resumed: boolean; base: string | null; snapshots: string[] } };
/** This lab, as `peer` is the other: what the helpers below take of either. */
const here = { ok, P, STATES };
type Side = typeof here;
/**
 * The cut state's size on OpenZFS: enough to be cut part way where ssh under TCG carries 1-5 MB/s
 * (lab/README.md, "The pair on OpenZFS"); each test sends it about twice. fuse: 96 MiB.
 */
const CUT_MIB = backend === 'fuse' ? 96 : 16;

const fill = (state: string, mib: number, seek = 0) =>
  ok([
    'dd',
    'if=/dev/urandom',
    `of=${STATES}/${state}/data.img`,
    'bs=1M',
    `count=${mib}`,
    `seek=${seek}`,
    'conv=notrunc',
    'status=none',
  ]);

/**
 * `vm-state send STATE peer`, its ssh link killed mid-stream. fuse: the lab sees only its own
 * `zfs send`; OpenZFS: both sides are in the one guest, so the cut waits for the peer's
 * `zfs receive` (a `zfs send -nP` estimate runs before the stream), then lets it take part of it.
 */
async function cutSend(state: string): Promise<Ran> {
  const [waitFor, pause] = backend === 'fuse' ? ['^zfs send', '0.3'] : ['^zfs receive', '0.5'];
  const cut = sh([
    'sh',
    '-c',
    `for i in $(seq 1 600); do pgrep -f "${waitFor}" >/dev/null && break; sleep 0.05; done; ` +
      `sleep ${pause}; pkill -f "ssh .*serve --request"`,
  ]);
  const r = await vm(['send', state, 'peer']);
  await cut;
  return r;
}

/** The state's snapshots on `lab` (oldest first) with their guids. */
async function snapshots(lab: Side, state: string) {
  const out = await lab.ok([
    'zfs',
    'list',
    '-H',
    '-t',
    'snapshot',
    '-o',
    'name,guid',
    '-r',
    `${lab.P}/${state}`,
  ]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'))
    .map(([n, g]) => ({ name: n!.split('@')[1]!, guid: g! }));
}

/** sha256 of data.img; a replica is mounted for the look and unmounted again. */
async function sum(lab: Side, state: string, mount: boolean): Promise<string> {
  if (mount) await lab.ok(['zfs', 'mount', `${lab.P}/${state}`]);
  try {
    return (await lab.ok(['sha256sum', `${lab.STATES}/${state}/data.img`])).split(' ')[0]!;
  } finally {
    if (mount) await lab.ok(['zfs', 'unmount', `${lab.P}/${state}`]);
  }
}

/**
 * OpenZFS: both sides have the same snapshots (by guid) and the same bytes, the replica is a
 * replica, no token is left, and the holds are on the newest snapshot only.
 */
async function inSync(state: string) {
  const mine = await snapshots(here, state);
  expect(await snapshots(peer, state)).toEqual(mine);
  expect(await sum(peer, state, true)).toBe(await sum(here, state, false));
  const newest = mine.at(-1)!.name;
  expect(await holdsOf(ok, `${P}/${state}`)).toEqual({ [newest]: ['vm-state:sent-to:peer'] });
  expect(await holdsOf(peer.ok, `${peer.P}/${state}`)).toEqual({ [newest]: ['vm-state:replica'] });
  const props = await peer.ok([
    'zfs',
    'get',
    '-H',
    '-o',
    'property,value',
    'receive_resume_token,readonly,canmount,mounted,vm-state:replica-of',
    `${peer.P}/${state}`,
  ]);
  expect(
    Object.fromEntries(
      props
        .trim()
        .split('\n')
        .map((l) => l.split('\t')),
    ),
  ).toEqual({
    receive_resume_token: '-',
    readonly: 'on',
    canmount: 'noauto',
    mounted: 'no',
    'vm-state:replica-of': `vmstate-lab:${state}`,
  });
}

describe.skipIf(!hasPeer)('a cut send', () => {
  beforeEach(async () => {
    await Promise.all([resetLab(), resetPeer()]);
    await ok(['vm-state', 'remote', 'add', 'peer', 'vmstate-peer']);
  });
  afterAll(async () => {
    await Promise.all([resetLab(), resetPeer()]);
  });

  onlyOn('fuse', 'no resumable receive: the next send starts again')(
    'a send whose ssh dies mid-stream fails, keeps its snapshot, and the next send completes it',
    async () => {
      await ok(['vm-state', 'create', 'big']);
      await fill('big', CUT_MIB);
      const first = await cutSend('big');
      expect(first.code, first.stdout).not.toBe(0);
      expect(first.stderr).not.toContain('No vm-state');
      const repl = (await ok(['zfs', 'list', '-H', '-t', 'snapshot', '-o', 'name', '-r', `${P}/big`])).trim();
      expect(repl).toMatch(/@vmstate-repl-/);

      const again = await vm(['--json', 'send', 'big', 'peer']);
      expect(again.code, again.stderr).toBe(0);
      expect(json<Sent>(again.stdout).send.resumed).toBe(false);
      expect(await sum(peer, 'big', true)).toBe(await sum(here, 'big', false));
    },
  );

  onlyOn('openzfs', 'resume tokens')(
    'a cut send leaves a resume token there; the next send resumes from it, then sends the rest',
    async () => {
      await ok(['vm-state', 'create', 'big']);
      await fill('big', CUT_MIB);
      const first = await cutSend('big');
      expect(first.code, first.stdout).not.toBe(0);
      expect(first.stderr).not.toContain('No vm-state');
      // The cut snapshot stays here; there, the partial receive and its token.
      const [cutAt, ...more] = await snapshots(here, 'big');
      expect(more).toEqual([]);
      expect(cutAt!.name).toMatch(/^vmstate-repl-/);
      const token = await peer.zfsProp(`${peer.P}/big`, 'receive_resume_token');
      expect(token).toMatch(/^1-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/);
      // The token names that snapshot: what `send` checks before it resumes.
      const check = await sh(['zfs', 'send', '-nv', '-t', token]);
      expect(check.code, check.stderr).toBe(0);
      expect(check.stdout + check.stderr).toContain(`toname = ${P}/big@${cutAt!.name}`);

      // Written after the cut: the round after the resumed one carries it.
      await fill('big', 1, 2);
      const again = await vm(['--json', 'send', 'big', 'peer']);
      expect(again.code, again.stderr).toBe(0);
      // One document for the command (its two rounds), said by the last round.
      const doc = json<Sent>(again.stdout).send;
      expect(doc.resumed).toBe(true);
      expect(doc.base).toBe(cutAt!.name);
      expect(doc.snapshots).toEqual([expect.stringMatching(/^vmstate-repl-/)]);
      expect((await snapshots(here, 'big')).map((s) => s.name)).toEqual([cutAt!.name, doc.snapshots[0]]);
      await inSync('big');
    },
  );

  onlyOn('openzfs', 'resume tokens')(
    'a stale token (its snapshot gone here) is dropped with a warning, and the send starts again',
    async () => {
      await ok(['vm-state', 'create', 'big']);
      await fill('big', CUT_MIB);
      const first = await cutSend('big');
      expect(first.code, first.stdout).not.toBe(0);
      expect(await peer.zfsProp(`${peer.P}/big`, 'receive_resume_token')).not.toBe('-');
      // The snapshot the token resumes, gone: released first, if anything holds it.
      const [cutAt] = await snapshots(here, 'big');
      for (const tag of (await holdsOf(ok, `${P}/big`))[cutAt!.name] ?? [])
        await ok(['zfs', 'release', tag, `${P}/big@${cutAt!.name}`]);
      await ok(['zfs', 'destroy', `${P}/big@${cutAt!.name}`]);

      const again = await vm(['send', 'big', 'peer']);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(
        /\[WARN\] A cut send to peer:big cannot be resumed \(.+\): dropping its partial data there/,
      );
      await inSync('big');
    },
  );
});
