import { describe, expect, it } from 'vitest';
import { rollback } from '../../../src/commands/rollback.js';
import { runCli } from '../../support/cli.js';
import { expectPlan, facts, planner, type PlanRow } from '../../support/facts.js';
import { makeWorld, signalAtFirst } from '../../support/world.js';
import { atTimeOn, mutations, P } from './helpers.js';

const STOP = 'systemctl stop microvm@slot1.service   (then wait until inactive)';
const START = 'systemctl start microvm@slot1.service   (then check it is active)';
const UNMOUNT = 'zfs unmount tank/states/dev   (only if mounted)';
const MOUNT = 'zfs mount tank/states/dev   (only if not mounted)';
/** s1 is the first snapshot the builder makes: one minute past its start. */
const DISCARDS = "This discards every change to state 'dev' since snapshot 's1' (2026-01-01T00:01:00.000Z)";

const NOW = '2026-12-01T12:00:00.000Z';
const ENTRY = 'tank/states/.trash/dev.20261201T120000Z';
/** What keeps the newer snapshots: the state into the trash, its snapshot cloned back and promoted. */
const KEEP_NEWER = (target: string) => [
  'zfs create -o canmount=off tank/states/.trash',
  UNMOUNT,
  'rmdir /states/dev   (only if empty)',
  `zfs set vm-state:trashed={"name":"dev","at":"${NOW}","by":"unknown"} tank/states/dev`,
  'zfs set readonly=on tank/states/dev',
  'zfs set canmount=noauto tank/states/dev',
  'zfs set mountpoint=none tank/states/dev',
  `zfs rename tank/states/dev ${ENTRY}`,
  `zfs clone -o mountpoint=/states/dev ${ENTRY}@${target} tank/states/dev`,
  'zfs promote tank/states/dev',
];

atTimeOn(NOW, 'zfs-fuse');

const dev = (snapshots: string[], more: Parameters<typeof facts>[0] = {}) =>
  facts({ states: [{ name: 'dev', snapshots }], assignments: { slot1: 'dev' }, ...more });

const ROWS: PlanRow[] = [
  {
    name: 'a stopped slot: unmount, roll back, mount',
    facts: dev(['s1']),
    input: { slot: 'slot1', snapshot: 's1' },
    steps: [UNMOUNT, 'zfs rollback tank/states/dev@s1', MOUNT],
    warnings: [DISCARDS],
    notes: ["State 'dev' rolled back to 's1'"],
  },
  {
    name: 'a running slot: stopped first, started again after',
    facts: dev(['s1'], { running: ['slot1'] }),
    input: { slot: 'slot1', snapshot: 's1' },
    steps: [STOP, UNMOUNT, 'zfs rollback tank/states/dev@s1', MOUNT, START],
    warnings: [DISCARDS, 'slot1 is running: it will be stopped, and started again afterwards'],
    notes: ["State 'dev' rolled back to 's1'", 'slot1 is running again'],
  },
  {
    name: "state@snap of the slot's own state",
    facts: dev(['s1']),
    input: { slot: 'slot1', snapshot: 'dev@s1' },
    steps: [UNMOUNT, 'zfs rollback tank/states/dev@s1', MOUNT],
  },
  {
    name: 'a running slot reassigned since it started comes back on its assigned state, and is told so',
    facts: dev(['s1'], {
      states: [{ name: 'dev', snapshots: ['s1'] }, { name: 'old' }],
      running: ['slot1'],
      startedOn: { slot1: 'old' },
    }),
    input: { slot: 'slot1', snapshot: 's1' },
    steps: [STOP, UNMOUNT, 'zfs rollback tank/states/dev@s1', MOUNT, START],
    warnings: [
      'This discards',
      'will be stopped',
      "slot1 runs 'old' but is assigned 'dev': it will come back on 'dev'",
    ],
  },
  {
    name: 'newer snapshots: refused, listed',
    facts: dev(['s1', 's2', 's3']),
    input: { slot: 'slot1', snapshot: 's1' },
    error: {
      code: 'conflict',
      message: "Newer snapshots of 'dev' exist: s2, s3; rolling back to 's1' takes them away",
      hint: 'Add --destroy-newer',
      details: { newer: ['tank/states/dev@s2', 'tank/states/dev@s3'] },
    },
  },
  {
    name: 'newer snapshots with --destroy-newer: kept in the trash, the snapshot cloned back and promoted',
    facts: dev(['s1', 's2', 's3']),
    input: { slot: 'slot1', snapshot: 's1', destroyNewer: true },
    steps: [...KEEP_NEWER('s1'), MOUNT],
    warnings: [
      DISCARDS,
      'The newer snapshot(s) s2, s3 and the data as it is now go into the trash as dev.20261201T120000Z',
    ],
    notes: ["State 'dev' rolled back to 's1'", 'vm-state undelete dev.20261201T120000Z --as <new>'],
  },
  {
    name: 'a running slot, a trash that exists, a state that was sent: stop, keep, set where it was sent, start',
    facts: (() => {
      const f = dev(['s1', 's2'], { running: ['slot1'], trash: [] });
      f.states.get('dev')!.sentTo = [{ remote: 'peer', name: 'dev', at: '2026-11-30T00:00:00Z' }];
      return f;
    })(),
    input: { slot: 'slot1', snapshot: 's1', destroyNewer: true },
    steps: [
      STOP,
      ...KEEP_NEWER('s1').slice(1),
      'zfs set vm-state:sent=peer=dev@2026-11-30T00:00:00Z tank/states/dev',
      MOUNT,
      START,
    ],
  },
  {
    name: '--destroy-newer without newer snapshots is a plain rollback',
    facts: dev(['s1']),
    input: { slot: 'slot1', snapshot: 's1', destroyNewer: true },
    steps: [UNMOUNT, 'zfs rollback tank/states/dev@s1', MOUNT],
  },
  {
    name: 'a state cloned from a newer snapshot keeps working: on zfs-fuse unmounted around the rename',
    facts: dev(['s1', 's2'], {
      states: [
        { name: 'dev', snapshots: ['s1', 's2'] },
        { name: 'kid', origin: 'dev@s2' },
      ],
    }),
    input: { slot: 'slot1', snapshot: 's1', destroyNewer: true },
    steps: [
      ...KEEP_NEWER('s1').slice(0, 7),
      'zfs unmount tank/states/kid   (only if mounted)',
      `zfs rename tank/states/dev ${ENTRY}`,
      'zfs mount tank/states/kid   (only if not mounted)',
      ...KEEP_NEWER('s1').slice(8),
      MOUNT,
    ],
  },
  {
    name: 'a running slot on a clone of a newer snapshot: zfs-fuse cannot rename, refused',
    facts: dev(['s1', 's2'], {
      states: [
        { name: 'dev', snapshots: ['s1', 's2'] },
        { name: 'kid', origin: 'dev@s2' },
      ],
      assignments: { slot1: 'dev', slot2: 'kid' },
      running: ['slot2'],
    }),
    input: { slot: 'slot1', snapshot: 's1', destroyNewer: true },
    error: { code: 'conflict', message: "slot2 runs 'kid', cloned from it", hint: 'vm-state restore dev@s1' },
  },
  {
    name: 'a state cloned from the snapshot rolled back to is no obstacle',
    facts: dev(['s1'], {
      states: [
        { name: 'dev', snapshots: ['s1'] },
        { name: 'kid', origin: 'dev@s1' },
      ],
    }),
    input: { slot: 'slot1', snapshot: 's1' },
    steps: [UNMOUNT, 'zfs rollback tank/states/dev@s1', MOUNT],
  },
  {
    name: "a snapshot of another state than the slot's",
    facts: dev(['s1'], {
      states: [
        { name: 'dev', snapshots: ['s1'] },
        { name: 'qa', snapshots: ['s1'] },
      ],
    }),
    input: { slot: 'slot1', snapshot: 'qa@s1' },
    error: {
      code: 'usage',
      message: "qa@s1 is not a snapshot of slot1's state 'dev'",
      hint: 'vm-state restore qa@s1 <new>',
    },
  },
  {
    name: 'no such snapshot',
    facts: dev(['s1']),
    input: { slot: 'slot1', snapshot: 'nope' },
    error: { code: 'not-found', message: "Snapshot 'dev@nope' not found", hint: 'vm-state snapshots dev' },
  },
  {
    name: 'another running slot on the state',
    facts: dev(['s1'], { running: ['slot2'], assignments: { slot1: 'dev', slot2: 'dev' } }),
    input: { slot: 'slot1', snapshot: 's1' },
    error: { code: 'conflict', message: 'in use by running slot slot2' },
  },
  {
    name: 'a plain-directory state has no snapshots',
    facts: facts({ states: [{ name: 'slot1', directory: true }] }),
    input: { slot: 'slot1', snapshot: 's1' },
    error: { code: 'conflict', message: 'is a plain directory' },
  },
  {
    name: 'an unknown slot, before anything is read',
    facts: dev(['s1']),
    input: { slot: 'slot9', snapshot: 's1' },
    error: { code: 'invalid-name', message: 'Invalid slot name', input: true },
  },
];

describe('rollback: the plan', () => {
  for (const row of ROWS) it(row.name, () => expectPlan(row, planner(rollback)));
});

describe('rollback on the command line', () => {
  it('asks for ROLLBACK; a stopped slot: just zfs rollback', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }], assignments: { slot1: 'dev' } });
    const none = await runCli(['rollback', 'slot1', 's1'], w);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--yes');
    expect((await runCli(['rollback', 'slot1', 's1'], { ...w, stdin: 'DELETE\n' })).code).toBe(2);
    expect(mutations(w)).toEqual([]);
    const r = await runCli(['rollback', 'slot1', 's1'], { ...w, stdin: 'ROLLBACK\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("discards every change to state 'dev' since snapshot 's1'");
    expect(mutations(w)).toEqual([`zfs unmount ${P}/dev`, `zfs rollback ${P}/dev@s1`, `zfs mount ${P}/dev`]);
  });

  /**
   * What a rollback of running slot1's state dev to s1 runs, in order (also when the rollback fails: then
   * undone).
   */
  const STOP_ROLLBACK_START = [
    'systemctl stop microvm@slot1.service',
    `zfs unmount ${P}/dev`,
    `zfs rollback ${P}/dev@s1`,
    `zfs mount ${P}/dev`,
    'systemctl start microvm@slot1.service',
  ];

  it('a signal after the rollback: the mount and start still bring it back, and it says so', async () => {
    const w = makeWorld({
      states: [{ name: 'dev', snapshots: ['s1'] }],
      running: ['slot1'],
      assignments: { slot1: 'dev' },
    });
    signalAtFirst(w, 'rollback');
    const r = await runCli(['rollback', 'slot1', 's1', '--yes'], w);
    expect(r.code).toBe(0);
    expect(mutations(w)).toEqual(STOP_ROLLBACK_START);
    expect(w.running.has('microvm@slot1.service')).toBe(true);
    expect(r.stderr).toContain(
      'past the point of no return: the command was finished, and nothing was undone',
    );
  });

  it('a running slot: stop, rollback, start; state@snap works too', async () => {
    const w = makeWorld({
      states: [{ name: 'dev', snapshots: ['s1'] }],
      running: ['slot1'],
      assignments: { slot1: 'dev' },
    });
    const r = await runCli(['rollback', 'slot1', 'dev@s1', '--yes'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual(STOP_ROLLBACK_START);
    expect(w.running.has('microvm@slot1.service')).toBe(true);
  });

  it('refuses newer snapshots (exit 5, listed) unless --destroy-newer, then keeps them in the trash', async () => {
    const w = makeWorld({
      states: [{ name: 'dev', snapshots: ['s1', 's2', 's3'] }],
      assignments: { slot1: 'dev' },
    });
    const r = await runCli(['rollback', 'slot1', 's1', '--yes'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("Newer snapshots of 'dev' exist: s2, s3");
    expect(r.stderr).toContain('--destroy-newer');
    expect(mutations(w)).toEqual([]);
    const d = await runCli(['rollback', 'slot1', 's1', '--yes', '--destroy-newer'], w);
    expect(d.code, d.stderr).toBe(0);
    const entry = `${P}/.trash/dev.20261201T120000Z`;
    expect(mutations(w).filter((c) => !c.includes(' set '))).toEqual([
      `zfs create -o canmount=off ${P}/.trash`,
      `zfs unmount ${P}/dev`,
      `zfs rename ${P}/dev ${entry}`,
      `zfs clone -o mountpoint=${w.config.statesDir}/dev ${entry}@s1 ${P}/dev`,
      `zfs promote ${P}/dev`,
      `zfs mount ${P}/dev`,
    ]);
    expect(mutations(w).join('\n')).not.toContain('rollback');
  });

  it('a failure after the rename undoes it all: the state is back as it was', async () => {
    const w = makeWorld({
      states: [{ name: 'dev', snapshots: ['s1', 's2'] }],
      assignments: { slot1: 'dev' },
    });
    w.runner.on((a) => a[1] === 'promote', { exitCode: 1, stderr: 'injected' });
    const r = await runCli(['rollback', 'slot1', 's1', '--yes', '--destroy-newer'], w);
    expect(r.code).toBe(1);
    const entry = `${P}/.trash/dev.20261201T120000Z`;
    const after = mutations(w).slice(mutations(w).indexOf(`zfs promote ${P}/dev`) + 1);
    expect(after).toEqual([
      `zfs destroy ${P}/dev`,
      `zfs unmount ${entry}`,
      `zfs rename ${entry} ${P}/dev`,
      `zfs set mountpoint=${w.config.statesDir}/dev ${P}/dev`,
      `zfs set canmount=on ${P}/dev`,
      `zfs set readonly=off ${P}/dev`,
      `zfs inherit vm-state:trashed ${P}/dev`,
      `zfs mount ${P}/dev`,
      `zfs destroy ${P}/.trash`,
    ]);
  });

  it("another state's snapshot exit 2, a missing one 3; another running slot on the state 5", async () => {
    const w = makeWorld({
      states: [
        { name: 'dev', snapshots: ['s1'] },
        { name: 'qa', snapshots: ['s1'] },
      ],
      running: ['slot2'],
      assignments: { slot1: 'dev', slot2: 'dev' },
    });
    expect((await runCli(['rollback', 'slot1', 'qa@s1', '--yes'], w)).code).toBe(2);
    expect((await runCli(['rollback', 'slot1', 'nope', '--yes'], w)).code).toBe(3);
    const shared = await runCli(['rollback', 'slot1', 's1', '--yes'], w);
    expect(shared.code).toBe(5);
    expect(shared.stderr).toContain('running slot slot2');
    expect(mutations(w)).toEqual([]);
  });

  it('a failed rollback starts the slot again', async () => {
    const w = makeWorld({
      states: [{ name: 'dev', snapshots: ['s1'] }],
      running: ['slot1'],
      assignments: { slot1: 'dev' },
    });
    w.runner.on((a) => a[1] === 'rollback', { exitCode: 1, stderr: "cannot rollback 'x': out of space" });
    const r = await runCli(['rollback', 'slot1', 's1', '--yes'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Rolled back: zfs mount ${P}/dev; systemctl start microvm@slot1.service`);
    expect(mutations(w)).toEqual(STOP_ROLLBACK_START);
    expect(w.running.has('microvm@slot1.service')).toBe(true);
  });

  it("accepts zfs-fuse's drop_caches notice after a rollback, and nothing else", async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }], assignments: { slot1: 'dev' } });
    w.runner.on((a) => a[1] === 'rollback', {
      exitCode: 1,
      stderr: 'drop_caches failed: snapshot permissions cannot be modified\n',
    });
    expect((await runCli(['rollback', 'slot1', 's1', '--yes'], w)).code).toBe(0);
    w.runner.on((a) => a[1] === 'rollback', {
      exitCode: 1,
      stderr: "cannot rollback 'x': I/O error\ndrop_caches failed: x\n",
    });
    expect((await runCli(['rollback', 'slot1', 's1', '--yes'], w)).code).toBe(1);
  });

  it('rollback retries the I/O error zfs-fuse gives while an unmount settles', async () => {
    const w = makeWorld({ states: [{ name: 'slot1', snapshots: ['s1'] }] });
    let n = 0;
    w.runner.respond((a) =>
      a[1] === 'rollback' && n++ === 0
        ? { exitCode: 1, stderr: "cannot rollback 'x': I/O error" }
        : undefined,
    );
    const r = await runCli(['rollback', 'slot1', 's1', '--yes'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w).filter((c) => c.startsWith('zfs rollback'))).toHaveLength(2);
  });
});
