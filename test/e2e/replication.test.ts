// vm-state send between the two labs of the pair (lab/README.md, "Two labs" and "The pair on
// OpenZFS"): vmstate-lab sends, vmstate-peer receives, each its own ZFS pool and vm-state, linked
// only by sshd on a unix socket. On fuse two containers; on OpenZFS the guest's two pools.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  backend,
  costly,
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
  worldSnapshot,
} from './lab.js';

const CONFIG = '/etc/vm-state/config.json';
const zfs = async (state: string, prop: string) =>
  (await ok(['zfs', 'get', '-H', '-o', 'value', prop, `${P}/${state}`])).trim();
type LogEntry = { command: string; result: string; steps: string[]; who: { sshConnection: string | null } };
const json = <T = Record<string, unknown>>(text: string): T => JSON.parse(text) as T;
/** This lab, as `guids` takes `peer`. */
const here = { ok, P };

/** Each snapshot of `state` (on `lab`) by name, with its guid. */
async function guids(lab: { ok: (argv: string[]) => Promise<string>; P: string }, state: string) {
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
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'))
    .map(([n, g]) => ({ name: n!.split('@')[1]!, guid: g! }));
}

/** sha256 of the replica's data.img: mounted read-only for the look, then unmounted again. */
async function replicaSum(state: string): Promise<string> {
  await peer.ok(['zfs', 'mount', `${peer.P}/${state}`]);
  try {
    return (await peer.ok(['sha256sum', `${peer.STATES}/${state}/data.img`])).split(' ')[0]!;
  } finally {
    await peer.ok(['zfs', 'unmount', `${peer.P}/${state}`]);
  }
}
const localSum = async (state: string) =>
  (await ok(['sha256sum', `${STATES}/${state}/data.img`])).split(' ')[0]!;
const write = (state: string, mib: number, seek = 0) =>
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
const send = async (args: string[]) => {
  const r = await vm(['--json', 'send', ...args]);
  type Sent = { base: string | null; snapshots: string[]; bytes: number; resumed: boolean };
  return { ...r, doc: r.code === 0 ? json<{ send: Sent }>(r.stdout).send : undefined };
};
/** Everything either lab could have had changed: for "nothing changed on either host". */
const both = async () =>
  `${await worldSnapshot()}\n---\n${await peer.ok(['zfs', 'list', '-H', '-t', 'all', '-o', 'name,readonly,userrefs', '-r', peer.P])}`;

/** Fuse only: refusals that come before any stream; the set-aside's zfs steps are checked on OpenZFS elsewhere. */
const refusedBeforeStream = costly(
  'refused before any stream; set-aside is rename, clone and promote, which rollback --destroy-newer and the trash check on OpenZFS',
);

describe.skipIf(!hasPeer)(`vm-state send between two hypervisors (${backend} pair)`, () => {
  beforeEach(async () => {
    await Promise.all([resetLab(), resetPeer()]);
    await ok(['vm-state', 'remote', 'add', 'peer', 'vmstate-peer']);
  });
  afterAll(async () => {
    await Promise.all([resetLab(), resetPeer()]);
  });

  costly('remote add and list: the config file')(
    'remote add, list, check and remove go through the config file',
    async () => {
      expect(json<{ remotes: Record<string, unknown> }>(await ok(['cat', CONFIG])).remotes).toEqual({
        peer: { destination: 'vmstate-peer', sshOptions: {} },
      });
      const check = json(await ok(['vm-state', '--json', 'remote', 'check', 'peer']));
      expect(check).toMatchObject({
        name: 'peer',
        host: 'vmstate-peer',
        protocol: 1,
        parent: peer.P,
        openZfs: backend === 'openzfs',
      });
      expect((check.slots as unknown[]).length).toBe(5);
      await ok([
        'vm-state',
        'remote',
        'add',
        'other',
        'root@host.invalid',
        '--port',
        '2222',
        '--ssh-option',
        'ConnectTimeout=2',
      ]);
      expect(await ok(['vm-state', 'remote', 'list'])).toMatch(
        /other\troot@host.invalid\tport 2222, -o ConnectTimeout=2/,
      );
      await ok(['vm-state', 'remote', 'remove', 'other']);
      expect(await ok(['vm-state', 'remote', 'list'])).not.toContain('other');
    },
  );

  it('a full send, then an incremental: the same bytes, the same guids, the operator`s snapshots too', async () => {
    await ok(['vm-state', 'create', 'web']);
    await write('web', 8);
    await ok(['zfs', 'snapshot', `${P}/web@op1`]);
    await write('web', 1, 2);
    await ok(['zfs', 'snapshot', `${P}/web@op2`]);
    // The next send's base, held on both sides, and nothing else (`zfs holds`: OpenZFS only).
    const heldOnly = async (snapshot: string) => {
      if (backend !== 'openzfs') return;
      expect(await holdsOf(ok, `${P}/web`)).toEqual({ [snapshot]: ['vm-state:sent-to:peer'] });
      expect(await holdsOf(peer.ok, `${peer.P}/web`)).toEqual({ [snapshot]: ['vm-state:replica'] });
    };

    const first = await send(['web', 'peer']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.doc).toMatchObject({ base: null, resumed: false });
    expect(first.doc!.snapshots).toEqual([
      'op1',
      'op2',
      expect.stringMatching(/^vmstate-repl-\d{8}T\d{6}Z$/),
    ]);
    const there = await guids(peer, 'web');
    expect(there).toEqual(await guids(here, 'web'));
    expect(await replicaSum('web')).toBe(await localSum('web'));
    expect(await peer.zfsProp(`${peer.P}/web`, 'readonly')).toBe('on');
    expect(await peer.zfsProp(`${peer.P}/web`, 'mounted')).toBe('no');
    expect(await peer.zfsProp(`${peer.P}/web`, 'vm-state:replica-of')).toBe('vmstate-lab:web');
    await heldOnly(first.doc!.snapshots.at(-1)!);

    // 1 MiB changed: the incremental carries about that, from the newest shared snapshot.
    await write('web', 1, 5);
    const second = await send(['web', 'peer']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.doc!.base).toBe(first.doc!.snapshots.at(-1));
    expect(second.doc!.bytes).toBeGreaterThan(1024 * 1024);
    expect(second.doc!.bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(await guids(peer, 'web')).toEqual(await guids(here, 'web'));
    expect(await replicaSum('web')).toBe(await localSum('web'));
    await heldOnly(second.doc!.snapshots.at(-1)!);

    // Both sides say what is what.
    const mine = json<{ states: { name: string; sentTo: { remote: string }[] }[] }>(
      await ok(['vm-state', '--json', 'list']),
    );
    expect(mine.states.find((s) => s.name === 'web')!.sentTo).toEqual([
      { remote: 'peer', name: 'web', at: expect.any(String) },
    ]);
    const theirs = json<{ states: { name: string; replicaOf: string; syncedAt: string }[] }>(
      await peer.ok(['vm-state', '--json', 'list']),
    );
    expect(theirs.states.find((s) => s.name === 'web')).toMatchObject({
      replicaOf: 'vmstate-lab:web',
      syncedAt: expect.any(String),
    });
    expect(await peer.ok(['vm-state', 'list'])).toContain('web (replica of vmstate-lab:web)');

    // The receiving host's journal: each receive serve made there, what it ran, and over which ssh
    // (on OpenZFS the pair's two sides share the guest's journal: serve's entries are the peer's).
    const logged = json<{ entries: LogEntry[] }>(
      await peer.ok(['vm-state', '--json', 'log', '--state', 'web', '--lines', '10']),
    )
      .entries.filter((e) => e.command.startsWith('serve '))
      .slice(-2);
    expect(logged.map((e) => [e.command, e.result])).toEqual([
      ['serve receive', 'done'],
      ['serve receive', 'done'],
    ]);
    expect(logged[1]!.steps[0]).toMatch(new RegExp(`^zfs receive .*${peer.P}/web$`));
    expect(logged[1]!.who.sshConnection).toMatch(/\S+ \d+ \S+ \d+/);
  });

  onlyOn('openzfs', 'bookmarks')(
    'the base snapshot destroyed here by hand: the next send goes from its bookmark, and the replica follows',
    async () => {
      await ok(['vm-state', 'create', 'web']);
      await write('web', 4);
      const first = await send(['web', 'peer']);
      expect(first.code, first.stderr).toBe(0);
      const sent = first.doc!.snapshots.at(-1)!;
      const cursor = `${P}/web#vmstate-to-peer`;
      const guidOf = async (name: string) =>
        (await ok(['zfs', 'get', '-H', '-o', 'value', 'guid', name])).trim();
      expect(await guidOf(cursor)).toBe(await guidOf(`${P}/web@${sent}`));
      // What the hold is there to prevent, done by hand: the base is gone here.
      await ok(['zfs', 'release', 'vm-state:sent-to:peer', `${P}/web@${sent}`]);
      await ok(['zfs', 'destroy', `${P}/web@${sent}`]);

      await write('web', 1, 2);
      const dry = await vm(['--dry-run', 'send', 'web', 'peer']);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stderr).toContain(`${sent}, the last snapshot 'peer:web' has from here, is gone here`);
      expect(dry.stdout).toContain(`zfs send -i ${cursor} ${P}/web@vmstate-repl-`);
      const next = await send(['web', 'peer']);
      expect(next.code, next.stderr).toBe(0);
      expect(next.doc).toMatchObject({ base: '#vmstate-to-peer' });
      expect(next.doc!.bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
      const newest = next.doc!.snapshots.at(-1)!;
      expect((await guids(peer, 'web')).at(-1)).toEqual({
        name: newest,
        guid: await guidOf(`${P}/web@${newest}`),
      });
      expect(await replicaSum('web')).toBe(await localSum('web'));
      expect(await guidOf(cursor)).toBe(await guidOf(`${P}/web@${newest}`));
    },
  );

  costly('prune and delete read userrefs as on fuse; the holds are checked above')(
    'the base is held on both sides: prune and snapshot delete pass over it, and say why',
    async () => {
      await ok(['vm-state', 'create', 'web']);
      await ok(['zfs', 'snapshot', `${P}/web@op1`]);
      const r = await send(['web', 'peer']);
      expect(r.code, r.stderr).toBe(0);
      const base = r.doc!.snapshots.at(-1)!;
      for (const lab of [{ vm, ok }, peer]) {
        const del = await lab.vm(['snapshot', 'delete', `web@${base}`]);
        expect(del.code).toBe(5);
        expect(del.stderr).toContain('is held: it is the last snapshot shared with a replica');
        const pr = await lab.vm(['prune', 'web', '--keep', '0']);
        expect(pr.code, pr.stderr).toBe(0);
        expect(pr.stderr).toContain(`Keeping web@${base}: held`);
      }
      expect((await guids(here, 'web')).map((s) => s.name)).toEqual([base]);
      expect((await guids(peer, 'web')).map((s) => s.name)).toEqual([base]);
      // The next send starts from it all the same.
      const next = await send(['web', 'peer']);
      expect(next.code, next.stderr).toBe(0);
      expect(next.doc!.base).toBe(base);
    },
  );

  refusedBeforeStream(
    'a diverged target is refused (exit 5, nothing changes); --force keeps its own snapshots aside there',
    async () => {
      await ok(['vm-state', 'create', 'web']);
      await write('web', 2);
      expect((await send(['web', 'peer'])).code).toBe(0);
      await peer.ok(['zfs', 'snapshot', `${peer.P}/web@theirs`]);
      await write('web', 1);

      const before = await both();
      const refused = await vm(['send', 'web', 'peer']);
      expect(refused.code).toBe(5);
      expect(refused.stderr).toMatch(
        /has diverged .* since the last shared snapshot vmstate-repl-\S+ \(snapshots only it has: theirs\)/,
      );
      expect(await both()).toBe(before);

      const forced = await send(['web', 'peer', '--force']);
      expect(forced.code, forced.stderr).toBe(0);
      const kept = (await peer.ok(['zfs', 'list', '-H', '-o', 'name', '-r', peer.P]))
        .split('\n')
        .find((n) => n.includes('web.diverged-'));
      expect(kept).toBeDefined();
      expect((await guids(peer, kept!.split('/').at(-1)!)).map((s) => s.name)).toEqual(['theirs']);
      expect(await guids(peer, 'web')).toEqual(await guids(here, 'web'));
      expect(await replicaSum('web')).toBe(await localSum('web'));
    },
  );

  refusedBeforeStream(
    'a state of its own there is never written (exit 4); a target without room is refused before sending',
    async () => {
      await ok(['vm-state', 'create', 'web']);
      await write('web', 8);
      await peer.ok(['vm-state', 'create', 'web']);
      let before = await both();
      const mine = await vm(['send', 'web', 'peer']);
      expect(mine.code).toBe(4);
      expect(mine.stderr).toContain("State 'peer:web' exists and is not a replica");
      expect(await both()).toBe(before);

      // zfs-fuse counts written bytes in `referenced` only once the transaction group is on disk.
      await ok(['sync']);
      await peer.ok(['zfs', 'set', 'quota=4M', peer.P]);
      before = await both();
      const full = await vm(['send', 'web', 'peer:small']);
      expect(full.code, full.stderr).toBe(5);
      expect(full.stderr).toMatch(/'peer' has \S+ free, and the send needs about 8\.\d+M/);
      expect(await both()).toBe(before);
    },
  );

  costly('argument errors and unknown remotes')(
    'bad input changes nothing on either host: exit codes from the table',
    async () => {
      await ok(['vm-state', 'create', 'web']);
      await ok([
        'vm-state',
        'remote',
        'add',
        'nowhere',
        'nowhere.invalid',
        '--ssh-option',
        'ConnectTimeout=2',
      ]);
      const before = await both();
      const cases: [string[], number, RegExp][] = [
        [['send', 'web', 'unknown'], 3, /No remote 'unknown'/],
        [['send', 'web', 'peer:../x'], 2, /Invalid state name/],
        [['send', 'ghost', 'peer'], 3, /ghost/],
        [['send', 'web', 'nowhere'], 8, /Cannot reach remote 'nowhere'/],
        [['remote', 'add', '-x', 'host'], 2, /./],
        [['remote', 'add', 'bad/name', 'host'], 2, /Invalid remote name/],
        [['remote', 'add', 'r', '-oProxyCommand=x'], 2, /./],
        [['remote', 'check', 'nowhere'], 8, /Cannot reach/],
      ];
      for (const [args, code, message] of cases) {
        const r = await vm(args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
        expect(r.stderr).toMatch(message);
      }
      expect(await both()).toBe(before);
    },
  );

  costly('ssh key restrictions: sshd, no ZFS')(
    'a key restricted to `vm-state serve` can do nothing else; a remote without vm-state, or of another protocol, is exit 8',
    async () => {
      await ok(['vm-state', 'create', 'web']);
      await ok(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', '/root/.ssh/serve_only']);
      const key = (await ok(['cat', '/root/.ssh/serve_only.pub'])).trim();
      const lines = [`command="vm-state serve",restrict ${key}`];
      const addKey = (line: string) =>
        peer.ok(['sh', '-c', `printf '%s\\n' '${line}' >> ${peer.authorizedKeys}`]);
      await addKey(lines[0]!);
      await ok([
        'vm-state',
        'remote',
        'add',
        'locked',
        'vmstate-peer',
        '--identity',
        '/root/.ssh/serve_only',
      ]);
      // What serve allows works through that key...
      expect((await vm(['remote', 'check', 'locked'])).code).toBe(0);
      expect((await vm(['send', 'web', 'locked'])).code).toBe(0);
      // ...and nothing else does.
      const ssh = (cmd: string) =>
        sh([
          'ssh',
          '-o',
          'BatchMode=yes',
          '-o',
          'IdentitiesOnly=yes',
          '-i',
          '/root/.ssh/serve_only',
          'vmstate-peer',
          cmd,
        ]);
      for (const cmd of [
        `zfs destroy -r ${peer.P}/web`,
        'vm-state --yes delete web',
        'touch /root/pwned',
        'vm-state serve --request x; touch /root/pwned',
      ]) {
        const r = await ssh(cmd);
        expect(r.code, cmd).not.toBe(0);
      }
      expect(await peer.datasetExists(`${peer.P}/web`)).toBe(true);
      expect((await peer.sh(['test', '-e', '/root/pwned'])).code).not.toBe(0);
      // No port forwarding, no pty: restrict.
      expect(
        (
          await sh([
            'ssh',
            '-o',
            'BatchMode=yes',
            '-o',
            'IdentitiesOnly=yes',
            '-i',
            '/root/.ssh/serve_only',
            '-N',
            '-o',
            'ExitOnForwardFailure=yes',
            '-L',
            '127.0.0.1:0:127.0.0.1:22',
            'vmstate-peer',
          ])
        ).code,
      ).not.toBe(0);

      // A remote whose forced command is not vm-state, or a vm-state of another protocol: exit 8.
      const fakes: [string, string, RegExp][] = [
        ['novm', 'vm-statex serve', /No vm-state on remote 'novm'/],
        [
          'other',
          `printf '%s\\n' '{"protocol":2,"ok":true,"result":{}}'`,
          /speaks vm-state protocol 2, this one 1/,
        ],
        ['mute', 'true', /No answer from vm-state on remote 'mute'/],
      ];
      for (const [name, command, message] of fakes) {
        await ok(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', `/root/.ssh/${name}`]);
        const pub = (await ok(['cat', `/root/.ssh/${name}.pub`])).trim();
        await peer.ok(['sh', '-c', 'cat >> "$0"', peer.authorizedKeys], {
          input: `command="${command.replace(/"/g, '\\"')}",restrict ${pub}\n`,
        });
        await ok(['vm-state', 'remote', 'add', name, 'vmstate-peer', '--identity', `/root/.ssh/${name}`]);
        const before = await both();
        for (const args of [
          ['remote', 'check', name],
          ['send', 'web', name],
        ]) {
          const r = await vm(args);
          expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(8);
          expect(r.stderr).toMatch(message);
        }
        expect(await both()).toBe(before);
      }
    },
  );

  it('migrate to the remote: bulk while it runs, the last delta stopped, started there; this copy its replica', async () => {
    await ok(['vm-state', 'create', 'web']);
    await write('web', 4);
    await ok(['vm-state', 'assign', 'slot1', 'web']);
    await ok(['systemctl', 'start', 'microvm@slot1.service']);
    // The clock held still: the bulk send and the last delta are taken in the same second.
    const at = 'VM_STATE_NOW=2026-12-01T13:15:00Z';
    const r = await sh(['env', at, 'vm-state', '--json', 'migrate', 'web', 'peer:slot2']);
    expect(r.code, r.stderr).toBe(0);
    const doc = json<{ migrate: { downtimeSeconds: number } }>(r.stdout);
    expect(doc.migrate.downtimeSeconds).toBeGreaterThan(0);
    const repl = 'vmstate-repl-20261201T131500Z';
    const names = (await guids(peer, 'web')).map((g) => g.name);
    expect(names).toEqual([repl, `${repl}-2`]);
    // There: the live state, writable, mounted, assigned and running.
    expect(await peer.zfsProp(`${peer.P}/web`, 'readonly')).toBe('off');
    expect(await peer.zfsProp(`${peer.P}/web`, 'mounted')).toBe('yes');
    expect(await peer.zfsProp(`${peer.P}/web`, 'vm-state:replica-of')).toBe('-');
    expect((await peer.ok(['systemctl', 'is-active', peer.unit('slot2')])).trim()).toBe('active');
    expect(json<Record<string, string>>(await peer.ok(['cat', peer.assignmentsFile])).slot2).toBe('web');
    // Here: the replica, read-only, unmounted, assigned to nothing, its slot stopped.
    expect(await zfs('web', 'readonly')).toBe('on');
    expect(await zfs('web', 'mounted')).toBe('no');
    expect(await zfs('web', 'vm-state:replica-of')).toBe('vmstate-peer:web');
    expect((await sh(['systemctl', 'is-active', 'microvm@slot1.service'])).stdout.trim()).toBe('inactive');
    expect(
      json<Record<string, string>>(await ok(['cat', '/etc/vm-state-assignments.json'])).slot1,
    ).toBeUndefined();
    expect(await guids(peer, 'web')).toEqual(await guids(here, 'web'));
    // The direction is reversed: this copy refuses to run.
    expect((await vm(['migrate', 'web', 'slot1'])).code).not.toBe(0);
  });

  costly('the rollback is systemd and vm-state; migrate above covers its zfs steps')(
    'migrate with a failing start there: the remote is put back, the slot here runs again',
    async () => {
      await ok(['vm-state', 'create', 'web']);
      await write('web', 2);
      await ok(['vm-state', 'assign', 'slot1', 'web']);
      await ok(['systemctl', 'start', 'microvm@slot1.service']);
      const dropIn = `/run/systemd/system/${peer.unit('slot3')}.d`;
      await peer.ok(['mkdir', '-p', dropIn]);
      await peer.ok(['sh', '-c', `printf '[Service]\\nExecStartPre=/bin/false\\n' > ${dropIn}/test.conf`]);
      await peer.ok(['systemctl', 'daemon-reload']);
      const r = await vm(['migrate', 'web', 'peer:slot3']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("On remote 'peer'");
      expect(r.stderr).toContain('Put the replica back');
      expect(r.stderr).toMatch(/Rolled back: .*systemctl start microvm@slot1.service/);
      // There: still a read-only replica, its slot not running it.
      expect(await peer.zfsProp(`${peer.P}/web`, 'readonly')).toBe('on');
      expect(await peer.zfsProp(`${peer.P}/web`, 'vm-state:replica-of')).toBe('vmstate-lab:web');
      expect((await peer.sh(['systemctl', 'is-active', peer.unit('slot3')])).stdout.trim()).not.toBe(
        'active',
      );
      // There, in its journal: the promote, undone.
      const there = json<{ entries: LogEntry[] }>(
        await peer.ok(['vm-state', '--json', 'log', '--slot', 'slot3', '--lines', '1']),
      ).entries;
      expect(there.map((e) => [e.command, e.result])).toEqual([['serve promote', 'undone']]);
      // Here: the slot runs its state again, writable.
      expect((await ok(['systemctl', 'is-active', 'microvm@slot1.service'])).trim()).toBe('active');
      expect(await zfs('web', 'readonly')).toBe('off');
      expect(json<Record<string, string>>(await ok(['cat', '/etc/vm-state-assignments.json'])).slot1).toBe(
        'web',
      );
    },
  );
});
