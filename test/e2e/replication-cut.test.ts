// A send cut mid-stream (the ssh link killed): OpenZFS resumes it from the target's token;
// zfs-fuse, which has no resumable receive, starts again cleanly. Either way, no byte is lost.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { backend, hasPeer, ok, P, peer, resetLab, resetPeer, sh, STATES, vm } from './lab.js';

const json = <T>(text: string): T => JSON.parse(text) as T;
type Sent = { send: { resumed: boolean; snapshots: string[] } };

describe.skipIf(!hasPeer)('a cut send', () => {
  beforeEach(async () => {
    await Promise.all([resetLab(), resetPeer()]);
    await ok(['vm-state', 'remote', 'add', 'peer', 'vmstate-peer']);
  });
  afterAll(async () => {
    await Promise.all([resetLab(), resetPeer()]);
  });

  it('a send whose ssh dies mid-stream fails, keeps its snapshot, and the next send completes it', async () => {
    await ok(['vm-state', 'create', 'big']);
    await ok(['dd', 'if=/dev/urandom', `of=${STATES}/big/data.img`, 'bs=1M', 'count=96', 'status=none']);
    // Cut the link once the stream flows: kill the ssh that carries it.
    const cut = sh([
      'sh',
      '-c',
      'for i in $(seq 1 400); do pgrep -f "^zfs send" >/dev/null && break; sleep 0.05; done; ' +
        'sleep 0.3; pkill -f "ssh .*serve --request"',
    ]);
    const first = await vm(['send', 'big', 'peer']);
    await cut;
    expect(first.code, first.stdout).not.toBe(0);
    expect(first.stderr).not.toContain('No vm-state');
    const repl = (await ok(['zfs', 'list', '-H', '-t', 'snapshot', '-o', 'name', '-r', `${P}/big`])).trim();
    expect(repl).toMatch(/@vmstate-repl-/);
    if (backend === 'openzfs')
      expect(await peer.zfsProp(`${peer.P}/big`, 'receive_resume_token')).not.toBe('-');

    const again = await vm(['--json', 'send', 'big', 'peer']);
    expect(again.code, again.stderr).toBe(0);
    expect(json<Sent>(again.stdout).send.resumed).toBe(false);
    await peer.ok(['zfs', 'mount', `${peer.P}/big`]);
    const there = (await peer.ok(['sha256sum', `${peer.STATES}/big/data.img`])).split(' ')[0];
    await peer.ok(['zfs', 'unmount', `${peer.P}/big`]);
    expect(there).toBe((await ok(['sha256sum', `${STATES}/big/data.img`])).split(' ')[0]);
  });
});
