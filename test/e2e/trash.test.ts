import { beforeEach, describe, expect, it } from 'vitest';
import { ListOut, ResultOut, TrashOut } from '../../src/schemas/output.js';
import { costly, datasetExists, ok, P, readLinkIn, resetLab, sh, STATES, vm, zfsProp } from './lab.js';

/** delete into the trash, undelete, trash purge, rollback --destroy-newer: against the real zfs and systemd. */

const T = `${P}/.trash`;
/** A state with a 2 MiB image of random bytes (and so a sha256 worth comparing), synced to the pool. */
const fill = (state: string) =>
  ok(['sh', '-c', `head -c 2097152 /dev/urandom > ${STATES}/${state}/data.img && sync`]);
const sha = async (state: string) => (await ok(['sha256sum', `${STATES}/${state}/data.img`])).split(' ')[0]!;
const trash = async () => TrashOut.parse(JSON.parse(await ok(['vm-state', '--json', 'trash', 'list'])));
const bytes = async (ds: string, prop: string) =>
  Number((await ok(['zfs', 'get', '-H', '-p', '-o', 'value', prop, ds])).trim());
const guid = async (snap: string) =>
  (await ok(['zfs', 'get', '-H', '-p', '-o', 'value', 'guid', snap])).trim();
/** Every dataset and snapshot of the pool's states, with the properties a bad input must not change. */
const world = () =>
  ok(['zfs', 'get', '-H', '-p', '-o', 'name,property,value', 'mounted,readonly,origin,guid', '-r', P]);

describe('the trash', () => {
  beforeEach(resetLab);

  costly('the next test deletes, undeletes and purges on OpenZFS too, with a clone')(
    'delete moves the state into the trash; undelete brings it back byte-identical',
    async () => {
      await ok(['vm-state', 'create', 'web']);
      await fill('web');
      await ok(['vm-state', 'assign', 'slot1', 'web']);
      await ok(['vm-state', 'snapshot', 'slot1', 's1']);
      const before = await sha('web');
      const s1 = await guid(`${P}/web@s1`);
      await ok(['vm-state', 'assign', 'slot1', 'other']); // web is no slot's now

      const del = await vm(['delete', 'web'], { input: 'DELETE\n' });
      expect(del.code, del.stderr).toBe(0);
      expect(await datasetExists(`${P}/web`)).toBe(false);
      const [entry] = (await trash()).entries;
      expect(entry).toMatchObject({ name: 'web', trashedBy: 'root', snapshots: ['s1'] });
      const ds = `${T}/${entry!.id}`;
      expect(await zfsProp(ds, 'mounted')).toBe('no');
      expect(await zfsProp(ds, 'readonly')).toBe('on');
      expect(await zfsProp(ds, 'canmount')).toBe('noauto');
      expect(await zfsProp(T, 'canmount')).toBe('off');
      // Neither the trash nor its entry is a state, nor the mountpoint left behind.
      const list = ListOut.parse(JSON.parse(await ok(['vm-state', '--json', 'list'])));
      expect(list.states.map((s) => s.name)).toEqual(['other']);
      expect(list.trash.entries).toBe(1);
      expect(list.trash.used).toBeGreaterThan(2_000_000);
      expect(await ok(['vm-state', 'list'])).toMatch(/Trash: 1 deleted state\(s\), 2\.\d+M /);
      expect((await sh(['test', '-e', `${STATES}/web`])).code).not.toBe(0);
      const doctor = await vm(['doctor']);
      expect(doctor.stdout + doctor.stderr).not.toContain('.trash');

      const back = await vm(['--json', 'undelete', 'web']);
      expect(back.code, back.stderr).toBe(0);
      expect(ResultOut.parse(JSON.parse(back.stdout)).dryRun).toBe(false);
      expect(await sha('web')).toBe(before);
      expect(await guid(`${P}/web@s1`)).toBe(s1);
      expect(await zfsProp(`${P}/web`, 'readonly')).toBe('off');
      expect(await zfsProp(`${P}/web`, 'mountpoint')).toBe(`${STATES}/web`);
      expect(await zfsProp(`${P}/web`, 'vm-state:trashed')).toBe('-');
      expect((await trash()).entries).toEqual([]);
      // It works as a state again: assigned, the link resolves.
      await ok(['vm-state', 'assign', 'slot2', 'web']);
      expect(await readLinkIn('/var/lib/microvms/slot2/data.img')).toBe(`${STATES}/web/data.img`);
      expect((await sh(['test', '-f', '/var/lib/microvms/slot2/data.img'])).code).toBe(0);
    },
  );

  it('a clone of it keeps working in the trash; undelete --as, then purge promotes it and frees the space', async () => {
    await ok(['vm-state', 'create', 'base']);
    await fill('base');
    const original = await sha('base');
    await ok(['vm-state', 'clone', 'base', 'kid']);
    await ok(['sh', '-c', `echo more >> ${STATES}/base/data.img && sync`]);
    const changed = await sha('base');

    expect((await vm(['delete', 'base', '--yes'])).code).toBe(0);
    expect(await zfsProp(`${P}/kid`, 'mounted')).toBe('yes');
    expect(await sha('kid')).toBe(original);
    const [entry] = (await trash()).entries;
    expect(await zfsProp(`${P}/kid`, 'origin')).toBe(`${T}/${entry!.id}@clone-for-kid`);
    expect(entry!.clones).toEqual([`${P}/kid`]);

    // Back under another name (the clone still mounted), then into the trash again.
    const as = await vm(['undelete', 'base', '--as', 'base2']);
    expect(as.code, as.stderr).toBe(0);
    expect(await sha('base2')).toBe(changed);
    expect(await sha('kid')).toBe(original);
    expect((await vm(['delete', 'base2', '--yes'])).code).toBe(0);

    const free = await bytes(P, 'available');
    const dry = await vm(['--dry-run', 'trash', 'purge']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`zfs promote ${P}/kid`);
    expect((await trash()).entries).toHaveLength(1);
    const purge = await vm(['trash', 'purge'], { input: 'PURGE\n' });
    expect(purge.code, purge.stderr).toBe(0);
    expect(purge.stdout).toContain("State 'kid' was cloned from 'base2': promoted it");
    expect((await trash()).entries).toEqual([]);
    expect(await zfsProp(`${P}/kid`, 'origin')).toBe('-');
    expect(await sha('kid')).toBe(original);
    // What only the deleted state held (its changed image) is given back: OpenZFS frees in the background.
    let after = free;
    for (let i = 0; i < 40 && after <= free; i++) {
      await ok(['sync']);
      after = await bytes(P, 'available');
      if (after <= free) await new Promise((r) => setTimeout(r, 250));
    }
    expect(after).toBeGreaterThan(free);
  });

  costly("the trash's logic over the renames and promotes the kept trash tests make on OpenZFS")(
    'purge --expired and --older-than go by the time of the delete (VM_STATE_NOW)',
    async () => {
      await ok(['vm-state', 'create', 'old']);
      await ok(['vm-state', 'create', 'new']);
      await ok(['env', 'VM_STATE_NOW=2026-01-01T00:00:00Z', 'vm-state', 'delete', 'old', '--yes']);
      await ok(['env', 'VM_STATE_NOW=2026-01-07T00:00:00Z', 'vm-state', 'delete', 'new', '--yes']);
      const at = (when: string, args: string[]) => ok(['env', `VM_STATE_NOW=${when}`, 'vm-state', ...args]);
      expect(await at('2026-01-07T12:00:00Z', ['trash', 'purge', '--expired', '--yes'])).toContain(
        'Nothing to purge',
      );
      await at('2026-01-08T00:00:01Z', ['trash', 'purge', '--expired', '--yes']);
      expect((await trash()).entries.map((e) => e.name)).toEqual(['new']);
      await at('2026-01-08T00:00:01Z', ['trash', 'purge', '--older-than', '12h', '--yes']);
      expect((await trash()).entries).toEqual([]);
    },
  );

  costly("the trash's logic over the renames and promotes the kept trash tests make on OpenZFS")(
    'bad input: a clear error each, nothing changed',
    async () => {
      await ok(['vm-state', 'create', 'web']);
      await ok(['vm-state', 'create', 'dev']);
      await ok(['vm-state', 'delete', 'web', '--yes']);
      await ok(['vm-state', 'create', 'web']);
      const before = await world();
      const cases: [string[], number, string][] = [
        [['undelete', 'web'], 4, "State 'web' already exists"],
        [['undelete', 'nope'], 3, "Nothing called 'nope' in the trash"],
        [['undelete', 'web', '--as', 'dev'], 4, "State 'dev' already exists"],
        [['undelete', '../x'], 2, 'Invalid state name'],
        [['undelete', 'web', '--as', '-rf'], 2, 'Invalid state name'],
        [['trash', 'purge', 'nope', '--yes'], 3, "Nothing called 'nope' in the trash"],
        [['trash', 'purge', '--older-than', 'soon', '--yes'], 2, 'Invalid duration'],
        [['trash', 'purge', '--expired', '--older-than', '1d', '--yes'], 2, '--expired is --older-than'],
        [['trash', 'purge'], 2, 'PURGE'],
        [['delete', '.trash', '--yes'], 2, 'Invalid state name'],
      ];
      for (const [args, code, said] of cases) {
        const r = await vm(args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
        expect(r.stderr).toContain(said);
      }
      expect(await world()).toBe(before);
    },
  );

  costly("the trash's logic over the renames and promotes the kept trash tests make on OpenZFS")(
    'rollback --destroy-newer keeps the newer snapshots and the data in the trash, guids unchanged',
    async () => {
      await ok(['vm-state', 'create', 'dev']);
      await ok(['vm-state', 'assign', 'slot1', 'dev']);
      await fill('dev');
      await ok(['vm-state', 'snapshot', 'slot1', 's1']);
      const atS1 = await sha('dev');
      await fill('dev');
      await ok(['vm-state', 'snapshot', 'slot1', 's2']);
      await ok(['vm-state', 'restore', 'dev@s2', 'kid']);
      await fill('dev');
      const now = await sha('dev');
      const guids = [await guid(`${P}/dev@s1`), await guid(`${P}/dev@s2`)];
      await ok(['systemctl', 'start', 'microvm@slot1.service']);

      const r = await vm(['rollback', 'slot1', 's1', '--destroy-newer'], { input: 'ROLLBACK\n' });
      expect(r.code, r.stderr).toBe(0);
      expect(await sha('dev')).toBe(atS1);
      expect(await guid(`${P}/dev@s1`)).toBe(guids[0]);
      expect(await zfsProp(`${P}/dev`, 'origin')).toBe('-');
      expect((await ok(['systemctl', 'is-active', 'microvm@slot1.service'])).trim()).toBe('active');
      expect((await sh(['test', '-f', '/var/lib/microvms/slot1/data.img'])).code).toBe(0);
      const [entry] = (await trash()).entries;
      expect(entry).toMatchObject({ name: 'dev', snapshots: ['s2'], origin: `${P}/dev@s1` });
      const kept = `${T}/${entry!.id}`;
      expect(await guid(`${kept}@s2`)).toBe(guids[1]);
      expect(await zfsProp(`${P}/kid`, 'origin')).toBe(`${kept}@s2`);
      expect(await zfsProp(`${P}/kid`, 'mounted')).toBe('yes');

      // The data as it was before the rollback comes back under another name.
      await ok(['systemctl', 'stop', 'microvm@slot1.service']);
      expect((await vm(['undelete', entry!.id, '--as', 'before'])).code).toBe(0);
      expect(await sha('before')).toBe(now);
      expect(await datasetExists(`${P}/before@s2`)).toBe(true);
    },
  );
});
