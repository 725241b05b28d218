import { describe, expect, it } from 'vitest';
import { snapshots } from '../../../src/commands/snapshots.js';
import { SnapshotsOut } from '../../../src/schemas/output.js';
import { runCli } from '../../support/cli.js';
import { expectView, facts, view, type ViewRow } from '../../support/facts.js';
import { makeWorld } from '../../support/world.js';
import { P, withZfs } from './helpers.js';

const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;

const POOL = facts({
  states: [
    {
      name: 'a',
      snapshots: [
        { name: 'a1', created: at(1), used: 10 },
        { name: 'a2', created: at(3), used: 20 },
      ],
    },
    {
      name: 'b',
      snapshots: [
        { name: 'b1', created: at(2) },
        { name: 'b2', created: at(3) },
      ],
    },
    { name: 'c', origin: 'a@a1' },
    { name: 'd', origin: 'a@a1' },
    { name: 'e', directory: true },
  ],
});

const ROWS: ViewRow[] = [
  {
    name: 'every snapshot, newest last (ties in state order), with the states cloned from it',
    facts: POOL,
    input: {},
    doc: {
      state: null,
      snapshots: [
        {
          name: 'a1',
          state: 'a',
          fullName: 'tank/states/a@a1',
          created: at(1),
          used: 10,
          clones: ['tank/states/c', 'tank/states/d'],
          clonedStates: ['c', 'd'],
        },
        { name: 'b1', state: 'b', created: at(2), clones: [], clonedStates: [] },
        { name: 'a2', state: 'a', created: at(3) },
        { name: 'b2', state: 'b', created: at(3) },
      ],
    },
  },
  {
    name: 'of one state',
    facts: POOL,
    input: { state: 'b' },
    doc: { state: 'b', snapshots: [{ name: 'b1' }, { name: 'b2' }] },
  },
  {
    name: 'a plain directory has none',
    facts: POOL,
    input: { state: 'e' },
    doc: { state: 'e', snapshots: [] },
  },
  {
    name: 'a missing state',
    facts: POOL,
    input: { state: 'nope' },
    error: { code: 'not-found', message: "State 'nope' doesn't exist" },
  },
  {
    name: 'a bad name, before anything is read',
    facts: POOL,
    input: { state: '../x' },
    error: { code: 'invalid-name', message: 'Invalid state name', input: true },
  },
];

describe('snapshots: the document', () => {
  for (const row of ROWS) it(row.name, () => expectView(row, snapshots));

  it('lists exactly those, and follows the output schema', () => {
    const doc = SnapshotsOut.parse(view(snapshots, {}, POOL));
    expect(doc.snapshots.map((s) => `${s.state}@${s.name}`)).toEqual(['a@a1', 'b@b1', 'a@a2', 'b@b2']);
  });
});

describe('snapshots on the command line', () => {
  it('every snapshot, newest last, with the states cloned from it; one zfs, one systemctl call', async () => {
    const w = makeWorld();
    withZfs(w, [
      {
        name: 'a',
        snaps: [
          { name: 'a1', created: 100, used: 10 },
          { name: 'a2', created: 300, used: 20 },
        ],
      },
      {
        name: 'b',
        snaps: [
          { name: 'b1', created: 200 },
          { name: 'b2', created: 300 },
        ],
      },
      { name: 'c', origin: `${P}/a@a1` },
      { name: 'd', origin: `${P}/a@a1` },
    ]);
    const r = await runCli(['--json', 'snapshots'], w);
    expect(r.code, r.stderr).toBe(0);
    const doc = SnapshotsOut.parse(JSON.parse(r.stdout));
    expect(doc.state).toBeNull();
    expect(doc.snapshots.map((s) => `${s.state}@${s.name}`)).toEqual(['a@a1', 'b@b1', 'a@a2', 'b@b2']);
    expect(doc.snapshots[0]).toMatchObject({
      used: 10,
      referenced: 3000,
      created: new Date(100_000).toISOString(),
      clones: [`${P}/c`, `${P}/d`],
      clonedStates: ['c', 'd'],
    });
    expect(w.runner.calls.map((c) => c.slice(0, 2).join(' '))).toEqual(['zfs get', 'systemctl show']);
  });

  it('of one state; a table for people; unknown state exit 3; bad name exit 2 before any read', async () => {
    const w = makeWorld();
    withZfs(w, [
      { name: 'a', snaps: [{ name: 'a1', used: 2048 }] },
      { name: 'b', snaps: [{ name: 'b1' }] },
      { name: 'k', origin: `${P}/a@a1` },
    ]);
    const doc = SnapshotsOut.parse(JSON.parse((await runCli(['--json', 'snapshots', 'a'], w)).stdout));
    expect(doc.snapshots.map((s) => s.name)).toEqual(['a1']);
    const human = await runCli(['snapshots', 'a'], w);
    expect(human.stdout).toMatch(/SNAPSHOT\s+CREATED\s+USED\s+REFER\s+CLONED TO/);
    expect(human.stdout).toMatch(/a@a1\s+\S+ \S+\s+2\.00K\s+2\.93K\s+k/);
    expect(human.stdout).toContain('1 snapshot(s)');
    expect((await runCli(['snapshots', 'nope'], w)).code).toBe(3);
    const calls = w.runner.calls.length;
    expect((await runCli(['snapshots', '../x'], w)).code).toBe(2);
    expect(w.runner.calls.length).toBe(calls);
  });
});
