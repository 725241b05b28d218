import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapshot } from '../../../src/commands/snapshot.js';
import { decide, expectPlan, facts, planner, type PlanRow } from '../../support/facts.js';
import { runCli } from '../../support/cli.js';
import { makeWorld } from '../../support/world.js';
import { mutations, P } from './helpers.js';

const CRASH = 'is running - snapshot will be crash-consistent';

const ROWS: PlanRow[] = [
  {
    name: 'a stopped slot: one snapshot of its state, no warning',
    facts: facts({ states: [{ name: 'dev' }], assignments: { slot2: 'dev' } }),
    input: { slot: 'slot2', name: 'before' },
    steps: ['zfs snapshot tank/states/dev@before'],
    warnings: [],
    notes: ['Snapshot created: tank/states/dev@before'],
  },
  {
    name: 'a running slot: crash-consistent, and how to get a clean one',
    facts: facts({ states: [{ name: 'dev' }], running: ['slot2'], assignments: { slot2: 'dev' } }),
    input: { slot: 'slot2', name: 'before' },
    steps: ['zfs snapshot tank/states/dev@before'],
    warnings: [`slot2 ${CRASH}`, 'stop the slot first: systemctl stop microvm@slot2.service'],
  },
  {
    name: 'another slot runs the state: warned about that one',
    facts: facts({
      states: [{ name: 'dev' }],
      running: ['slot1'],
      assignments: { slot1: 'dev', slot2: 'dev' },
    }),
    input: { slot: 'slot2', name: 'x' },
    steps: ['zfs snapshot tank/states/dev@x'],
    warnings: [`slot1 ${CRASH}`, 'systemctl stop microvm@slot1.service'],
  },
  {
    name: 'a slot reassigned but not restarted still writes the state it started on',
    facts: facts({
      states: [{ name: 'dev' }, { name: 'qa' }],
      running: ['slot1'],
      assignments: { slot1: 'qa', slot2: 'dev' },
      startedOn: { slot1: 'dev' },
    }),
    input: { slot: 'slot2', name: 'x' },
    steps: ['zfs snapshot tank/states/dev@x'],
    warnings: [`slot1 ${CRASH}`, 'systemctl stop microvm@slot1.service'],
  },
  {
    name: 'a slot with no entry snapshots the state of its own name',
    facts: facts({ states: [{ name: 'slot3' }] }),
    input: { slot: 'slot3', name: 'x' },
    steps: ['zfs snapshot tank/states/slot3@x'],
  },
  {
    name: "the slot's state does not exist",
    facts: facts(),
    input: { slot: 'slot2', name: 'x' },
    error: { code: 'not-found', message: "State 'slot2' (assigned to slot2) - state 'slot2' doesn't exist" },
  },
  {
    name: 'a plain-directory state cannot be snapshotted',
    facts: facts({ states: [{ name: 'slot1', directory: true }] }),
    input: { slot: 'slot1', name: 'x' },
    error: { code: 'conflict', message: 'is a plain directory', hint: 'vm-state adopt slot1' },
  },
  {
    name: 'the snapshot name is taken',
    facts: facts({ states: [{ name: 'slot1', snapshots: ['x'] }] }),
    input: { slot: 'slot1', name: 'x' },
    error: { code: 'exists', message: 'Snapshot tank/states/slot1@x already exists' },
  },
  {
    name: 'an unknown slot, before anything is read',
    facts: facts(),
    input: { slot: 'slot9', name: 'x' },
    error: { code: 'invalid-name', message: 'Invalid slot name', input: true },
  },
  {
    name: 'a bad snapshot name, before anything is read',
    facts: facts(),
    input: { slot: 'slot1', name: '-rf' },
    error: { code: 'invalid-name', message: 'Invalid snapshot name', input: true },
  },
];

const STOP_ROWS: PlanRow[] = [
  {
    name: 'a running slot: stop, snapshot, start; no crash-consistency warning',
    facts: facts({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } }),
    input: { slot: 'slot1', name: 'clean', stop: true },
    steps: [
      'systemctl stop microvm@slot1.service   (then wait until inactive)',
      'zfs snapshot tank/states/dev@clean',
      'systemctl start microvm@slot1.service   (then check it is active)',
    ],
    warnings: ['slot1 will be stopped for the snapshot and started again'],
    notes: ['Snapshot created: tank/states/dev@clean', 'slot1 is running again'],
  },
  {
    name: 'a stopped slot stays stopped',
    facts: facts({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } }),
    input: { slot: 'slot1', name: 'clean', stop: true },
    steps: ['zfs snapshot tank/states/dev@clean'],
    warnings: [],
    notes: ['Snapshot created', 'slot1 was not running; left it stopped'],
  },
  {
    name: 'a slot reassigned since it started comes back on its assigned state, and is told so',
    facts: facts({
      states: [{ name: 'old' }, { name: 'dev' }],
      running: ['slot1'],
      assignments: { slot1: 'dev' },
      startedOn: { slot1: 'old' },
    }),
    input: { slot: 'slot1', name: 'clean', stop: true },
    steps: [
      'systemctl stop microvm@slot1.service   (then wait until inactive)',
      'zfs snapshot tank/states/dev@clean',
      'systemctl start microvm@slot1.service   (then check it is active)',
    ],
    warnings: ['will be stopped', "slot1 runs 'old' but is assigned 'dev': it will come back on 'dev'"],
  },
  {
    name: 'another running slot holds the state: refused, it would start a second VM on it',
    facts: facts({
      states: [{ name: 'dev' }],
      running: ['slot1', 'slot2'],
      assignments: { slot1: 'dev', slot2: 'dev' },
    }),
    input: { slot: 'slot1', name: 'x', stop: true },
    error: {
      code: 'conflict',
      message: 'in use by running slot slot2',
      hint: 'systemctl stop microvm@slot2.service',
    },
  },
  {
    name: 'the snapshot name is taken: refused before anything stops',
    facts: facts({
      states: [{ name: 'dev', snapshots: ['x'] }],
      running: ['slot1'],
      assignments: { slot1: 'dev' },
    }),
    input: { slot: 'slot1', name: 'x', stop: true },
    error: { code: 'exists', message: 'tank/states/dev@x already exists' },
  },
];

describe('snapshot: the plan', () => {
  for (const row of ROWS) it(row.name, () => expectPlan(row, planner(snapshot)));

  it('the snapshot of a running slot is undone by destroying it', () => {
    const f = facts({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } });
    expect(decide(snapshot, { slot: 'slot1', name: 'x' }, f).steps).toEqual([
      {
        kind: 'zfs',
        argv: ['zfs', 'snapshot', 'tank/states/dev@x'],
        undo: ['zfs', 'destroy', 'tank/states/dev@x'],
      },
    ]);
  });
});

describe('snapshot --stop: the plan', () => {
  for (const row of STOP_ROWS) it(row.name, () => expectPlan(row, planner(snapshot)));

  it('the snapshot is kept if the start fails; the stop is undone by a start on the same state', () => {
    const f = facts({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } });
    const [stop, snap, start] = decide(snapshot, { slot: 'slot1', name: 'x', stop: true }, f).steps;
    expect(stop).toEqual({ kind: 'stop', unit: 'microvm@slot1.service', slot: 'slot1', state: 'dev' });
    expect(snap).toEqual({ kind: 'zfs', argv: ['zfs', 'snapshot', 'tank/states/dev@x'], keep: true });
    expect(start).toEqual({
      kind: 'start',
      unit: 'microvm@slot1.service',
      slot: 'slot1',
      state: 'dev',
      restores: true,
    });
  });
});

describe('snapshot on the command line', () => {
  it('snapshots the assigned state and warns when the slot runs', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot2'], assignments: { slot2: 'dev' } });
    const r = await runCli(['snapshot', 'slot2', 'before'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([`zfs snapshot ${P}/dev@before`]);
    expect(r.stderr).toContain('crash-consistent');
  });

  it('uses the implicit same-name state', async () => {
    const w = makeWorld({ states: [{ name: 'slot3' }] });
    const r = await runCli(['snapshot', 'slot3', 'x'], w);
    expect(r.code).toBe(0);
    expect(mutations(w)).toEqual([`zfs snapshot ${P}/slot3@x`]);
  });

  it('a plain-directory state cannot be snapshotted: exit 5 with the adopt hint', async () => {
    const w = makeWorld();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(w.config.statesDir, 'slot1'));
    const r = await runCli(['snapshot', 'slot1', 'x'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('plain directory');
    expect(r.stderr).toContain('adopt');
    expect(mutations(w)).toEqual([]);
  });

  it('--stop refuses (exit 5) a state another running slot holds: a second VM on it', async () => {
    const w = makeWorld({
      states: [{ name: 'dev' }],
      running: ['slot1', 'slot2'],
      assignments: { slot1: 'dev', slot2: 'dev' },
    });
    const r = await runCli(['snapshot', 'slot1', 'x', '--stop'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('in use by running slot slot2');
    expect(mutations(w)).toEqual([]);
  });

  it('missing state is exit 3; existing snapshot name is exit 4', async () => {
    const w = makeWorld({ states: [{ name: 'slot1', snapshots: ['x'] }] });
    expect((await runCli(['snapshot', 'slot2', 'x'], w)).code).toBe(3);
    expect((await runCli(['snapshot', 'slot1', 'x'], w)).code).toBe(4);
    expect(mutations(w)).toEqual([]);
  });
});

describe('snapshot --stop on the command line', () => {
  it('a running slot: stop, snapshot, start; no crash-consistency warning', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } });
    const r = await runCli(['snapshot', 'slot1', 'clean', '--stop'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      'systemctl stop microvm@slot1.service',
      `zfs snapshot ${P}/dev@clean`,
      'systemctl start microvm@slot1.service',
    ]);
    expect(r.stderr).not.toContain('crash-consistent');
    expect(w.running.has('microvm@slot1.service')).toBe(true);
  });

  it('a stopped slot stays stopped', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } });
    expect((await runCli(['snapshot', 'slot1', 'clean', '--stop'], w)).code).toBe(0);
    expect(mutations(w)).toEqual([`zfs snapshot ${P}/dev@clean`]);
  });

  it('a failed snapshot still starts the slot again', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } });
    w.runner.failAt(1, "cannot create snapshot 'x': out of space");
    const r = await runCli(['snapshot', 'slot1', 'clean', '--stop'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('out of space');
    expect(mutations(w)).toEqual([
      'systemctl stop microvm@slot1.service',
      `zfs snapshot ${P}/dev@clean`,
      'systemctl start microvm@slot1.service',
    ]);
    expect(w.running.has('microvm@slot1.service')).toBe(true);
  });

  it('a failed start keeps the (good) snapshot and tries the start once more', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } });
    w.runner.failAt(2, 'Job for microvm@slot1.service failed');
    const r = await runCli(['snapshot', 'slot1', 'clean', '--stop'], w);
    expect(r.code).toBe(1);
    // the failed start is followed by a stop that cancels a Restart= loop, then the retry
    expect(mutations(w)).toEqual([
      'systemctl stop microvm@slot1.service',
      `zfs snapshot ${P}/dev@clean`,
      'systemctl start microvm@slot1.service',
      'systemctl stop microvm@slot1.service',
      'systemctl start microvm@slot1.service',
    ]);
    expect(mutations(w).some((c) => c.startsWith('zfs destroy'))).toBe(false);
    // so a retry's "already exists" is no surprise
    expect(r.stderr).toContain(`Done and kept: zfs snapshot ${P}/dev@clean.`);
  });
});
