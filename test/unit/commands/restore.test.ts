import { describe, expect, it } from 'vitest';
import { restore } from '../../../src/commands/restore.js';
import { runCli } from '../../support/cli.js';
import { expectPlan, facts, planner, type PlanRow } from '../../support/facts.js';
import { makeWorld } from '../../support/world.js';
import { mutations, P } from './helpers.js';

const TWO_S1 = facts({
  states: [
    { name: 'a', snapshots: ['s1', 'only'] },
    { name: 'b', snapshots: ['s1'] },
  ],
});

const cloneOf = (snapshot: string, state: string) => [
  `zfs clone -o mountpoint=/states/${state} tank/states/${snapshot} tank/states/${state}`,
  `zfs mount tank/states/${state}   (only if not mounted)`,
  `chown microvm:kvm /states/${state} && chmod 755 /states/${state}`,
];

const ROWS: PlanRow[] = [
  {
    name: 'a snapshot name found once: a plain clone of it',
    facts: TWO_S1,
    input: { snapshot: 'only', newState: 'new' },
    steps: cloneOf('a@only', 'new'),
    warnings: [],
    notes: ["Snapshot restored to state 'new' (from tank/states/a@only)", 'vm-state assign <slot> new'],
  },
  {
    name: 'state@snap picks one of several of that name',
    facts: TWO_S1,
    input: { snapshot: 'b@s1', newState: 'new' },
    steps: cloneOf('b@s1', 'new'),
  },
  {
    name: 'a name several states have: refused, listing them',
    facts: TWO_S1,
    input: { snapshot: 's1', newState: 'new' },
    error: {
      code: 'usage',
      message: "Snapshot name 's1' is ambiguous: a@s1, b@s1",
      hint: 'vm-state restore a@s1 new',
      details: { candidates: ['a@s1', 'b@s1'] },
    },
  },
  {
    name: 'no such snapshot',
    facts: TWO_S1,
    input: { snapshot: 'nope', newState: 'x' },
    error: { code: 'not-found', message: "Snapshot 'nope' not found" },
  },
  {
    name: 'no such snapshot of that state',
    facts: TWO_S1,
    input: { snapshot: 'b@only', newState: 'x' },
    error: { code: 'not-found', message: "Snapshot 'b@only' not found" },
  },
  {
    name: 'the new name is taken',
    facts: TWO_S1,
    input: { snapshot: 'only', newState: 'b' },
    error: { code: 'exists', message: "State 'b' already exists" },
  },
  {
    name: 'no parent dataset',
    facts: facts({ parentExists: false }),
    input: { snapshot: 'only', newState: 'new' },
    error: { code: 'not-found', message: 'Parent dataset tank/states does not exist' },
  },
  {
    name: 'a bad new name, before anything is read',
    facts: TWO_S1,
    input: { snapshot: 'only', newState: '-x' },
    error: { code: 'invalid-name', message: 'Invalid state name', input: true },
  },
];

describe('restore: the plan', () => {
  for (const row of ROWS) it(row.name, () => expectPlan(row, planner(restore)));
});

describe('restore on the command line', () => {
  it('restore: finds the snapshot by name; refuses when ambiguous; state@snap picks one', async () => {
    const w = makeWorld({
      states: [
        { name: 'a', snapshots: ['s1', 'only'] },
        { name: 'b', snapshots: ['s1'] },
      ],
    });
    const amb = await runCli(['restore', 's1', 'new'], w);
    expect(amb.code).toBe(2);
    expect(amb.stderr).toMatch(/ambiguous: a@s1, b@s1/);
    const ok = await runCli(['restore', 'b@s1', 'new'], w);
    expect(ok.code, ok.stderr).toBe(0);
    const one = await runCli(['restore', 'only', 'new2'], w);
    expect(one.code).toBe(0);
    expect(mutations(w)).toEqual([
      `zfs clone -o mountpoint=${w.config.statesDir}/new ${P}/b@s1 ${P}/new`,
      `zfs mount ${P}/new`,
      `zfs clone -o mountpoint=${w.config.statesDir}/new2 ${P}/a@only ${P}/new2`,
      `zfs mount ${P}/new2`,
    ]);
    expect((await runCli(['restore', 'nope', 'x'], w)).code).toBe(3);
  });
});
