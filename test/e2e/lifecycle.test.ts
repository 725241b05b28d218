import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorOut, ListOut, ResultOut, ShowOut, SnapshotsOut } from '../../src/schemas/output.js';
import {
  costly,
  activeState,
  assignments,
  datasetExists,
  ok,
  P,
  readLinkIn,
  resetLab,
  sh,
  slow,
  STATES,
  vm,
  worldSnapshot,
  zfsProp,
  withDropIn,
  whileBusy,
} from './lab.js';

/** snapshots, snapshot delete, show, rollback, snapshot --stop, prune, clone --full, rename: against the real zfs and systemd. */

const mainPid = async (slot: string) =>
  (await ok(['systemctl', 'show', '-p', 'MainPID', '--value', `microvm@${slot}.service`])).trim();
const snapExists = async (full: string) =>
  (await sh(['zfs', 'list', '-H', '-t', 'snapshot', '-o', 'name', full])).code === 0;
const snapNames = async (state: string) =>
  (await ok(['zfs', 'list', '-H', '-t', 'all', '-o', 'name', '-r', `${P}/${state}`]))
    .trim()
    .split('\n')
    .filter((l) => l.includes('@'))
    .map((l) => l.slice(l.indexOf('@') + 1));
/** Written and synced: zfs-fuse caches writes in the kernel, and a snapshot only sees what reached it. */
const write = (state: string, text: string) =>
  ok(['sh', '-c', `printf %s '${text}' > ${STATES}/${state}/data.img && sync`]);
const read = async (state: string) => ok(['cat', `${STATES}/${state}/data.img`]);
const bytes = async (name: string, prop: string) =>
  Number((await ok(['zfs', 'get', '-H', '-p', '-o', 'value', prop, name])).trim());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A state `dev` on slot1 with data.img "one" in @s1, "two" in @s2, "three" now. */
async function devWithHistory(): Promise<void> {
  await ok(['vm-state', 'create', 'dev']);
  await ok(['vm-state', 'assign', 'slot1', 'dev']);
  await write('dev', 'one');
  await ok(['vm-state', 'snapshot', 'slot1', 's1']);
  await write('dev', 'two');
  await ok(['vm-state', 'snapshot', 'slot1', 's2']);
  await write('dev', 'three');
}

/** Fuse only: what it checks is vm-state's own, over zfs calls the kept tests make on OpenZFS. */
const logicOnly = costly("vm-state's logic over zfs calls the kept lifecycle tests make on OpenZFS too");

describe('snapshots and show', () => {
  beforeEach(resetLab);

  logicOnly('snapshots: every snapshot newest last, exact bytes, the states cloned from each', async () => {
    await devWithHistory();
    await ok(['vm-state', 'create', 'qa']);
    await ok(['vm-state', 'assign', 'slot2', 'qa']);
    await sleep(1100); // creation times have whole seconds
    await ok(['vm-state', 'snapshot', 'slot2', 'q1']);
    await ok(['vm-state', 'restore', 'dev@s1', 'kid']);
    const doc = SnapshotsOut.parse(JSON.parse(await ok(['vm-state', '--json', 'snapshots'])));
    expect(doc.snapshots.map((s) => `${s.state}@${s.name}`)).toEqual(['dev@s1', 'dev@s2', 'qa@q1']);
    const s1 = doc.snapshots[0]!;
    expect(s1.clonedStates).toEqual(['kid']);
    expect(s1.clones).toEqual([`${P}/kid`]);
    expect(s1.used).toBe(await bytes(`${P}/dev@s1`, 'used'));
    expect(s1.referenced).toBe(await bytes(`${P}/dev@s1`, 'referenced'));
    const created = doc.snapshots.map((s) => Date.parse(s.created));
    expect([...created].sort((a, b) => a - b)).toEqual(created);

    const one = SnapshotsOut.parse(JSON.parse(await ok(['vm-state', '--json', 'snapshots', 'qa'])));
    expect(one.snapshots.map((s) => s.name)).toEqual(['q1']);
    const human = await ok(['vm-state', 'snapshots', 'dev']);
    expect(human).toMatch(/dev@s1\s.*\skid\n/);
    expect((await vm(['snapshots', 'nope'])).code).toBe(3);
  });

  logicOnly(
    'show: dataset, mount, space, origin, clones, snapshots, slots and whether they run, data.img',
    async () => {
      await devWithHistory();
      await ok(['vm-state', 'restore', 'dev@s2', 'kid']);
      await ok(['systemctl', 'start', 'microvm@slot1.service']);
      const d = ShowOut.parse(JSON.parse(await ok(['vm-state', '--json', 'show', 'dev'])));
      const size = Number((await ok(['stat', '-c', '%s', `${STATES}/dev/data.img`])).trim());
      expect(d).toMatchObject({
        name: 'dev',
        kind: 'dataset',
        dataset: `${P}/dev`,
        mountpoint: `${STATES}/dev`,
        mounted: true,
        origin: null,
        clones: [{ dataset: `${P}/kid`, state: 'kid', snapshot: 's2' }],
        slots: [
          {
            name: 'slot1',
            explicit: true,
            running: true,
            activeState: 'active',
            disk: { kind: 'symlink', resolves: true, pointsHere: true },
          },
        ],
        image: { path: `${STATES}/dev/data.img`, exists: true, size },
      });
      expect(d.snapshots.map((s) => s.name)).toEqual(['s1', 's2']);
      expect(d.used).toBe(await bytes(`${P}/dev`, 'used'));
      const kid = ShowOut.parse(JSON.parse(await ok(['vm-state', '--json', 'show', 'kid'])));
      expect(kid).toMatchObject({
        origin: `${P}/dev@s2`,
        originState: 'dev',
        slots: [],
        image: { exists: true, size: 3 },
      });
      const human = await ok(['vm-state', 'show', 'dev']);
      expect(human).toMatch(/slots\s+slot1 running/);
      expect(human).toMatch(/clones\s+kid \(from @s2\)/);
      expect((await vm(['show', 'nope'])).code).toBe(3);
    },
  );
});

describe('snapshot delete', () => {
  beforeEach(resetLab);

  it('deletes a snapshot; refuses one a state was cloned from (exit 5, named); dry-run shows the bytes it frees', async () => {
    await devWithHistory();
    await ok(['vm-state', 'restore', 'dev@s2', 'kid']);
    const before = await worldSnapshot();
    const refused = await vm(['snapshot', 'delete', 'dev@s2']);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('dependent clones: kid');
    const used = await bytes(`${P}/dev@s1`, 'used');
    const dry = ResultOut.parse(
      JSON.parse(await ok(['vm-state', '--json', '--dry-run', 'snapshot', 'delete', 'dev@s1'])),
    );
    expect(dry.steps).toEqual([expect.objectContaining({ command: `zfs destroy ${P}/dev@s1`, frees: used })]);
    expect(await worldSnapshot()).toBe(before);

    const r = await vm(['snapshot', 'delete', 'dev@s1']);
    expect(r.code, r.stderr).toBe(0);
    expect(await snapExists(`${P}/dev@s1`)).toBe(false);
    expect(await snapNames('dev')).toEqual(['s2']);
    expect((await read('kid')).trim()).toBe('two');
    // `snapshot <slot> <name>` still snapshots
    await ok(['vm-state', 'snapshot', 'slot1', 'after']);
    expect(await snapNames('dev')).toEqual(['s2', 'after']);
  });
});

describe('rollback', () => {
  beforeEach(resetLab);

  logicOnly('a running slot: stopped, rolled back, started again on the old data', async () => {
    await devWithHistory();
    await ok(['vm-state', 'snapshot', 'delete', 'dev@s1']);
    await ok(['systemctl', 'start', 'microvm@slot1.service']);
    const pid = await mainPid('slot1');
    const noConfirm = await vm(['rollback', 'slot1', 's2']);
    expect(noConfirm.code).toBe(2);
    expect((await read('dev')).trim()).toBe('three');
    const r = await vm(['rollback', 'slot1', 's2'], { input: 'ROLLBACK\n' });
    expect(r.code, r.stderr).toBe(0);
    expect((await read('dev')).trim()).toBe('two');
    expect(await activeState('slot1')).toBe('active');
    expect(await mainPid('slot1')).not.toBe(pid);
    expect(await snapNames('dev')).toEqual(['s2']);
  });

  it('newer snapshots: refused (exit 5, listed) unless --destroy-newer, which keeps them and a clone of them', async () => {
    await devWithHistory();
    const before = await worldSnapshot();
    const r = await vm(['rollback', 'slot1', 's1', '--yes']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('s2');
    expect(await worldSnapshot()).toBe(before);
    expect((await read('dev')).trim()).toBe('three');

    await ok(['vm-state', 'restore', 'dev@s2', 'kid']);
    const d = await vm(['rollback', 'slot1', 's1', '--yes', '--destroy-newer']);
    expect(d.code, d.stderr).toBe(0);
    expect(await snapNames('dev')).toEqual(['s1']);
    expect((await read('dev')).trim()).toBe('one');
    expect((await read('kid')).trim()).toBe('two');
    expect(await zfsProp(`${P}/kid`, 'origin')).toMatch(
      new RegExp(`^${P}/\\.trash/dev\\.\\d{8}T\\d{6}Z@s2$`),
    );
    expect(await activeState('slot1')).not.toBe('active'); // it was not running: not started
  });
});

describe('snapshot --stop', () => {
  beforeEach(resetLab);

  costly('the stop and start are systemd; its zfs snapshot runs in every other OpenZFS test')(
    'stops a running slot, snapshots, starts it again',
    async () => {
      await devWithHistory();
      await ok(['systemctl', 'start', 'microvm@slot1.service']);
      const pid = await mainPid('slot1');
      const r = await vm(['snapshot', 'slot1', 'clean', '--stop']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('crash-consistent');
      expect(await snapExists(`${P}/dev@clean`)).toBe(true);
      expect(await activeState('slot1')).toBe('active');
      expect(await mainPid('slot1')).not.toBe(pid);
    },
  );

  logicOnly('starts the slot again when the snapshot fails', async () => {
    await devWithHistory();
    // The snapshot name gets taken while the slot stops, so vm-state's own zfs snapshot fails.
    await withDropIn('microvm@slot1', `ExecStopPost=/sbin/zfs snapshot ${P}/dev@clean`, async () => {
      await ok(['systemctl', 'start', 'microvm@slot1.service']);
      const r = await vm(['snapshot', 'slot1', 'clean', '--stop']);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain('already exists');
      expect(r.stderr).toContain('Rolled back: systemctl start microvm@slot1.service');
      expect(await activeState('slot1')).toBe('active');
    });
  });
});

describe('prune', () => {
  beforeEach(resetLab);

  costly(
    "the retention's choice is vm-state's own; its destroys run on OpenZFS in auto-snapshot's weeks and snapshot delete",
  )('--dry-run lists exactly what prune then deletes; snapshots with clones stay', async () => {
    await devWithHistory();
    await ok(['vm-state', 'snapshot', 'slot1', 's3']);
    await ok(['vm-state', 'snapshot', 'slot1', 's4']);
    await ok(['vm-state', 'restore', 'dev@s1', 'kid']);
    await ok(['vm-state', 'create', 'other']);
    await ok(['vm-state', 'assign', 'slot2', 'other']);
    await ok(['vm-state', 'snapshot', 'slot2', 'o1']);
    await ok(['vm-state', 'snapshot', 'slot2', 'o2']);
    const before = await worldSnapshot();
    const dry = ResultOut.parse(
      JSON.parse(await ok(['vm-state', '--json', '--dry-run', 'prune', '--keep', '1'])),
    );
    expect(await worldSnapshot()).toBe(before);
    const planned = dry.steps.map((s) => (s.argv as string[]).at(-1)!);
    expect(planned).toEqual([`${P}/dev@s2`, `${P}/dev@s3`, `${P}/other@o1`]);

    const all = async () =>
      (await ok(['zfs', 'list', '-H', '-t', 'snapshot', '-o', 'name', '-r', P])).trim().split('\n').sort();
    const had = await all();
    const r = await vm(['prune', '--keep', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Keeping dev@s1: kid cloned from it');
    const left = await all();
    expect(had.filter((s) => !left.includes(s))).toEqual([...planned].sort());
    expect(left).toEqual(had.filter((s) => !planned.includes(s)));
    expect(await snapNames('dev')).toEqual(['s1', 's4']);
  });

  logicOnly('--older-than: only snapshots older than the duration', async () => {
    await devWithHistory();
    // A run takes seconds on OpenZFS under TCG: new1 must stay younger than the cut-off
    // until prune has read it.
    await sleep(slow ? 30_000 : 3000);
    await ok(['vm-state', 'snapshot', 'slot1', 'new1']);
    const r = await vm(['prune', 'dev', '--older-than', slow ? '25s' : '2s']);
    expect(r.code, r.stderr).toBe(0);
    expect(await snapNames('dev')).toEqual(['new1']);
    expect((await vm(['prune', 'dev', '--older-than', 'soon'])).code).toBe(2);
  });
});

describe('clone --full', () => {
  beforeEach(resetLab);

  it('an independent copy: same bytes, no origin, no helper snapshots, either side deletable', async () => {
    await devWithHistory();
    await ok(['sh', '-c', `head -c 3000000 /dev/urandom > ${STATES}/dev/big.bin && sync`]);
    const r = await vm(['clone', 'dev', 'copy', '--full']);
    expect(r.code, r.stderr).toBe(0);
    expect(await zfsProp(`${P}/copy`, 'origin')).toBe('-');
    expect(await zfsProp(`${P}/copy`, 'mounted')).toBe('yes');
    expect(await zfsProp(`${P}/copy`, 'mountpoint')).toBe(`${STATES}/copy`);
    expect(await snapNames('copy')).toEqual([]);
    expect(await snapNames('dev')).toEqual(['s1', 's2']);
    const sum = async (s: string) =>
      (await ok(['sh', '-c', `cd ${STATES}/${s} && sha256sum data.img big.bin`])).trim();
    expect(await sum('copy')).toBe(await sum('dev'));
    expect((await ok(['stat', '-c', '%U:%G %a', `${STATES}/copy`])).trim()).toBe('microvm:kvm 755');
    // Either side can go on its own.
    await ok(['vm-state', 'assign', 'slot1', 'copy']);
    expect((await vm(['delete', '--now', 'dev', '--yes'])).code).toBe(0);
    expect((await read('copy')).trim()).toBe('three');
    await ok(['vm-state', 'clone', 'copy', 'again', '--full']);
    await ok(['vm-state', 'assign', 'slot1', 'again']);
    expect((await vm(['delete', '--now', 'copy', '--yes'])).code).toBe(0);
    expect(
      (await ok(['zfs', 'list', '-H', '-t', 'all', '-o', 'name,origin', '-r', P])).trim().split('\n'),
    ).toEqual([`${P}\t-`, `${P}/again\t-`]);
    expect((await read('again')).trim()).toBe('three');
  });
});

describe('rename', () => {
  beforeEach(resetLab);

  it('renames dataset and mountpoint, moves the assignment and the link; no trace of the old name', async () => {
    await devWithHistory();
    await ok(['vm-state', 'rename', 'dev', 'prod']);
    expect(await datasetExists(`${P}/dev`)).toBe(false);
    expect(await zfsProp(`${P}/prod`, 'mountpoint')).toBe(`${STATES}/prod`);
    expect(await zfsProp(`${P}/prod`, 'mounted')).toBe('yes');
    expect((await read('prod')).trim()).toBe('three');
    expect(await snapNames('prod')).toEqual(['s1', 's2']);
    expect(await assignments()).toEqual({ slot1: 'prod' });
    expect(await readLinkIn('/var/lib/microvms/slot1/data.img')).toBe(`${STATES}/prod/data.img`);
    expect((await sh(['test', '-e', `${STATES}/dev`])).code).not.toBe(0);
    const list = ListOut.parse(JSON.parse(await ok(['vm-state', '--json', 'list'])));
    expect(list.states.map((s) => `${s.name}:${s.kind}`)).toEqual(['prod:dataset']);
    await ok(['systemctl', 'start', 'microvm@slot1.service']);
    expect(await activeState('slot1')).toBe('active');
  });

  logicOnly(
    'a renamed clone keeps its helper snapshot named after it, so delete still cleans it up',
    async () => {
      await devWithHistory();
      await ok(['vm-state', 'clone', 'dev', 'kid']);
      await ok(['vm-state', 'rename', 'kid', 'kid2']);
      expect(await zfsProp(`${P}/kid2`, 'origin')).toBe(`${P}/dev@clone-for-kid2`);
      expect((await read('kid2')).trim()).toBe('three');
      await ok(['vm-state', 'delete', '--now', 'kid2', '--yes']);
      expect(await snapNames('dev')).toEqual(['s1', 's2']);
    },
  );

  logicOnly('refuses while the slot runs, and an existing name; nothing changes', async () => {
    await devWithHistory();
    await ok(['vm-state', 'create', 'taken']);
    await ok(['systemctl', 'start', 'microvm@slot1.service']);
    const before = await worldSnapshot();
    const r = await vm(['rename', 'dev', 'prod']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('running slot slot1');
    const taken = await vm(['--json', 'rename', 'taken', 'dev']);
    expect(taken.code).toBe(4);
    ErrorOut.parse(JSON.parse(taken.stderr));
    expect(await worldSnapshot()).toBe(before);
  });
  logicOnly(
    'a failure after the rename and the new mountpoint (the link cannot be made) is undone on the real zfs: name, mountpoint, data',
    async () => {
      await devWithHistory();
      // slot1's directory becomes a file: the last step, the link, fails.
      await ok(['sh', '-c', 'rm -rf /var/lib/microvms/slot1 && echo not-a-dir > /var/lib/microvms/slot1']);
      const r = await vm(['rename', 'dev', 'prod']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).not.toContain('Could NOT');
      expect(await datasetExists(`${P}/prod`)).toBe(false);
      expect(await zfsProp(`${P}/dev`, 'mountpoint')).toBe(`${STATES}/dev`);
      expect(await zfsProp(`${P}/dev`, 'mounted')).toBe('yes');
      expect((await read('dev')).trim()).toBe('three');
      expect(await assignments()).toEqual({ slot1: 'dev' });
    },
  );

  logicOnly(
    'killed right after zfs rename: the start guard refuses, doctor says how to undo it, delete refuses; undone, all is well',
    async () => {
      await devWithHistory();
      // What a kill -9 between the steps leaves: renamed, still with the old mountpoint, unmounted, the old directory there.
      const rename = whileBusy(`zfs rename ${P}/dev ${P}/prod`);
      await ok(['sh', '-c', `zfs unmount ${P}/dev && ${rename} && mkdir -p ${STATES}/dev`]);
      expect(await zfsProp(`${P}/prod`, 'mountpoint')).toBe(`${STATES}/dev`);
      const start = await vm(['preflight', 'slot1']);
      expect(start.code, start.stdout).toBe(3);
      const doctor = await vm(['doctor']);
      expect(doctor.code).toBe(1);
      expect(doctor.stderr).toContain('a rename that did not finish');
      expect(doctor.stderr).toContain(`zfs rename ${P}/prod ${P}/dev`);
      const del = await vm(['--yes', 'delete', 'prod']);
      expect(del.code).toBe(5);
      expect(await datasetExists(`${P}/prod`)).toBe(true);
      const back = whileBusy(`zfs rename ${P}/prod ${P}/dev`);
      await ok(['sh', '-c', `zfs unmount ${P}/prod; ${back} && zfs mount ${P}/dev`]);
      expect((await vm(['doctor'])).code).toBe(0);
      expect((await read('dev')).trim()).toBe('three');
      expect((await vm(['preflight', 'slot1'])).code).toBe(0);
    },
  );
});

describe('adopt', () => {
  beforeEach(resetLab);

  /** Every entry with type, mode, owner, size, link target, and every file's sha256: what "not a byte lost" means. */
  const inventory = (dir: string) =>
    ok([
      'sh',
      '-c',
      `cd ${dir} && find . -printf '%p %y %m %n %u:%g %s %l\\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum`,
    ]);

  logicOnly(
    'killed mid-copy: doctor reports the unfinished adopt, --repair never relinks into the unchecked copy, the guard refuses',
    async () => {
      const dir = `${STATES}/slot4`;
      await ok(['sh', '-c', `mkdir -p ${dir} && echo original > ${dir}/data.img && sync`]);
      await ok(['vm-state', 'assign', 'slot4', 'slot4']);
      // What a kill -9 during the copy leaves: the dataset at its work mountpoint, holding part of a copy.
      await ok([
        'sh',
        '-c',
        `zfs create -o mountpoint=${STATES}/.adopt-slot4 ${P}/slot4 && echo ori > ${STATES}/.adopt-slot4/data.img`,
      ]);
      const doctor = await vm(['doctor']);
      expect(doctor.code).toBe(1);
      expect(doctor.stderr).toContain('an adopt that did not finish');
      await vm(['doctor', '--repair']);
      expect(await readLinkIn('/var/lib/microvms/slot4/data.img')).toBe(`${dir}/data.img`);
      expect((await ok(['cat', `${dir}/data.img`])).trim()).toBe('original');
      const start = await vm(['preflight', 'slot4']);
      expect(start.code).toBe(5);
      expect(start.stderr).toContain('refusing to start slot4');
    },
  );

  it('turns a plain-directory state into a dataset without losing a byte; --cleanup deletes the kept original', async () => {
    const dir = `${STATES}/slot4`;
    await ok([
      'sh',
      '-c',
      [
        `mkdir -p ${dir}/sub/deeper`,
        `truncate -s 64M ${dir}/data.img`,
        `head -c 100000 /dev/urandom | dd of=${dir}/data.img bs=4096 seek=1000 conv=notrunc status=none`,
        `head -c 5000 /dev/urandom > '${dir}/sub/with space.bin'`,
        `: > ${dir}/sub/empty`,
        `echo secret > ${dir}/sub/deeper/key && chmod 0640 ${dir}/sub/deeper/key`,
        `ln -s ../data.img ${dir}/sub/link && ln ${dir}/sub/empty ${dir}/sub/hard`,
        `chown -R microvm:kvm ${dir} && chmod 0750 ${dir}/sub && sync`,
      ].join(' && '),
    ]);
    await ok(['vm-state', 'assign', 'slot4', 'slot4']);
    const before = await inventory(dir);

    await ok(['systemctl', 'start', 'microvm@slot4.service']);
    const running = await vm(['adopt', 'slot4']);
    expect(running.code).toBe(5);
    await ok(['systemctl', 'stop', 'microvm@slot4.service']);

    const r = await vm(['adopt', 'slot4']);
    expect(r.code, r.stderr).toBe(0);
    expect(await zfsProp(`${P}/slot4`, 'mounted')).toBe('yes');
    expect(await zfsProp(`${P}/slot4`, 'mountpoint')).toBe(dir);
    expect(await inventory(dir)).toBe(before);
    expect(await inventory(`${STATES}/.adopted-slot4`)).toBe(before);
    expect((await sh(['test', '-e', `${STATES}/.adopt-slot4`])).code).not.toBe(0);
    expect(await readLinkIn('/var/lib/microvms/slot4/data.img')).toBe(`${dir}/data.img`);
    const list = ListOut.parse(JSON.parse(await ok(['vm-state', '--json', 'list'])));
    expect(list.states.map((s) => `${s.name}:${s.kind}`)).toEqual(['slot4:dataset']);
    // Now it snapshots, and the slot starts on it through the same link.
    await ok(['vm-state', 'snapshot', 'slot4', 'adopted']);
    await ok(['systemctl', 'start', 'microvm@slot4.service']);
    expect(await activeState('slot4')).toBe('active');
    expect((await vm(['adopt', 'slot4'])).code).toBe(4);

    const c = await vm(['adopt', '--cleanup', 'slot4']);
    expect(c.code, c.stderr).toBe(0);
    expect((await sh(['test', '-e', `${STATES}/.adopted-slot4`])).code).not.toBe(0);
    expect(await inventory(dir)).toBe(before);
    expect((await vm(['adopt', '--cleanup', 'slot4'])).code).toBe(3);
  });
});
