import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rename } from '../../../src/commands/rename.js';
import { runCli } from '../../support/cli.js';
import { expectPlan, facts, planner, type PlanRow } from '../../support/facts.js';
import { makeWorld } from '../../support/world.js';
import { linkSlot, mutations, P } from './helpers.js';

/**
 * The zfs part of renaming `old` to `new`: unmounted, old mountpoint gone, renamed, new mountpoint, mounted.
 */
const zfsSteps = (from: string, to: string) => [
  `zfs unmount tank/states/${from}   (only if mounted)`,
  `rmdir /states/${from}   (only if empty)`,
  `zfs rename tank/states/${from} tank/states/${to}`,
  `zfs set mountpoint=/states/${to} tank/states/${to}`,
  `zfs mount tank/states/${to}   (only if not mounted)`,
];
const link = (slot: string, state: string) =>
  `ln -sfn /states/${state}/data.img /vms/${slot}/data.img   (a regular file there is kept as ` +
  `/vms/${slot}/data.img.backup)`;

const ROWS: PlanRow[] = [
  {
    name: 'a state no slot uses: the dataset and its mountpoint',
    facts: facts({ states: [{ name: 'old' }] }),
    input: { old: 'old', new: 'new' },
    steps: zfsSteps('old', 'new'),
    warnings: [],
    notes: ["State 'old' renamed to 'new' (tank/states/new, mounted at /states/new)"],
  },
  {
    name: 'its slots get the new name in the file and a link to the new image; the others are kept',
    facts: facts({
      states: [{ name: 'old' }],
      assignments: { slot1: 'old', slot2: 'other' },
      links: { slot1: 'old' },
    }),
    input: { old: 'old', new: 'new' },
    steps: [
      ...zfsSteps('old', 'new'),
      'write /etc/assignments.json {"slot1":"new","slot2":"other"}',
      link('slot1', 'new'),
    ],
    notes: ["State 'old' renamed to 'new'", "slot1 now uses 'new'"],
  },
  {
    name: 'a state used by name gets an explicit assignment; its clone helper snapshot is renamed along',
    facts: facts({
      states: [
        { name: 'base', snapshots: ['clone-for-slot3'] },
        { name: 'slot3', origin: 'base@clone-for-slot3' },
      ],
    }),
    input: { old: 'slot3', new: 'web' },
    steps: [
      ...zfsSteps('slot3', 'web'),
      'zfs rename tank/states/base@clone-for-slot3 tank/states/base@clone-for-web',
      'write /etc/assignments.json {"slot3":"web"}',
      link('slot3', 'web'),
    ],
    notes: ["renamed to 'web'", 'Renamed its origin snapshot to base@clone-for-web', "slot3 now uses 'web'"],
  },
  {
    name: 'the helper keeps its name when the new one is taken on the source',
    facts: facts({
      states: [
        { name: 'base', snapshots: ['clone-for-old', 'clone-for-new'] },
        { name: 'old', origin: 'base@clone-for-old' },
      ],
    }),
    input: { old: 'old', new: 'new' },
    steps: zfsSteps('old', 'new'),
  },
  {
    name: 'two slots on it: both follow, one note',
    facts: facts({ states: [{ name: 'old' }], assignments: { slot1: 'old', slot2: 'old' } }),
    input: { old: 'old', new: 'new' },
    steps: [
      ...zfsSteps('old', 'new'),
      'write /etc/assignments.json {"slot1":"new","slot2":"new"}',
      link('slot1', 'new'),
      link('slot2', 'new'),
    ],
    notes: ['renamed', "slot1, slot2 now use 'new'"],
  },
  {
    name: 'a slot whose data.img is a regular file: left as it is, and said how to fix it',
    facts: facts({ states: [{ name: 'old' }], assignments: { slot1: 'old' }, links: { slot1: 'file' } }),
    input: { old: 'old', new: 'new' },
    steps: [...zfsSteps('old', 'new'), 'write /etc/assignments.json {"slot1":"new"}'],
    warnings: [
      '/vms/slot1/data.img is not a symlink (file); left as it is: point it at the state with ' +
        'vm-state assign slot1 new',
    ],
  },
  {
    name: 'its slot runs: refused',
    facts: facts({ states: [{ name: 'old' }], running: ['slot1'], assignments: { slot1: 'old' } }),
    input: { old: 'old', new: 'new' },
    error: {
      code: 'conflict',
      message: "State 'old' is in use by running slot slot1",
      hint: 'systemctl stop microvm@slot1.service',
    },
  },
  {
    name: 'a slot reassigned away from it still runs it: refused',
    facts: facts({
      states: [{ name: 'old' }, { name: 'dev' }],
      running: ['slot2'],
      assignments: { slot2: 'dev' },
      startedOn: { slot2: 'old' },
    }),
    input: { old: 'old', new: 'new' },
    error: { code: 'conflict', message: 'in use by running slot slot2' },
  },
  {
    name: 'the new name is taken',
    facts: facts({ states: [{ name: 'old' }, { name: 'taken' }] }),
    input: { old: 'old', new: 'taken' },
    error: { code: 'exists', message: "State 'taken' already exists" },
  },
  {
    name: 'a missing state',
    facts: facts(),
    input: { old: 'nope', new: 'x' },
    error: { code: 'not-found', message: "State 'nope' doesn't exist" },
  },
  {
    name: 'a plain-directory state',
    facts: facts({ states: [{ name: 'old', directory: true }] }),
    input: { old: 'old', new: 'new' },
    error: { code: 'conflict', message: 'is a plain directory' },
  },
  {
    name: 'the same name, before anything is read',
    facts: facts({ states: [{ name: 'old' }] }),
    input: { old: 'old', new: 'old' },
    error: { code: 'usage', message: "Old and new name are the same: 'old'", input: true },
  },
  {
    name: 'a bad new name, before anything is read',
    facts: facts({ states: [{ name: 'old' }] }),
    input: { old: 'old', new: '../x' },
    error: { code: 'invalid-name', message: 'Invalid state name', input: true },
  },
];

describe('rename: the plan', () => {
  for (const row of ROWS) it(row.name, () => expectPlan(row, planner(rename)));
});

describe('rename on the command line', () => {
  it('renames, moves the mountpoint, rewrites the assignment and the link', async () => {
    const w = makeWorld({ states: [{ name: 'old' }], assignments: { slot1: 'old', slot2: 'other' } });
    const link = linkSlot(w, 'slot1', 'old');
    const r = await runCli(['rename', 'old', 'new'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      `zfs unmount ${P}/old`,
      `zfs rename ${P}/old ${P}/new`,
      `zfs set mountpoint=${w.config.statesDir}/new ${P}/new`,
      `zfs mount ${P}/new`,
    ]);
    expect(existsSync(join(w.config.statesDir, 'old'))).toBe(false); // the empty old mountpoint is gone
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({
      slot1: 'new',
      slot2: 'other',
    });
    expect(readlinkSync(link)).toBe(`${w.config.statesDir}/new/data.img`);
  });

  it('a state used by name gets an entry; its clone helper snapshot is renamed along', async () => {
    const w = makeWorld({
      states: [
        { name: 'base', snapshots: ['clone-for-slot3'] },
        { name: 'slot3', origin: `${P}/base@clone-for-slot3` },
      ],
    });
    const r = await runCli(['rename', 'slot3', 'web'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toContain(`zfs rename ${P}/base@clone-for-slot3 ${P}/base@clone-for-web`);
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot3: 'web' });
    expect(readlinkSync(join(w.config.slotsDir, 'slot3', 'data.img'))).toBe(
      `${w.config.statesDir}/web/data.img`,
    );
  });

  it('refuses: its slot runs (5), name taken (4), the same name (2), a missing state (3)', async () => {
    const w = makeWorld({
      states: [{ name: 'old' }, { name: 'taken' }],
      running: ['slot1'],
      assignments: { slot1: 'old' },
    });
    const r = await runCli(['rename', 'old', 'new'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('running slot slot1');
    expect((await runCli(['rename', 'taken', 'old'], w)).code).toBe(4);
    expect((await runCli(['rename', 'taken', 'taken'], w)).code).toBe(2);
    expect((await runCli(['rename', 'nope', 'x'], w)).code).toBe(3);
    expect((await runCli(['rename', 'taken', '../x'], w)).code).toBe(2);
    expect(mutations(w)).toEqual([]);
  });

  it('all or nothing: a failure at any step puts name, mountpoint, assignment and link back', async () => {
    const make = () => {
      const w = makeWorld({ states: [{ name: 'old' }], assignments: { slot1: 'old' } });
      return { w, link: linkSlot(w, 'slot1', 'old') };
    };
    const clean = make();
    expect((await runCli(['rename', 'old', 'new'], clean.w)).code).toBe(0);
    const total = clean.w.runner.mutatingCalls.length;
    for (let n = 0; n < total; n++) {
      const { w, link } = make();
      w.runner.failAt(n);
      const r = await runCli(['rename', 'old', 'new'], w);
      expect(r.code, `call ${n}`).toBe(1);
      expect(r.stderr).not.toContain('Could NOT');
      const done = mutations(w);
      if (n >= 1) expect(done.at(-1)).toBe(`zfs mount ${P}/old`);
      if (n >= 2) {
        // Renamed back unmounted: undoing the mountpoint may have mounted it again ("dataset is busy").
        const back = done.indexOf(`zfs rename ${P}/new ${P}/old`);
        expect(done[back - 1]).toBe(`zfs unmount ${P}/new`);
      }
      if (n >= 3) expect(done).toContain(`zfs set mountpoint=${w.config.statesDir}/old ${P}/new`);
      expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot1: 'old' });
      expect(readlinkSync(link)).toBe(`${w.config.statesDir}/old/data.img`);
    }
  });

  it('a failure writing the links undoes the zfs steps too', async () => {
    const w = makeWorld({ states: [{ name: 'old' }], assignments: { slot1: 'old' } });
    // slot1's directory is a file: the link cannot be made.
    mkdirSync(w.config.slotsDir, { recursive: true });
    writeFileSync(join(w.config.slotsDir, 'slot1'), 'not a directory');
    const r = await runCli(['rename', 'old', 'new'], w);
    expect(r.code).not.toBe(0);
    expect(mutations(w).slice(-4)).toEqual([
      `zfs set mountpoint=${w.config.statesDir}/old ${P}/new`,
      `zfs unmount ${P}/new`,
      `zfs rename ${P}/new ${P}/old`,
      `zfs mount ${P}/old`,
    ]);
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot1: 'old' });
  });
});
