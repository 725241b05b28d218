import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { show } from '../../../src/commands/show.js';
import { ShowOut } from '../../../src/schemas/output.js';
import { runCli } from '../../support/cli.js';
import { expectView, facts, view, type ViewRow } from '../../support/facts.js';
import { makeWorld } from '../../support/world.js';
import { linkSlot, P, withZfs } from './helpers.js';

const FAMILY = facts({
  states: [
    { name: 'base', snapshots: ['clone-for-dev'] },
    { name: 'dev', origin: 'base@clone-for-dev', snapshots: [{ name: 's1', used: 4096 }] },
    { name: 'kid', origin: 'dev@s1' },
    { name: 'plain', directory: true },
  ],
  running: ['slot2'],
  assignments: { slot2: 'dev', slot4: 'dev' },
  links: { slot2: 'dev', slot4: 'base' },
});

const ROWS: ViewRow[] = [
  {
    name: 'a dataset: where it is, its origin, its clones, its slots and whether their link leads here',
    facts: FAMILY,
    input: { state: 'dev' },
    images: { '/states/dev/data.img': 5000 },
    doc: {
      name: 'dev',
      kind: 'dataset',
      dataset: 'tank/states/dev',
      mountpoint: '/states/dev',
      mounted: true,
      origin: 'tank/states/base@clone-for-dev',
      originState: 'base',
      clones: [{ dataset: 'tank/states/kid', state: 'kid', snapshot: 's1' }],
      snapshots: [{ name: 's1', used: 4096, clones: ['tank/states/kid'], clonedStates: ['kid'] }],
      slots: [
        { name: 'slot2', explicit: true, running: true, activeState: 'active', disk: { pointsHere: true } },
        {
          name: 'slot4',
          explicit: true,
          running: false,
          disk: { target: '/states/base/data.img', pointsHere: false },
        },
      ],
      image: { path: '/states/dev/data.img', exists: true, size: 5000, allocated: 5000 },
    },
  },
  {
    name: 'a state used by the slot of its name, with no image yet',
    facts: facts({ states: [{ name: 'slot3' }] }),
    input: { state: 'slot3' },
    doc: {
      origin: null,
      originState: null,
      clones: [],
      snapshots: [],
      slots: [
        { name: 'slot3', explicit: false, running: false, disk: { kind: 'missing', pointsHere: false } },
      ],
      image: { path: '/states/slot3/data.img', exists: false, size: null },
    },
  },
  {
    name: 'a plain directory',
    facts: FAMILY,
    input: { state: 'plain' },
    doc: {
      kind: 'directory',
      used: null,
      mounted: false,
      snapshots: [],
      slots: [],
      image: { exists: false },
    },
  },
  {
    name: 'a missing state',
    facts: FAMILY,
    input: { state: 'nope' },
    error: { code: 'not-found', message: "State 'nope' doesn't exist" },
  },
  {
    name: 'a bad name, before anything is read',
    facts: FAMILY,
    input: { state: '../x' },
    error: { code: 'invalid-name', message: 'Invalid state name', input: true },
  },
];

describe('show: the document', () => {
  for (const row of ROWS) it(row.name, () => expectView(row, show));

  it('follows the output schema', () => {
    expect(() => ShowOut.parse(view(show, { state: 'dev' }, FAMILY))).not.toThrow();
  });
});

describe('show on the command line', () => {
  it('everything about a state, as JSON', async () => {
    const w = makeWorld({ running: ['slot2'], assignments: { slot2: 'dev' } });
    withZfs(w, [
      { name: 'base', snaps: [{ name: 'clone-for-dev' }] },
      { name: 'dev', origin: `${P}/base@clone-for-dev`, snaps: [{ name: 's1', used: 4096 }] },
      { name: 'kid', origin: `${P}/dev@s1` },
    ]);
    writeFileSync(join(w.config.statesDir, 'dev', 'data.img'), Buffer.alloc(5000));
    linkSlot(w, 'slot2', 'dev');
    const r = await runCli(['--json', 'show', 'dev'], w);
    expect(r.code, r.stderr).toBe(0);
    const d = ShowOut.parse(JSON.parse(r.stdout));
    expect(d).toMatchObject({
      name: 'dev',
      kind: 'dataset',
      dataset: `${P}/dev`,
      mountpoint: `${w.config.statesDir}/dev`,
      mounted: true,
      used: 5000,
      available: 9000,
      referenced: 3000,
      origin: `${P}/base@clone-for-dev`,
      originState: 'base',
      clones: [{ dataset: `${P}/kid`, state: 'kid', snapshot: 's1' }],
      slots: [
        {
          name: 'slot2',
          explicit: true,
          running: true,
          disk: { kind: 'symlink', resolves: true, pointsHere: true },
        },
      ],
      image: { path: `${w.config.statesDir}/dev/data.img`, exists: true, size: 5000 },
    });
    expect(d.snapshots.map((s) => [s.name, s.used, s.clonedStates])).toEqual([['s1', 4096, ['kid']]]);
  });

  it('for people; a state used by name with no image; unknown state exit 3', async () => {
    const w = makeWorld({ states: [{ name: 'slot3' }] });
    const r = await runCli(['show', 'slot3'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dataset\s+microvms\/storage\/states\/slot3/);
    expect(r.stdout).toMatch(/slots\s+slot3 \(by name\) stopped/);
    expect(r.stdout).toMatch(/data\.img\s+\S+\/slot3\/data\.img \(missing\)/);
    expect(r.stdout).toContain('(no snapshots)');
    expect((await runCli(['show', 'nope'], w)).code).toBe(3);
  });

  it('a plain-directory state is shown as one', async () => {
    const w = makeWorld();
    mkdirSync(join(w.config.statesDir, 'slot1'), { recursive: true });
    const d = ShowOut.parse(JSON.parse((await runCli(['--json', 'show', 'slot1'], w)).stdout));
    expect(d).toMatchObject({ kind: 'directory', used: null, snapshots: [], image: { exists: false } });
  });
});
