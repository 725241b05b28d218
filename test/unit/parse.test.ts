import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseZfsGet } from '../../src/io/zfs-parse.js';
import { parseSystemctlShow } from '../../src/io/systemd-parse.js';
import { classify } from '../../src/io/runner.js';
import { zfsGetText } from '../support/world.js';

const P = 'microvms/storage/states';
const D = '/var/lib/microvms/states';

/** The labs' two ZFS: lab/samples/<zfs>/ holds what lab/capture-samples recorded there. */
const ZFS_OF_LAB = [
  ['zfs-fuse', 'zfs-fuse'],
  ['OpenZFS 2.3', 'openzfs'],
] as const;
const sampleText = (dir: string, name: string) =>
  readFileSync(new URL(`../../lab/samples/${dir}/${name}.txt`, import.meta.url), 'utf8');
const between = (raw: string, from: string, to: string) => raw.split(from)[1]!.split(to)[0]!.trim();
const sampleOut = (zfs: string, name: string) =>
  between(sampleText(ZFS_OF_LAB.find(([z]) => z === zfs)![1], name), '--- stdout ---', '--- stderr ---');

describe('zfs get parser', () => {
  it('reads states, snapshots in order, and dependent clones from origins', () => {
    const text = zfsGetText(P, D, [
      { name: 'a', snapshots: ['s1', 's2'] },
      { name: 'b', origin: `${P}/a@s1`, mounted: false },
    ]);
    const states = parseZfsGet(text, P, D);
    expect([...states.keys()]).toEqual(['a', 'b']);
    const a = states.get('a')!;
    expect(a).toMatchObject({
      kind: 'dataset',
      dataset: `${P}/a`,
      mountpoint: `${D}/a`,
      mounted: true,
      used: 2048,
      available: 9000,
      origin: null,
    });
    expect(a.snapshots.map((s) => s.name)).toEqual(['s1', 's2']);
    expect(a.snapshots[0]!.clones).toEqual([`${P}/b`]);
    expect(a.snapshots[1]!.clones).toEqual([]);
    expect(a.snapshots[0]!.created.toISOString()).toMatch(/^20\d\d-/);
    expect(states.get('b')).toMatchObject({ origin: `${P}/a@s1`, mounted: false });
  });

  it('reads mountpoint none or legacy as no path (the default place)', () => {
    const text = `${P}/a\ttype\tfilesystem\n${P}/a\tmountpoint\tnone\n${P}/b\ttype\tfilesystem\n${P}/b\tmountpoint\tlegacy\n`;
    const states = parseZfsGet(text, P, D);
    expect(states.get('a')!.mountpoint).toBe(`${D}/a`);
    expect(states.get('b')!.mountpoint).toBe(`${D}/b`);
  });

  it('ignores the parent itself and deeper descendants', () => {
    const text = `${P}\ttype\tfilesystem\n${P}/a\ttype\tfilesystem\n${P}/a/child\ttype\tfilesystem\n${P}/a/child@x\ttype\tsnapshot\n`;
    const states = parseZfsGet(text, P, D);
    expect([...states.keys()]).toEqual(['a']);
    expect(states.get('a')!.snapshots).toEqual([]);
  });

  it.each(ZFS_OF_LAB)('reads real %s output (lab/samples/%s)', (zfs) => {
    const states = parseZfsGet(`${sampleOut(zfs, 'zfs-get-states')}\n`, P, D);
    expect(states.size).toBeGreaterThanOrEqual(3);
    const a = states.get('a')!;
    expect(a.snapshots.map((s) => s.name)).toContain('s1');
    expect(a.snapshots.find((s) => s.name === 's1')!.clones).toEqual([`${P}/c`]);
    expect(states.get('c')!.origin).toBe(`${P}/a@s1`);
    expect(a.used).toBeGreaterThan(0);
    // after `zfs promote c`, the snapshot and its origin move to c
    const after = parseZfsGet(`${sampleOut(zfs, 'zfs-get-states-after-promote')}\n`, P, D);
    expect(after.get('c')!.origin).toBeNull();
    expect(after.get('a')!.origin).toBe(`${P}/c@s1`);
    expect(after.get('c')!.snapshots.find((s) => s.name === 's1')!.clones).toEqual([`${P}/a`]);
  });
});

describe('systemctl show parser', () => {
  it('reads one block per unit, in order', () => {
    const text =
      'Id=microvm@slot1.service\nLoadState=loaded\nActiveState=active\nSubState=running\nMainPID=77\nResult=success\n\nId=microvm@slot2.service\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\nResult=success\n';
    const [u1, u2] = parseSystemctlShow(text, ['microvm@slot1.service', 'microvm@slot2.service']);
    expect(u1).toMatchObject({ activeState: 'active', mainPid: 77, loadState: 'loaded' });
    expect(u2).toMatchObject({ activeState: 'inactive', mainPid: 0 });
  });
});

describe('failure classes from zfs and systemctl messages', () => {
  it.each([
    ["cannot create 'p/a': dataset already exists", 'exists'],
    ["cannot open 'p/x': dataset does not exist", 'not-found'],
    ["cannot destroy 'p/a': dataset is busy", 'busy'],
    ["cannot destroy 'p/a@s': snapshot has dependent clones", 'has-dependents'],
    ['cannot destroy: filesystem has children', 'has-dependents'],
    ['permission denied', 'permission'],
    ['Failed to stop x.service: Access denied', 'permission'],
    ['Unit x.service not loaded.', 'not-found'],
    ['something odd', 'other'],
  ])('%s -> %s', (msg, cls) => expect(classify(msg)).toBe(cls));

  // The real errors of both labs' zfs (lab/samples/<zfs>/NAME.txt), each a failure.
  const REAL: [string, string][] = [
    ['zfs-create-existing', 'exists'],
    ['zfs-snapshot-existing', 'exists'],
    ['zfs-clone-existing', 'exists'],
    ['zfs-rename-existing', 'exists'],
    ['zfs-destroy-nonexistent', 'not-found'],
    ['zfs-destroy-snapshot-nonexistent', 'not-found'],
    ['zfs-get-nonexistent', 'not-found'],
    ['zfs-list-nonexistent', 'not-found'],
    ['zfs-create-parent-missing', 'not-found'],
    ['zfs-snapshot-nonexistent', 'not-found'],
    ['zfs-clone-nonexistent-snapshot', 'not-found'],
    ['zfs-rename-nonexistent', 'not-found'],
    ['zfs-promote-nonexistent', 'not-found'],
    ['zfs-rollback-nonexistent', 'not-found'],
    ['zfs-destroy-snapshot-with-clone', 'has-dependents'],
    ['zfs-destroy-dataset-with-clone', 'has-dependents'],
    ['zfs-destroy-dataset-with-snapshots', 'has-dependents'],
    ['zfs-destroy-has-children', 'has-dependents'],
    ['zfs-rollback-not-latest', 'has-dependents'],
    ['zfs-rollback-newer-has-clones', 'has-dependents'],
    ['zfs-receive-existing', 'exists'],
    // a running VM holds data.img open: unmounting its dataset is busy on both
    ['zfs-unmount-busy', 'busy'],
    ['zfs-destroy-busy', 'busy'],
    ['zfs-rename-busy', 'busy'],
  ];
  describe.each(ZFS_OF_LAB)('real %s errors (lab/samples/%s)', (_zfs, dir) => {
    it.each(REAL)('%s -> %s', (name, cls) => {
      const raw = sampleText(dir, name);
      expect(raw).not.toMatch(/^exit code: 0$/m);
      expect(classify(between(raw, '--- stderr ---', '--- end ---'))).toBe(cls);
    });
  });
});
