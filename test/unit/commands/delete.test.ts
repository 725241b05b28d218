import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deleteState } from '../../../src/commands/delete.js';
import { runCli } from '../../support/cli.js';
import { decide, expectPlan, facts, planner, type PlanRow } from '../../support/facts.js';
import { makeWorld, signalAtFirst } from '../../support/world.js';
import { mutations, P } from './helpers.js';

const WARNING = "This will permanently delete state 'gone' and all its data!";

const ROWS: PlanRow[] = [
  {
    name: 'unmount first, then each snapshot, then the state; the empty mountpoint goes too',
    facts: facts({ states: [{ name: 'gone', snapshots: ['s1', 's2'] }] }),
    input: { now: true, state: 'gone' },
    steps: [
      'zfs unmount tank/states/gone   (only if mounted)',
      'zfs destroy tank/states/gone@s1',
      'zfs destroy tank/states/gone@s2',
      'zfs destroy tank/states/gone',
      'rmdir /states/gone   (only if empty)',
    ],
    warnings: [WARNING],
    notes: ["State 'gone' deleted"],
    summary: "Delete state 'gone' (tank/states/gone) and 2 snapshot(s)",
  },
  {
    name: 'assigned to a slot: refused',
    facts: facts({ states: [{ name: 'dev' }], assignments: { slot2: 'dev' } }),
    input: { now: true, state: 'dev' },
    error: {
      code: 'conflict',
      message: "State 'dev' is assigned to slot2",
      hint: 'vm-state assign slot2 <other-state>',
    },
  },
  {
    name: 'used by the slot of its name (no entry): refused',
    facts: facts({ states: [{ name: 'slot4' }] }),
    input: { now: true, state: 'slot4' },
    error: { code: 'conflict', message: "State 'slot4' is assigned to slot4" },
  },
  {
    name: 'still run by a slot reassigned away from it, not yet restarted: refused',
    facts: facts({
      states: [{ name: 'old' }, { name: 'dev' }],
      running: ['slot2'],
      assignments: { slot2: 'dev' },
      startedOn: { slot2: 'old' },
    }),
    input: { now: true, state: 'old' },
    error: {
      code: 'conflict',
      message: "State 'old' is still in use by running slot slot2 (reassigned, not yet restarted)",
      hint: 'systemctl restart microvm@slot2.service',
    },
  },
  {
    name: 'unassigned, but a slot disk link leads into it: refused',
    facts: facts({
      states: [{ name: 'new', mountpoint: '/states/old' }],
      assignments: { slot1: 'old' },
      links: { slot1: 'old' },
    }),
    input: { now: true, state: 'new' },
    error: {
      code: 'conflict',
      message: "The disk link of slot1 leads into state 'new' (/states/old)",
      hint: 'vm-state doctor',
    },
  },
  {
    name: 'a relative link into it counts too',
    facts: facts({ states: [{ name: 'dev' }], links: { slot1: { target: '../../states/dev/data.img' } } }),
    input: { now: true, state: 'dev' },
    error: { code: 'conflict', message: "The disk link of slot1 leads into state 'dev'" },
  },
  {
    name: 'states cloned from it: the clone of the newest such snapshot is promoted first, never destroy -R',
    facts: facts({
      states: [
        { name: 'base', snapshots: ['s1', 's2', 's3'] },
        { name: 'c1', origin: 'base@s1' },
        { name: 'c2', origin: 'base@s2' },
      ],
    }),
    input: { now: true, state: 'base' },
    steps: [
      'zfs promote tank/states/c2',
      'zfs unmount tank/states/base   (only if mounted)',
      'zfs destroy tank/states/base@s3',
      'zfs destroy tank/states/base',
      'rmdir /states/base   (only if empty)',
    ],
    notes: [
      "State 'c2' was cloned from 'base': promoted it, so snapshot(s) s1, s2 moved to tank/states/c2 " +
        'and stay available',
      "State 'base' deleted",
    ],
    summary: 'and 1 snapshot(s)',
  },
  {
    name: 'several clones of that snapshot: the first by name is promoted',
    facts: facts({
      states: [
        { name: 'base', snapshots: ['s1'] },
        { name: 'zed', origin: 'base@s1' },
        { name: 'amy', origin: 'base@s1' },
      ],
    }),
    input: { now: true, state: 'base' },
    steps: [
      'zfs promote tank/states/amy',
      'zfs unmount tank/states/base   (only if mounted)',
      'zfs destroy tank/states/base',
      'rmdir /states/base   (only if empty)',
    ],
  },
  {
    name: 'the promoted clone has a snapshot of a name that would move to it: refused before anything runs',
    facts: facts({
      states: [
        { name: 'a', snapshots: ['daily'] },
        { name: 'b', origin: 'a@daily', snapshots: ['daily'] },
      ],
    }),
    input: { now: true, state: 'a' },
    error: {
      code: 'conflict',
      message:
        "Cannot delete 'a': its snapshot(s) daily would move to tank/states/b, which has snapshot(s) " +
        'of the same name',
      hint: 'zfs rename tank/states/b@daily tank/states/b@daily-own',
    },
  },
  {
    name: 'a clone made by clone: the helper snapshot on its source goes too, as tidying',
    facts: facts({
      states: [
        { name: 'src', snapshots: ['clone-for-cp'] },
        { name: 'cp', origin: 'src@clone-for-cp' },
      ],
    }),
    input: { now: true, state: 'cp' },
    steps: [
      'zfs unmount tank/states/cp   (only if mounted)',
      'zfs destroy tank/states/cp',
      'rmdir /states/cp   (only if empty)',
      'zfs destroy tank/states/src@clone-for-cp',
    ],
    notes: ['Removed the helper snapshot tank/states/src@clone-for-cp', "State 'cp' deleted"],
  },
  {
    name: "a state restored from an operator's snapshot: that snapshot stays",
    facts: facts({
      states: [
        { name: 'src', snapshots: ['s1'] },
        { name: 'r', origin: 'src@s1' },
      ],
    }),
    input: { now: true, state: 'r' },
    steps: [
      'zfs unmount tank/states/r   (only if mounted)',
      'zfs destroy tank/states/r',
      'rmdir /states/r   (only if empty)',
    ],
  },
  {
    name: 'a helper another state was also cloned from stays',
    facts: facts({
      states: [
        { name: 'src', snapshots: ['clone-for-cp'] },
        { name: 'cp', origin: 'src@clone-for-cp' },
        { name: 'other', origin: 'src@clone-for-cp' },
      ],
    }),
    input: { now: true, state: 'cp' },
    steps: [
      'zfs unmount tank/states/cp   (only if mounted)',
      'zfs destroy tank/states/cp',
      'rmdir /states/cp   (only if empty)',
    ],
  },
  {
    name: 'a plain-directory state',
    facts: facts({ states: [{ name: 'old', directory: true }] }),
    input: { now: true, state: 'old' },
    error: { code: 'conflict', message: 'is a plain directory' },
  },
  {
    name: 'a missing state',
    facts: facts(),
    input: { now: true, state: 'nope' },
    error: { code: 'not-found', message: "State 'nope' doesn't exist" },
  },
  {
    name: 'a bad name, before anything is read',
    facts: facts(),
    input: { now: true, state: '..' },
    error: { code: 'invalid-name', message: 'Invalid state name', input: true },
  },
];

describe('delete --now: the plan', () => {
  for (const row of ROWS) it(row.name, () => expectPlan(row, planner(deleteState)));

  it('promote is undone by promoting back; each destroy is a commit point; the helper only tidies', () => {
    const f = facts({
      states: [
        { name: 'base', snapshots: ['s1', 's2'] },
        { name: 'kid', origin: 'base@s1' },
      ],
    });
    const steps = decide(deleteState, { now: true, state: 'base' }, f).steps;
    expect(steps[0]).toEqual({
      kind: 'zfs',
      argv: ['zfs', 'promote', 'tank/states/kid'],
      undo: ['zfs', 'promote', 'tank/states/base'],
    });
    expect(steps.filter((s) => s.commit).map((s) => s.kind === 'zfs' && s.argv.join(' '))).toEqual([
      'zfs destroy tank/states/base@s2',
      'zfs destroy tank/states/base',
    ]);
    const helper = facts({
      states: [
        { name: 'src', snapshots: ['clone-for-cp'] },
        { name: 'cp', origin: 'src@clone-for-cp' },
      ],
    });
    expect(decide(deleteState, { now: true, state: 'cp' }, helper).steps.at(-1)).toMatchObject({
      commit: true,
      tidy: true,
    });
  });
});

describe('delete --now on the command line', () => {
  it('needs DELETE on standard input, or --yes', async () => {
    const w = makeWorld({ states: [{ name: 'gone', snapshots: ['s1'] }] });
    const none = await runCli(['delete', '--now', 'gone'], w);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--yes');
    expect((await runCli(['delete', '--now', 'gone'], { ...w, stdin: 'nope\n' })).code).toBe(2);
    expect(mutations(w)).toEqual([]);
    const r = await runCli(['delete', '--now', 'gone'], { ...w, stdin: 'DELETE\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      `zfs unmount ${P}/gone`,
      `zfs destroy ${P}/gone@s1`,
      `zfs destroy ${P}/gone`,
    ]);
  });

  it('a signal after the first destroy: the rest and its tidying skipped, named, no warning', async () => {
    const w = makeWorld({
      states: [
        { name: 'src', snapshots: ['clone-for-kid'] },
        { name: 'kid', snapshots: ['s1', 's2'], origin: `${P}/src@clone-for-kid` },
      ],
    });
    signalAtFirst(w, 'destroy');
    const r = await runCli(['delete', '--now', 'kid', '--yes'], w);
    expect(r.code).toBe(1);
    expect(mutations(w)).toEqual([`zfs unmount ${P}/kid`, `zfs destroy ${P}/kid@s1`]);
    expect(r.stderr).toContain(`Not run: zfs destroy ${P}/kid@s2; zfs destroy ${P}/kid; rmdir`);
    expect(r.stderr).toContain(`zfs destroy ${P}/src@clone-for-kid.`);
    expect(r.stderr).not.toContain('Could not tidy up');
  });

  it('refuses a state assigned to a slot, explicitly or by its name (exit 5)', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }, { name: 'slot4' }], assignments: { slot2: 'dev' } });
    const a = await runCli(['delete', '--now', 'dev', '--yes'], w);
    expect(a.code).toBe(5);
    expect(a.stderr).toContain('assigned to slot2');
    expect((await runCli(['delete', '--now', 'slot4', '--yes'], w)).code).toBe(5);
    expect(mutations(w)).toEqual([]);
  });

  it('promotes the clone of the newest cloned snapshot first, never destroy -R', async () => {
    const w = makeWorld({
      states: [
        { name: 'base', snapshots: ['s1', 's2', 's3'] },
        { name: 'c1', origin: `${P}/base@s1` },
        { name: 'c2', origin: `${P}/base@s2` },
      ],
    });
    const r = await runCli(['delete', '--now', 'base', '--yes'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      `zfs promote ${P}/c2`,
      `zfs unmount ${P}/base`,
      `zfs destroy ${P}/base@s3`,
      `zfs destroy ${P}/base`,
    ]);
    expect(r.stdout).toMatch(/s1, s2 moved to .*c2/);
    expect(mutations(w).join(' ')).not.toMatch(/-R|-r /);
  });

  it('refuses (exit 5, nothing run) a promote that would clash with a snapshot of the clone', async () => {
    const w = makeWorld({
      states: [
        { name: 'a', snapshots: ['daily'] },
        { name: 'b', origin: `${P}/a@daily`, snapshots: ['daily'] },
      ],
    });
    const r = await runCli(['delete', '--now', 'a', '--yes'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/daily would move to .*b, which has snapshot\(s\) of the same name/);
    expect(mutations(w)).toEqual([]);
  });

  it('removes the clone-for helper snapshot of a deleted clone', async () => {
    const w = makeWorld({
      states: [
        { name: 'src', snapshots: ['clone-for-cp'] },
        { name: 'cp', origin: `${P}/src@clone-for-cp` },
      ],
    });
    const r = await runCli(['delete', '--now', 'cp', '--yes'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      `zfs unmount ${P}/cp`,
      `zfs destroy ${P}/cp`,
      `zfs destroy ${P}/src@clone-for-cp`,
    ]);
  });

  it('a mount that stays busy fails the delete before anything is destroyed', async () => {
    const w = makeWorld({ states: [{ name: 'x', snapshots: ['s1', 's2'] }] });
    w.runner.on((a) => a[1] === 'unmount', {
      exitCode: 1,
      stderr: "cannot unmount '/x': pool or dataset is busy",
    });
    const r = await runCli(['delete', '--now', 'x', '--yes'], w);
    expect(r.code).toBe(6);
    expect(mutations(w).filter((c) => c.includes('destroy'))).toEqual([]);
  });

  it('once the state is destroyed, a failed tidy-up (its helper snapshot) only warns', async () => {
    const w = makeWorld({
      states: [
        { name: 'src', snapshots: ['clone-for-cp'] },
        { name: 'cp', origin: `${P}/src@clone-for-cp` },
      ],
    });
    w.runner.on((a) => a[1] === 'destroy' && a[2]!.endsWith('@clone-for-cp'), {
      exitCode: 1,
      stderr: 'dataset is busy (held)',
    });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(w.config.statesDir, 'cp'), { recursive: true });
    const r = await runCli(['delete', '--now', 'cp', '--yes'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Could not tidy up');
    // the empty mountpoint is gone and stays gone
    expect(existsSync(join(w.config.statesDir, 'cp'))).toBe(false);
    expect(mutations(w)).not.toContain(`zfs mount ${P}/cp`);
  });

  it('retries a transiently busy destroy', async () => {
    const w = makeWorld({ states: [{ name: 'x' }] });
    let n = 0;
    w.runner.respond((a) =>
      a[1] === 'destroy' && n++ < 2
        ? { exitCode: 1, stderr: "cannot destroy 'x': dataset is busy" }
        : undefined,
    );
    const r = await runCli(['delete', '--now', 'x', '--yes'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w).filter((c) => c.startsWith('zfs destroy'))).toHaveLength(3);
  });

  it('a busy that persists is exit 6 with a clear message', async () => {
    const w = makeWorld({ states: [{ name: 'x' }] });
    w.runner.on((a) => a[1] === 'destroy', { exitCode: 1, stderr: "cannot destroy 'x': dataset is busy" });
    const r = await runCli(['delete', '--now', 'x', '--yes'], w);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/still busy after \d+ tries/);
  });
});
