import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clone } from '../../../src/commands/clone.js';
import { runCli } from '../../support/cli.js';
import { decide, expectPlan, facts, planner, type PlanRow } from '../../support/facts.js';
import { makeWorld } from '../../support/world.js';
import { mutations, P, type World } from './helpers.js';

const ROWS: PlanRow[] = [
  {
    name: 'a helper snapshot named after the copy, a plain clone of it (no promote), mounted and owned',
    facts: facts({ states: [{ name: 'src' }] }),
    input: { source: 'src', dest: 'dst' },
    steps: [
      'zfs snapshot tank/states/src@clone-for-dst',
      'zfs clone -o mountpoint=/states/dst tank/states/src@clone-for-dst tank/states/dst',
      'zfs mount tank/states/dst   (only if not mounted)',
      'chown microvm:kvm /states/dst && chmod 755 /states/dst',
    ],
    warnings: [],
    notes: [
      "State 'src' cloned to 'dst' (from snapshot tank/states/src@clone-for-dst)",
      'vm-state assign <slot> dst',
    ],
  },
  {
    name: 'a running source is cloned as it is (a snapshot is atomic)',
    facts: facts({ states: [{ name: 'src' }], running: ['slot1'], assignments: { slot1: 'src' } }),
    input: { source: 'src', dest: 'dst' },
    warnings: [],
  },
  {
    name: 'a helper left from an earlier clone may hold data: refused, never reused',
    facts: facts({ states: [{ name: 'src', snapshots: ['clone-for-dst'] }] }),
    input: { source: 'src', dest: 'dst' },
    error: {
      code: 'exists',
      message: 'Snapshot tank/states/src@clone-for-dst already exists (left from an earlier clone)',
      hint: 'vm-state snapshot delete src@clone-for-dst',
    },
  },
  {
    name: 'an existing destination',
    facts: facts({ states: [{ name: 'src' }, { name: 'dst' }] }),
    input: { source: 'src', dest: 'dst' },
    error: { code: 'exists', message: "State 'dst' already exists" },
  },
  {
    name: 'a missing source',
    facts: facts(),
    input: { source: 'nope', dest: 'dst' },
    error: { code: 'not-found', message: "Source state 'nope' doesn't exist" },
  },
  {
    name: 'a plain-directory source',
    facts: facts({ states: [{ name: 'src', directory: true }] }),
    input: { source: 'src', dest: 'dst' },
    error: { code: 'conflict', message: 'is a plain directory', hint: 'vm-state adopt src' },
  },
  {
    name: 'a bad destination name, before anything is read',
    facts: facts(),
    input: { source: 'src', dest: 'a/b' },
    error: { code: 'invalid-name', message: 'Invalid state name', input: true },
  },
];

const FULL_ROWS: PlanRow[] = [
  {
    name: 'snapshot, send | receive unmounted, its own mountpoint, mounted, owned; both helpers go',
    facts: facts({ states: [{ name: 'src' }] }),
    input: { source: 'src', dest: 'dst', full: true },
    steps: [
      'zfs snapshot tank/states/src@full-for-dst',
      'zfs send tank/states/src@full-for-dst | zfs receive -u tank/states/dst',
      'zfs set mountpoint=/states/dst tank/states/dst',
      'zfs mount tank/states/dst   (only if not mounted)',
      'chown microvm:kvm /states/dst && chmod 755 /states/dst',
      'zfs destroy tank/states/dst@full-for-dst',
      'zfs destroy tank/states/src@full-for-dst',
    ],
    warnings: [],
    notes: ["copied to 'dst' (independent: no origin, no shared snapshots)", 'vm-state assign <slot> dst'],
  },
  {
    name: 'a running source: the copy is crash-consistent, and said so',
    facts: facts({ states: [{ name: 'src' }], running: ['slot2'], assignments: { slot2: 'src' } }),
    input: { source: 'src', dest: 'dst', full: true },
    warnings: ["'src' is running on slot2: the copy will be crash-consistent"],
  },
  {
    name: 'a helper left from an earlier copy',
    facts: facts({ states: [{ name: 'src', snapshots: ['full-for-x'] }] }),
    input: { source: 'src', dest: 'x', full: true },
    error: {
      code: 'exists',
      message: 'left from an earlier copy',
      hint: 'vm-state snapshot delete src@full-for-x',
    },
  },
  {
    name: 'an existing destination',
    facts: facts({ states: [{ name: 'src' }, { name: 'dst' }] }),
    input: { source: 'src', dest: 'dst', full: true },
    error: { code: 'exists', message: "State 'dst' already exists" },
  },
  {
    name: 'a missing source',
    facts: facts(),
    input: { source: 'nope', dest: 'y', full: true },
    error: { code: 'not-found', message: "Source state 'nope' doesn't exist" },
  },
  {
    name: 'no parent dataset',
    facts: facts({ parentExists: false }),
    input: { source: 'src', dest: 'dst', full: true },
    error: { code: 'not-found', message: 'Parent dataset tank/states does not exist' },
  },
];

describe('clone: the plan', () => {
  for (const row of ROWS) it(row.name, () => expectPlan(row, planner(clone)));

  it('the helper snapshot and the clone are undone by destroying them', () => {
    const [snap, made] = decide(
      clone,
      { source: 'src', dest: 'dst' },
      facts({ states: [{ name: 'src' }] }),
    ).steps;
    expect(snap).toMatchObject({ undo: ['zfs', 'destroy', 'tank/states/src@clone-for-dst'] });
    expect(made).toMatchObject({
      undo: ['zfs', 'destroy', 'tank/states/dst'],
      undoLeaves: '/states/dst',
      tolerates: 'created-not-mounted',
    });
  });
});

describe('clone --full: the plan', () => {
  for (const row of FULL_ROWS) it(row.name, () => expectPlan(row, planner(clone)));

  it('the receive is undone with everything it made; destroying the helpers is only tidying', () => {
    const f = facts({ states: [{ name: 'src' }] });
    const steps = decide(clone, { source: 'src', dest: 'dst', full: true }, f).steps;
    expect(steps[1]).toMatchObject({ kind: 'pipe', undo: ['zfs', 'destroy', '-r', 'tank/states/dst'] });
    expect(steps.slice(-2).map((s) => s.tidy)).toEqual([true, true]);
    expect(steps.slice(0, -2).some((s) => s.tidy)).toBe(false);
  });
});

describe('clone on the command line', () => {
  it('clone: helper snapshot, plain clone (no promote), mount', async () => {
    const w = makeWorld({ states: [{ name: 'src' }] });
    const r = await runCli(['clone', 'src', 'dst'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      `zfs snapshot ${P}/src@clone-for-dst`,
      `zfs clone -o mountpoint=${w.config.statesDir}/dst ${P}/src@clone-for-dst ${P}/dst`,
      `zfs mount ${P}/dst`,
    ]);
    expect(mutations(w).some((c) => c.includes('promote'))).toBe(false);
  });

  it('clone: a failed clone removes the helper snapshot', async () => {
    const w = makeWorld({ states: [{ name: 'src' }] });
    w.runner.failAt(1, "cannot create 'x': out of space");
    const r = await runCli(['clone', 'src', 'dst'], w);
    expect(r.code).toBe(1);
    expect(mutations(w).at(-1)).toBe(`zfs destroy ${P}/src@clone-for-dst`);
    expect(r.stderr).toContain('Rolled back');
  });
});

describe('clone --full on the command line', () => {
  const steps = (w: World) => [
    `zfs snapshot ${P}/src@full-for-dst`,
    `zfs send ${P}/src@full-for-dst | zfs receive -u ${P}/dst`,
    `zfs set mountpoint=${w.config.statesDir}/dst ${P}/dst`,
    `zfs mount ${P}/dst`,
    `zfs destroy ${P}/dst@full-for-dst`,
    `zfs destroy ${P}/src@full-for-dst`,
  ];

  it('snapshot, send | receive, own mountpoint, then both helper snapshots go', async () => {
    const w = makeWorld({ states: [{ name: 'src' }] });
    w.runner.respond((a) =>
      a[1] === 'mount' ? (mkdirSync(join(w.config.statesDir, 'dst'), { recursive: true }), {}) : undefined,
    );
    const r = await runCli(['clone', 'src', 'dst', '--full'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual(steps(w));
    expect(w.runner.calls.find((c) => c.includes('|'))).toEqual([
      'zfs',
      'send',
      `${P}/src@full-for-dst`,
      '|',
      'zfs',
      'receive',
      '-u',
      `${P}/dst`,
    ]);
  });

  it('a failed receive removes the helper snapshot; a later failure destroys the copy too', async () => {
    const w = makeWorld({ states: [{ name: 'src' }] });
    w.runner.failAt(1, 'cannot receive: out of space');
    const r = await runCli(['clone', 'src', 'dst', '--full'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('zfs send');
    expect(mutations(w).slice(2)).toEqual([`zfs destroy ${P}/src@full-for-dst`]);
    const v = makeWorld({ states: [{ name: 'src' }] });
    v.runner.failAt(2);
    expect((await runCli(['clone', 'src', 'dst', '--full'], v)).code).toBe(1);
    expect(mutations(v).slice(3)).toEqual([`zfs destroy -r ${P}/dst`, `zfs destroy ${P}/src@full-for-dst`]);
  });

  it('a failure before the copy is done leaves no copy, no helper; a failed tidy-up only warns', async () => {
    const total = steps(makeWorld()).length;
    for (let n = 0; n < total; n++) {
      const w = makeWorld({ states: [{ name: 'src' }] });
      w.runner.respond((a) =>
        a[1] === 'mount' ? (mkdirSync(join(w.config.statesDir, 'dst'), { recursive: true }), {}) : undefined,
      );
      w.runner.failAt(n);
      const r = await runCli(['clone', 'src', 'dst', '--full'], w);
      if (w.runner.mutatingCalls[n]?.[1] === 'destroy') {
        // destroying the helper snapshots is tidying up: the finished copy is kept
        expect(r.code, `call ${n}`).toBe(0);
        expect(r.stderr).toContain('Could not tidy up');
        expect(mutations(w).some((c) => c.includes('destroy -r'))).toBe(false);
        continue;
      }
      expect(r.code, `call ${n}`).toBe(1);
      expect(r.stderr).not.toContain('Could NOT');
      // What exists at the end: made by snapshot/receive, gone by destroy (-r takes the dataset's snapshots
      // too).
      const alive = new Set<string>();
      w.runner.mutatingCalls.forEach((c, i) => {
        if (i === n) return;
        if (c[1] === 'snapshot') alive.add(c[2]!);
        if (c.includes('receive')) alive.add(c.at(-1)!).add(`${c.at(-1)}@full-for-dst`);
        if (c[1] === 'destroy')
          for (const x of [...alive])
            if (x === c.at(-1) || (c[2] === '-r' && x.startsWith(`${c.at(-1)}@`))) alive.delete(x);
      });
      expect([...alive], `call ${n}: ${mutations(w).join('; ')}`).toEqual([]);
    }
  });

  it('refuses an existing destination (4), a missing source (3), a leftover helper (4)', async () => {
    const w = makeWorld({ states: [{ name: 'src', snapshots: ['full-for-x'] }, { name: 'dst' }] });
    expect((await runCli(['clone', 'src', 'dst', '--full'], w)).code).toBe(4);
    expect((await runCli(['clone', 'nope', 'y', '--full'], w)).code).toBe(3);
    expect((await runCli(['clone', 'src', 'x', '--full'], w)).code).toBe(4);
    expect(mutations(w)).toEqual([]);
  });

  it('without --full, clone is the plain ZFS clone it was', async () => {
    const w = makeWorld({ states: [{ name: 'src' }] });
    expect((await runCli(['clone', 'src', 'dst'], w)).code).toBe(0);
    expect(mutations(w)[1]).toMatch(/^zfs clone /);
  });
});
