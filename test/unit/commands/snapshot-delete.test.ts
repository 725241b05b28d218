import { describe, expect, it } from 'vitest';
import { snapshotDelete } from '../../../src/commands/snapshot-delete.js';
import { ErrorOut, ResultOut } from '../../../src/schemas/output.js';
import { runCli } from '../../support/cli.js';
import { decide, expectPlan, facts, planner, type PlanRow } from '../../support/facts.js';
import { makeWorld } from '../../support/world.js';
import { mutations, P, withZfs } from './helpers.js';

const DEV = facts({
  states: [
    { name: 'dev', snapshots: [{ name: 's1', used: 86016 }, 's2'] },
    { name: 'c1', origin: 'dev@s2' },
    { name: 'c2', origin: 'dev@s2' },
    { name: 'plain', directory: true },
  ],
});

const ROWS: PlanRow[] = [
  {
    name: 'exactly that snapshot, saying what it reclaims',
    facts: DEV,
    input: { snapshot: 'dev@s1' },
    steps: ['zfs destroy tank/states/dev@s1'],
    warnings: [],
    summary: 'Delete snapshot dev@s1 (tank/states/dev@s1), reclaiming 84.0K (86016 bytes)',
    notes: ['Snapshot dev@s1 deleted, 84.0K (86016 bytes) reclaimed'],
  },
  {
    name: 'states were cloned from it: refused, naming them',
    facts: DEV,
    input: { snapshot: 'dev@s2' },
    error: {
      code: 'conflict',
      message: "Snapshot 'dev@s2' has dependent clones: c1, c2",
      hint: 'vm-state delete c1',
      details: { snapshot: 'tank/states/dev@s2', clones: ['tank/states/c1', 'tank/states/c2'] },
    },
  },
  {
    name: 'a bare snapshot name: which state, before anything is read',
    facts: DEV,
    input: { snapshot: 's1' },
    error: { code: 'usage', message: "Say which state's snapshot to delete: <state>@s1", input: true },
  },
  {
    name: 'a bad snapshot name, before anything is read',
    facts: DEV,
    input: { snapshot: 'dev@-rf' },
    error: { code: 'invalid-name', message: 'Invalid snapshot name', input: true },
  },
  {
    name: 'no such snapshot',
    facts: DEV,
    input: { snapshot: 'dev@nope' },
    error: { code: 'not-found', message: "Snapshot 'dev@nope' not found", hint: 'vm-state snapshots dev' },
  },
  {
    name: 'no such state',
    facts: DEV,
    input: { snapshot: 'nope@s1' },
    error: { code: 'not-found', message: "State 'nope' doesn't exist" },
  },
  {
    name: 'a plain-directory state has no snapshots',
    facts: DEV,
    input: { snapshot: 'plain@s1' },
    error: { code: 'conflict', message: 'is a plain directory' },
  },
];

describe('snapshot delete: the plan', () => {
  for (const row of ROWS) it(row.name, () => expectPlan(row, planner(snapshotDelete)));

  it('the destroy is a commit point and says what it frees', () => {
    expect(decide(snapshotDelete, { snapshot: 'dev@s1' }, DEV).steps).toEqual([
      {
        kind: 'zfs',
        argv: ['zfs', 'destroy', 'tank/states/dev@s1'],
        retryBusy: true,
        commit: true,
        frees: 86016,
      },
    ]);
  });
});

describe('snapshot delete on the command line', () => {
  it('destroys exactly that snapshot; `snapshot <slot> <name>` still snapshots', async () => {
    const w = makeWorld({
      states: [{ name: 'dev', snapshots: ['s1', 's2'] }],
      assignments: { slot1: 'dev' },
    });
    const r = await runCli(['snapshot', 'delete', 'dev@s1'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Snapshot dev@s1 deleted');
    const s = await runCli(['snapshot', 'slot1', 'snap1'], w);
    expect(s.code, s.stderr).toBe(0);
    expect(mutations(w)).toEqual([`zfs destroy ${P}/dev@s1`, `zfs snapshot ${P}/dev@snap1`]);
  });

  it('refuses with exit 5 and names the states cloned from it', async () => {
    const w = makeWorld({
      states: [
        { name: 'dev', snapshots: ['s1'] },
        { name: 'c1', origin: `${P}/dev@s1` },
        { name: 'c2', origin: `${P}/dev@s1` },
      ],
    });
    const r = await runCli(['snapshot', 'delete', 'dev@s1'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('dependent clones: c1, c2');
    const j = await runCli(['--json', 'snapshot', 'delete', 'dev@s1'], w);
    expect(ErrorOut.parse(JSON.parse(j.stderr)).error.details).toEqual({
      snapshot: `${P}/dev@s1`,
      clones: [`${P}/c1`, `${P}/c2`],
    });
    expect(mutations(w)).toEqual([]);
  });

  it('--dry-run says what would be reclaimed and changes nothing', async () => {
    const w = makeWorld();
    withZfs(w, [{ name: 'dev', snaps: [{ name: 's1', used: 86016 }] }]);
    const human = await runCli(['--dry-run', 'snapshot', 'delete', 'dev@s1'], { ...w, euid: 1000 });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('reclaiming 84.0K (86016 bytes)');
    expect(human.stdout).toContain(`1. zfs destroy ${P}/dev@s1`);
    const dry = await runCli(['--json', '--dry-run', 'snapshot', 'delete', 'dev@s1'], w);
    const doc = ResultOut.parse(JSON.parse(dry.stdout));
    expect(doc).toMatchObject({
      command: 'snapshot delete',
      dryRun: true,
      steps: [{ kind: 'zfs', argv: ['zfs', 'destroy', `${P}/dev@s1`], frees: 86016 }],
    });
    expect(mutations(w)).toEqual([]);
  });

  it('needs <state>@<snap> (exit 2); a missing state or snapshot is exit 3', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }] });
    const bare = await runCli(['snapshot', 'delete', 's1'], w);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('<state>@s1');
    expect((await runCli(['snapshot', 'delete', 'dev@nope'], w)).code).toBe(3);
    expect((await runCli(['snapshot', 'delete', 'nope@s1'], w)).code).toBe(3);
    expect((await runCli(['snapshot', 'delete', 'dev@-rf'], w)).code).toBe(2);
    expect(mutations(w)).toEqual([]);
  });
});
