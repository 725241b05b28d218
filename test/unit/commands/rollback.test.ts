import { describe, expect, it } from 'vitest';
import { rollback } from '../../../src/commands/rollback.js';
import { runCli } from '../../support/cli.js';
import { expectPlan, facts, planner, type PlanRow } from '../../support/facts.js';
import { makeWorld, signalAtFirst } from '../../support/world.js';
import { mutations, P } from './helpers.js';

const STOP = 'systemctl stop microvm@slot1.service   (then wait until inactive)';
const START = 'systemctl start microvm@slot1.service   (then check it is active)';
const UNMOUNT = 'zfs unmount tank/states/dev   (only if mounted)';
const MOUNT = 'zfs mount tank/states/dev   (only if not mounted)';
/** s1 is the first snapshot the builder makes: one minute past its start. */
const DISCARDS = "This discards every change to state 'dev' since snapshot 's1' (2026-01-01T00:01:00.000Z)";

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
      message: "Newer snapshots of 'dev' exist: s2, s3; rolling back to 's1' destroys them",
      hint: 'Add --destroy-newer',
      details: { newer: ['tank/states/dev@s2', 'tank/states/dev@s3'] },
    },
  },
  {
    name: 'newer snapshots with --destroy-newer: zfs rollback -r, and said so',
    facts: dev(['s1', 's2', 's3']),
    input: { slot: 'slot1', snapshot: 's1', destroyNewer: true },
    steps: [UNMOUNT, 'zfs rollback -r tank/states/dev@s1', MOUNT],
    warnings: [DISCARDS, 'and destroys the newer snapshot(s): s2, s3'],
  },
  {
    name: '--destroy-newer without newer snapshots is a plain rollback',
    facts: dev(['s1']),
    input: { slot: 'slot1', snapshot: 's1', destroyNewer: true },
    steps: [UNMOUNT, 'zfs rollback tank/states/dev@s1', MOUNT],
  },
  {
    name: 'a state cloned from a newer snapshot: refused even with --destroy-newer',
    facts: dev(['s1', 's2'], {
      states: [
        { name: 'dev', snapshots: ['s1', 's2'] },
        { name: 'kid', origin: 'dev@s2' },
      ],
    }),
    input: { slot: 'slot1', snapshot: 's1', destroyNewer: true },
    error: {
      code: 'conflict',
      message: "Newer snapshot 'dev@s2' (destroyed by the rollback) has dependent clones: kid",
    },
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

  it('refuses newer snapshots (exit 5, listed) unless --destroy-newer, then zfs rollback -r', async () => {
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
    expect(mutations(w)).toEqual([
      `zfs unmount ${P}/dev`,
      `zfs rollback -r ${P}/dev@s1`,
      `zfs mount ${P}/dev`,
    ]);
  });

  it('refuses, even with --destroy-newer, when a state was cloned from a newer snapshot', async () => {
    const w = makeWorld({
      states: [
        { name: 'dev', snapshots: ['s1', 's2'] },
        { name: 'kid', origin: `${P}/dev@s2` },
      ],
      assignments: { slot1: 'dev' },
    });
    const r = await runCli(['rollback', 'slot1', 's1', '--yes', '--destroy-newer'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/dev@s2.*dependent clones: kid/);
    expect(mutations(w)).toEqual([]);
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
