import { describe, expect, it } from 'vitest';
import { list } from '../../../src/commands/list.js';
import { ListOut } from '../../../src/schemas/output.js';
import { runCli } from '../../support/cli.js';
import { expectView, facts, view, type ViewRow } from '../../support/facts.js';
import { makeWorld } from '../../support/world.js';
import { P } from './helpers.js';

const slot = (name: string, more: object = {}) => ({
  name,
  state: name,
  explicit: false,
  unit: `microvm@${name}.service`,
  running: false,
  runningState: null,
  ...more,
});

const ROWS: ViewRow[] = [
  {
    name: 'an empty pool: every configured slot, by name, none running',
    facts: facts(),
    input: {},
    doc: {
      parent: 'tank/states',
      parentExists: true,
      slots: ['slot1', 'slot2', 'slot3', 'slot4', 'slot5'].map((s) => slot(s)),
      states: [],
      snapshots: [],
    },
  },
  {
    name: 'slots with their state, whether they run and what; states with their slots; every snapshot',
    facts: facts({
      states: [{ name: 'b', origin: 'a@s1' }, { name: 'a', snapshots: ['s1'] }, { name: 'old' }],
      running: ['slot1', 'slot3'],
      assignments: { slot2: 'a', slot3: 'a', slot4: 'b' },
      startedOn: { slot3: 'old' },
      links: { slot2: 'a' },
    }),
    input: {},
    doc: {
      slots: [
        slot('slot1', {
          running: true,
          runningState: 'slot1',
          activeState: 'active',
          disk: { kind: 'missing' },
        }),
        slot('slot2', {
          state: 'a',
          explicit: true,
          disk: { kind: 'symlink', target: '/states/a/data.img' },
        }),
        slot('slot3', { state: 'a', explicit: true, running: true, runningState: 'old' }),
        slot('slot4', { state: 'b', explicit: true }),
        slot('slot5'),
      ],
      states: [
        { name: 'a', kind: 'dataset', snapshots: 1, assignedTo: ['slot2', 'slot3'], shared: true },
        { name: 'b', origin: 'tank/states/a@s1', snapshots: 0, assignedTo: ['slot4'], shared: false },
        { name: 'old', assignedTo: [], shared: false },
      ],
      snapshots: [{ name: 's1', state: 'a', fullName: 'tank/states/a@s1', clones: ['tank/states/b'] }],
    },
  },
  {
    name: 'a plain-directory state, and no parent dataset',
    facts: facts({ states: [{ name: 'slot1', directory: true }], parentExists: false }),
    input: {},
    doc: {
      parentExists: false,
      states: [
        {
          name: 'slot1',
          kind: 'directory',
          mounted: false,
          used: null,
          created: null,
          assignedTo: ['slot1'],
        },
      ],
    },
  },
];

describe('list: the document', () => {
  for (const row of ROWS) it(row.name, () => expectView(row, list));

  it('follows the output schema', () => {
    const f = facts({
      states: [
        { name: 'a', snapshots: ['s1'] },
        { name: 'b', origin: 'a@s1' },
      ],
      running: ['slot1'],
    });
    expect(() => ListOut.parse(view(list, {}, f))).not.toThrow();
  });
});

describe('list on the command line', () => {
  it('reads everything with one zfs call and one systemctl call', async () => {
    const w = makeWorld({
      states: [{ name: 'dev', snapshots: ['s1'] }],
      running: ['slot1'],
      assignments: { slot2: 'dev' },
    });
    const r = await runCli(['list'], w);
    expect(r.code).toBe(0);
    expect(w.runner.calls).toEqual([
      [
        'zfs',
        'get',
        '-H',
        '-p',
        '-o',
        'name,property,value',
        'type,used,available,referenced,origin,mountpoint,mounted,creation,guid,userrefs,vm-state:replica-of,vm-state:synced,vm-state:sent',
        '-r',
        P,
      ],
      [
        'systemctl',
        'show',
        '-p',
        'Id,LoadState,ActiveState,SubState,MainPID,Result,InactiveExitTimestampMonotonic',
        '--',
        ...[1, 2, 3, 4, 5].map((i) => `microvm@slot${i}.service`),
      ],
    ]);
    expect(r.stdout).toContain('States and assignments');
    expect(r.stdout).toMatch(/slot2\s+dev/);
    expect(r.stdout).toContain('dev@s1');
  });

  it('shows every snapshot, not 20', async () => {
    const snaps = Array.from({ length: 45 }, (_, i) => `s${i}`);
    const w = makeWorld({ states: [{ name: 'big', snapshots: snaps }] });
    const r = await runCli(['list'], w);
    for (const s of snaps) expect(r.stdout).toContain(`big@${s} `);
    expect(r.stdout).not.toContain('(no snapshots)');
    expect(r.stdout).toContain('45 snapshot(s)');
  });

  it('is the default command, and --json follows its schema', async () => {
    const w = makeWorld({
      states: [
        { name: 'a', snapshots: ['s1'] },
        { name: 'b', origin: `${P}/a@s1` },
      ],
      running: ['slot1'],
    });
    const r = await runCli(['--json'], w);
    const doc = ListOut.parse(JSON.parse(r.stdout));
    expect(doc.slots).toHaveLength(5);
    expect(doc.slots[0]).toMatchObject({ name: 'slot1', state: 'slot1', explicit: false, running: true });
    expect(doc.snapshots[0]).toMatchObject({ name: 's1', state: 'a', clones: [`${P}/b`] });
    expect(doc.states.find((s) => s.name === 'b')!.origin).toBe(`${P}/a@s1`);
  });
});
