// send --all: every state of this hypervisor to another, each under its own name (fuse pair).
import { afterAll, beforeEach, describe, expect } from 'vitest';
import { costly, hasPeer, ok, peer, resetLab, resetPeer, vm } from './lab.js';

describe.skipIf(!hasPeer)('send --all', () => {
  beforeEach(async () => {
    await Promise.all([resetLab(), resetPeer()]);
    await ok(['vm-state', 'remote', 'add', 'peer', 'vmstate-peer']);
  });
  afterAll(async () => {
    await Promise.all([resetLab(), resetPeer()]);
  });

  costly('send --all: each send is the one the replication tests check')(
    'evacuates every state, says which failed, and sends the rest all the same',
    async () => {
      for (const s of ['a', 'b', 'c']) await ok(['vm-state', 'create', s]);
      // b exists there as a state of its own: refused, and the others still go.
      await peer.ok(['vm-state', 'create', 'b']);
      const r = await vm(['--json', 'send', '--all', 'peer']);
      expect(r.code).toBe(1);
      const doc = JSON.parse(r.stdout) as { results: { state: string; ok: boolean; error?: string }[] };
      expect(doc.results.map((x) => [x.state, x.ok])).toEqual([
        ['a', true],
        ['b', false],
        ['c', true],
      ]);
      expect(doc.results[1]!.error).toContain('exists and is not a replica');
      expect(r.stderr).toContain('1 of 3 state(s) not sent: b');
      for (const s of ['a', 'c'])
        expect(await peer.zfsProp(`${peer.P}/${s}`, 'vm-state:replica-of')).toBe(`vmstate-lab:${s}`);
      // Run again: the replicas there are brought up to date, not sent again in full.
      await peer.ok(['vm-state', '--yes', 'delete', 'b']);
      const again = await vm(['send', '--all', 'peer']);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/Send 'a' to peer:a \(incremental from vmstate-repl-/);
      expect(again.stdout).toMatch(/Send 'b' to peer:b \(full\)/);
    },
  );

  costly('send --all: each send is the one the replication tests check')(
    'takes the remote alone: no state, no :name',
    async () => {
      expect((await vm(['send', '--all', 'peer:x'])).code).toBe(2);
      expect((await vm(['send', '--all', 'a', 'peer'])).code).toBe(2);
      expect((await vm(['send', '--all', 'nowhere'])).code).toBe(3);
    },
  );
});
