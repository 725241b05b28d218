// The pair of labs issue 13's proof runs in (lab/README.md, "Two labs" and "The pair on
// OpenZFS"): vmstate-lab and vmstate-peer, linked only by sshd on a unix socket in
// /run/vmstate-peers. On fuse each its own zfs-fuse, pool and systemd, on private networks, the
// directory a host one both bind; on OpenZFS the guest's two pools (microvms, microvms-peer), the
// directory the guest's own, and no network at all.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, costly, hasPeer, labOn, P, peer, resetLab, resetPeer, shOn, type LabName } from './lab.js';

const LAB: LabName = 'vmstate-lab';
const PAIR: [LabName, LabName][] = [
  [LAB, peer.name],
  [peer.name, LAB],
];
const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
const ssh = (from: LabName, to: LabName, ...rest: string[]) =>
  shOn(from, ['ssh', '-o', 'BatchMode=yes', ...rest.slice(0, -1), to, rest.at(-1)!]);

describe.skipIf(!hasPeer)(`the two-lab pair (${backend})`, () => {
  beforeAll(async () => {
    await Promise.all([resetLab(), resetPeer()]);
  });
  afterAll(async () => {
    await Promise.all([resetLab(), resetPeer()]);
  });

  it('each lab has its own pool: a dataset made in one is absent in the other', async () => {
    const guid = async (lab: LabName) =>
      /guid\s+(\d+)/.exec((await shOn(lab, ['zpool', 'get', 'guid', labOn(lab).pool])).stdout)?.[1];
    const [g1, g2] = await Promise.all([guid(LAB), guid(peer.name)]);
    expect(g1).toMatch(/^\d+$/);
    expect(g2).toMatch(/^\d+$/);
    expect(g1).not.toBe(g2);
    await peer.ok(['zfs', 'create', `${peer.P}/only-on-peer`]);
    expect((await shOn(LAB, ['zfs', 'create', `${P}/only-on-lab`])).code).toBe(0);
    expect(await peer.datasetExists(`${peer.P}/only-on-peer`)).toBe(true);
    expect(await peer.datasetExists(`${peer.P}/only-on-lab`)).toBe(false);
    expect((await shOn(LAB, ['zfs', 'list', '-H', '-o', 'name', `${P}/only-on-peer`])).code).not.toBe(0);
    expect((await shOn(LAB, ['zfs', 'list', '-H', '-o', 'name', `${P}/only-on-lab`])).code).toBe(0);
  });

  it.each(PAIR)('ssh -o BatchMode=yes from %s to %s, through the unix socket', async (from, to) => {
    const r = await ssh(from, to, 'hostname; echo "$SSH_CONNECTION"');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [host, conn] = r.stdout.trim().split('\n');
    expect(host).toBe(to);
    // sshd -i on a unix socket: no address, the socket's path as the local end.
    expect(conn).toBe(`UNKNOWN 65535 /run/vmstate-peers/${to}.sock 65535`);
  });

  for (const [from, to] of PAIR)
    costly('a node start and an ssh connection; replication runs vm-state over ssh all the time')(
      `ssh from ${from} to ${to} runs vm-state on the non-interactive PATH`,
      async () => {
        const r = await ssh(from, to, 'vm-state --version');
        expect(r.code).toBe(0);
        expect(r.stdout.trim()).toBe(version);
      },
    );

  it.each([LAB, peer.name])('%s listens on no TCP port, only on its peer socket', async (lab) => {
    const tcp = await shOn(lab, ['ss', '-Hltn']);
    expect(tcp.code).toBe(0);
    expect(tcp.stdout).not.toMatch(/:22\b/);
    expect(tcp.stdout.trim()).toBe(''); // nothing at all: a private network and no daemon on it
    expect((await shOn(lab, ['ss', '-Hlx'])).stdout).toContain(`/run/vmstate-peers/${lab}.sock`);
  });

  it('host keys are pre-seeded and checked: without the lab known_hosts the peer is refused', async () => {
    const r = await ssh(LAB, peer.name, '-o', 'GlobalKnownHostsFile=/dev/null', 'true');
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Host key verification failed/);
  });

  costly('ssh key restrictions: sshd, no ZFS')(
    'a command="...",restrict key line forces its command; removed, the key is refused',
    async () => {
      const key = '/root/.ssh/restricted_test';
      const withKey = ['-o', 'IdentitiesOnly=yes', '-i', key];
      await shOn(LAB, ['rm', '-f', key, `${key}.pub`]);
      expect((await shOn(LAB, ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key])).code).toBe(0);
      const pub = (await shOn(LAB, ['cat', `${key}.pub`])).stdout.trim();
      expect(pub).toMatch(/^ssh-ed25519 /);
      const before = await peer.ok(['cat', peer.authorizedKeys]);
      try {
        await peer.ok(['sh', '-c', 'cat >> "$0"', peer.authorizedKeys], {
          input: `command="/bin/echo restricted",restrict ${pub}\n`,
        });
        const forced = await ssh(LAB, peer.name, ...withKey, 'hostname');
        expect(forced.code).toBe(0);
        expect(forced.stdout).toBe('restricted'); // execa strips the last newline
        // restrict: no pty either (ssh -tt, which insists on one, gives up).
        const tty = await ssh(LAB, peer.name, ...withKey, '-tt', 'hostname');
        expect(tty.code).toBe(255);
        expect(tty.stderr).toMatch(/PTY allocation request failed/);
        expect(tty.stdout).not.toContain(peer.name);
        // The lab's own key is untouched by it.
        expect((await ssh(LAB, peer.name, 'hostname')).stdout).toBe(peer.name);
      } finally {
        await peer.ok(['sh', '-c', 'cat > "$0"', peer.authorizedKeys], { input: before });
      }
      const refused = await ssh(LAB, peer.name, ...withKey, 'hostname');
      expect(refused.code).toBe(255);
      expect(refused.stderr).toMatch(/Permission denied \(publickey\)/);
      await shOn(LAB, ['rm', '-f', key, `${key}.pub`]);
    },
  );
});
