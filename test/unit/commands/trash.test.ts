import { describe, expect, it } from 'vitest';
import { deleteState } from '../../../src/commands/delete.js';
import { list } from '../../../src/commands/list.js';
import { trashList } from '../../../src/commands/trash-list.js';
import { trashPurge } from '../../../src/commands/trash-purge.js';
import { undelete } from '../../../src/commands/undelete.js';
import { parseEntryId, whoText } from '../../../src/core/trash.js';
import { parseTrash } from '../../../src/io/zfs-parse.js';
import { ListOut, TrashOut } from '../../../src/schemas/output.js';
import { runCli } from '../../support/cli.js';
import { described, expectPlan, facts, planner, view, type PlanRow } from '../../support/facts.js';
import { makeWorld } from '../../support/world.js';
import { atTimeOn, mutations, P } from './helpers.js';

const NOW = '2026-12-01T12:00:00.000Z';
const T = 'tank/states/.trash';
const ID = 'gone.20261201T120000Z';
const TRASHED = `{"name":"gone","at":"${NOW}","by":"unknown"}`;

atTimeOn(NOW, 'zfs-fuse');

/** What moves a state called gone into the trash, after the trash exists. */
const INTO_TRASH = [
  'zfs unmount tank/states/gone   (only if mounted)',
  'rmdir /states/gone   (only if empty)',
  `zfs set vm-state:trashed=${TRASHED} tank/states/gone`,
  'zfs set readonly=on tank/states/gone',
  'zfs set canmount=noauto tank/states/gone',
  'zfs set mountpoint=none tank/states/gone',
];

const DELETE_ROWS: PlanRow[] = [
  {
    name: 'the first delete makes the trash, then renames the state into it, unmounted and readonly',
    facts: facts({ states: [{ name: 'gone', snapshots: ['s1'] }] }),
    input: { state: 'gone' },
    steps: [`zfs create -o canmount=off ${T}`, ...INTO_TRASH, `zfs rename tank/states/gone ${T}/${ID}`],
    warnings: [],
    notes: [`State 'gone' moved into the trash as ${ID}`, 'vm-state undelete gone; it is purged after 7d'],
    summary: "Move state 'gone' (tank/states/gone) and 1 snapshot(s) into the trash",
  },
  {
    name: 'a second delete of that name in the same second gets an id of its own',
    facts: facts({ states: [{ name: 'gone' }], trash: [{ id: ID }] }),
    input: { state: 'gone' },
    steps: [...INTO_TRASH, `zfs rename tank/states/gone ${T}/${ID}-2`],
  },
  {
    name: 'clones of it keep working: on zfs-fuse they are unmounted around the rename',
    facts: facts({
      states: [
        { name: 'gone', snapshots: ['s1'] },
        { name: 'kid', origin: 'gone@s1' },
        { name: 'away', origin: 'gone@s1', mounted: false },
      ],
      trash: [],
    }),
    input: { state: 'gone' },
    steps: [
      ...INTO_TRASH,
      'zfs unmount tank/states/kid   (only if mounted)',
      `zfs rename tank/states/gone ${T}/${ID}`,
      'zfs mount tank/states/kid   (only if not mounted)',
    ],
    warnings: ['kid (cloned from it) is unmounted for the rename, then mounted again'],
  },
  {
    name: 'a clone of it that a slot runs: zfs-fuse cannot rename, refused with what to do',
    facts: facts({
      states: [
        { name: 'gone', snapshots: ['s1'] },
        { name: 'kid', origin: 'gone@s1' },
      ],
      assignments: { slot1: 'kid' },
      running: ['slot1'],
      trash: [],
    }),
    input: { state: 'gone' },
    error: {
      code: 'conflict',
      message: "zfs-fuse renames no dataset while a clone of it is mounted, and slot1 runs 'kid'",
      hint: 'vm-state delete --now gone',
    },
  },
  {
    name: 'the guards of delete stay: assigned',
    facts: facts({ states: [{ name: 'dev' }], assignments: { slot2: 'dev' } }),
    input: { state: 'dev' },
    error: { code: 'conflict', message: "State 'dev' is assigned to slot2" },
  },
  {
    name: 'the guards of delete stay: missing',
    facts: facts(),
    input: { state: 'nope' },
    error: { code: 'not-found', message: "State 'nope' doesn't exist" },
  },
];

describe('delete: into the trash', () => {
  for (const row of DELETE_ROWS) it(row.name, () => expectPlan(row, planner(deleteState)));

  it('on OpenZFS clones stay mounted (a rename there is never busy for them)', () => {
    process.env.VM_STATE_ZFS_FLAVOUR = 'openzfs';
    const f = facts({
      states: [
        { name: 'gone', snapshots: ['s1'] },
        { name: 'kid', origin: 'gone@s1' },
      ],
      trash: [],
    });
    expect(described(planner(deleteState)({ state: 'gone' })(f))).toEqual([
      ...INTO_TRASH,
      `zfs rename tank/states/gone ${T}/${ID}`,
    ]);
  });

  it('records who ran it: the user, sudo and ssh', async () => {
    const w = makeWorld({ states: [{ name: 'gone' }] });
    const r = await runCli(['delete', 'gone', '--yes'], {
      ...w,
      env: { ...w.env, SUDO_USER: 'alice', SSH_CONNECTION: '10.0.0.9 5022 10.0.0.1 22' },
    });
    expect(r.code, r.stderr).toBe(0);
    const set = mutations(w).find((c) => c.includes('vm-state:trashed='))!;
    expect(JSON.parse(set.split('vm-state:trashed=')[1]!.split(` ${P}/gone`)[0]!)).toMatchObject({
      name: 'gone',
      at: NOW,
      by: expect.stringMatching(/\(sudo from alice, ssh 10\.0\.0\.9 5022\)$/),
    });
    expect(mutations(w).at(-1)).toBe(`zfs rename ${P}/gone ${P}/.trash/${ID}`);
    expect(mutations(w).join('\n')).not.toContain('destroy');
  });

  it('still asks for DELETE; a failure at any step undoes every step before it', async () => {
    const clean = makeWorld({ states: [{ name: 'gone', snapshots: ['s1'] }] });
    expect((await runCli(['delete', 'gone'], clean)).code).toBe(2);
    expect(mutations(clean)).toEqual([]);
    expect((await runCli(['delete', 'gone'], { ...clean, stdin: 'DELETE\n' })).code).toBe(0);
    const total = mutations(clean).length;
    for (let n = 0; n < total; n++) {
      const w = makeWorld({ states: [{ name: 'gone', snapshots: ['s1'] }] });
      w.runner.failAt(n);
      const r = await runCli(['--json', 'delete', 'gone', '--yes'], w);
      expect(r.code).toBe(1);
      const err = JSON.parse(r.stderr).error;
      expect(err.details.committed).toEqual([]);
      expect(err.details.undoFailed).toEqual([]);
    }
  });
});

const UNDELETE_ROWS: PlanRow[] = [
  {
    name: 'the newest entry of that name comes back: renamed, writable, mounted where it belongs',
    facts: facts({
      trash: [{ id: 'gone.20261120T000000Z' }, { id: ID, by: 'root', snapshots: ['s1'] }],
    }),
    input: { name: 'gone' },
    steps: [
      `zfs rename ${T}/${ID} tank/states/gone`,
      'zfs inherit vm-state:trashed tank/states/gone',
      'zfs set mountpoint=/states/gone tank/states/gone',
      'zfs set readonly=off tank/states/gone',
      'zfs set canmount=on tank/states/gone',
      'zfs mount tank/states/gone   (only if not mounted)',
    ],
    notes: ["State 'gone' is back (tank/states/gone, mounted at /states/gone)"],
    summary: `Bring state 'gone' back from the trash (${ID}, 1 snapshot(s))`,
  },
  {
    name: 'a trash id names one entry; --as brings it back under another name',
    facts: facts({ trash: [{ id: 'gone.20261120T000000Z' }, { id: ID }] }),
    input: { name: 'gone.20261120T000000Z', as: 'old' },
    steps: [
      `zfs rename ${T}/gone.20261120T000000Z tank/states/old`,
      'zfs inherit vm-state:trashed tank/states/old',
      'zfs set mountpoint=/states/old tank/states/old',
      'zfs set readonly=off tank/states/old',
      'zfs set canmount=on tank/states/old',
      'zfs mount tank/states/old   (only if not mounted)',
    ],
  },
  {
    name: 'a clone back under another name: the helper snapshot on its source is renamed after it',
    facts: facts({
      states: [{ name: 'src', snapshots: ['clone-for-gone'] }],
      trash: [{ id: ID, origin: 'src@clone-for-gone' }],
    }),
    input: { name: 'gone', as: 'kept' },
    steps: [
      `zfs rename ${T}/${ID} tank/states/kept`,
      'zfs inherit vm-state:trashed tank/states/kept',
      'zfs set mountpoint=/states/kept tank/states/kept',
      'zfs set readonly=off tank/states/kept',
      'zfs set canmount=on tank/states/kept',
      'zfs mount tank/states/kept   (only if not mounted)',
      'zfs rename tank/states/src@clone-for-gone tank/states/src@clone-for-kept',
    ],
  },
  {
    name: 'a deleted replica comes back as it was kept: read-only, unmounted',
    facts: facts({ trash: [{ id: ID, replicaOf: 'hv1:gone' }] }),
    input: { name: 'gone' },
    steps: [
      `zfs rename ${T}/${ID} tank/states/gone`,
      'zfs inherit vm-state:trashed tank/states/gone',
      'zfs set mountpoint=/states/gone tank/states/gone',
    ],
  },
  {
    name: 'a clone of it is unmounted around the rename on zfs-fuse',
    facts: facts({
      states: [{ name: 'kid', origin: `.trash/${ID}@s1` }],
      trash: [{ id: ID, snapshots: ['s1'] }],
    }),
    input: { name: 'gone' },
    steps: [
      'zfs unmount tank/states/kid   (only if mounted)',
      `zfs rename ${T}/${ID} tank/states/gone`,
      'zfs mount tank/states/kid   (only if not mounted)',
      'zfs inherit vm-state:trashed tank/states/gone',
      'zfs set mountpoint=/states/gone tank/states/gone',
      'zfs set readonly=off tank/states/gone',
      'zfs set canmount=on tank/states/gone',
      'zfs mount tank/states/gone   (only if not mounted)',
    ],
  },
  {
    name: 'onto an existing name: exit 4, nothing run',
    facts: facts({ states: [{ name: 'gone' }], trash: [{ id: ID }] }),
    input: { name: 'gone' },
    error: { code: 'exists', message: "State 'gone' already exists" },
  },
  {
    name: 'nothing of that name in the trash: exit 3',
    facts: facts({ trash: [{ id: ID }] }),
    input: { name: 'other' },
    error: { code: 'not-found', message: "Nothing called 'other' in the trash", hint: 'vm-state trash list' },
  },
  {
    name: 'a bad name, before anything is read',
    facts: facts(),
    input: { name: '-rf' },
    error: { code: 'invalid-name', message: 'Invalid state name', input: true },
  },
  {
    name: 'a bad --as, before anything is read',
    facts: facts(),
    input: { name: 'gone', as: 'a/b' },
    error: { code: 'invalid-name', message: 'Invalid state name', input: true },
  },
];

describe('undelete', () => {
  for (const row of UNDELETE_ROWS) it(row.name, () => expectPlan(row, planner(undelete)));

  it('on the command line: exit 3 and 4 change nothing; --dry-run changes nothing', async () => {
    const w = makeWorld({
      states: [
        { name: 'dev' },
        { name: '.trash', mounted: false },
        { name: `.trash/dev.20261130T000000Z`, mounted: false },
        { name: `.trash/${ID}`, mounted: false },
      ],
    });
    expect((await runCli(['undelete', 'nope'], w)).code).toBe(3);
    expect((await runCli(['undelete', 'dev'], w)).code).toBe(4);
    const dry = await runCli(['--dry-run', 'undelete', 'dev', '--as', 'dev2'], w);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`zfs rename ${P}/.trash/dev.20261130T000000Z ${P}/dev2`);
    expect(mutations(w)).toEqual([]);
    const r = await runCli(['undelete', 'gone'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)[0]).toBe(`zfs rename ${P}/.trash/${ID} ${P}/gone`);
  });
});

const PURGE_ROWS: PlanRow[] = [
  {
    name: 'everything: each entry destroyed, snapshot by snapshot, never mounted, no -R',
    facts: facts({ trash: [{ id: 'a.20261120T000000Z', snapshots: ['s1'] }, { id: ID }] }),
    input: {},
    steps: [
      `zfs destroy ${T}/a.20261120T000000Z@s1`,
      `zfs destroy ${T}/a.20261120T000000Z`,
      `zfs destroy ${T}/${ID}`,
    ],
    warnings: [`This permanently destroys a.20261120T000000Z, ${ID} and all their data!`],
    summary: 'Purge 2 deleted state(s) from the trash',
  },
  {
    name: '--older-than: only entries deleted longer ago',
    facts: facts({ trash: [{ id: 'a.20261120T000000Z' }, { id: ID }] }),
    input: { olderThan: '7d' },
    steps: [`zfs destroy ${T}/a.20261120T000000Z`],
  },
  {
    name: "--expired: older than the config's trash.keep (7d)",
    facts: facts({ trash: [{ id: 'a.20261124T115959Z' }, { id: 'b.20261124T120001Z' }] }),
    input: { expired: true },
    steps: [`zfs destroy ${T}/a.20261124T115959Z`],
    summary: 'older than trash.keep, 7d',
  },
  {
    name: 'nothing old enough: nothing to do',
    facts: facts({ trash: [{ id: ID }] }),
    input: { expired: true },
    steps: [],
    notes: ['Nothing to purge'],
  },
  {
    name: 'a state cloned from an entry is promoted first, and keeps working',
    facts: facts({
      states: [{ name: 'kid', origin: `.trash/${ID}@s1` }],
      trash: [{ id: ID, snapshots: ['s1', 's2'] }],
    }),
    input: { name: 'gone' },
    steps: ['zfs promote tank/states/kid', `zfs destroy ${T}/${ID}@s2`, `zfs destroy ${T}/${ID}`],
    notes: [`Purged ${ID}`, "State 'kid' was cloned from 'gone': promoted it, so snapshot(s) s1 moved"],
  },
  {
    name: 'an entry cloned from another: the clone goes first, so nothing is promoted',
    facts: facts({
      trash: [
        { id: 'base.20261120T000000Z', snapshots: ['s1'] },
        { id: 'kid.20261121T000000Z', origin: '.trash/base.20261120T000000Z@s1' },
      ],
    }),
    input: {},
    steps: [
      `zfs destroy ${T}/kid.20261121T000000Z`,
      `zfs destroy ${T}/base.20261120T000000Z@s1`,
      `zfs destroy ${T}/base.20261120T000000Z`,
    ],
  },
  {
    name: 'a deleted clone: the helper snapshot clone made on its source goes too',
    facts: facts({
      states: [{ name: 'src', snapshots: ['clone-for-gone'] }],
      trash: [{ id: ID, origin: 'src@clone-for-gone' }],
    }),
    input: {},
    steps: [`zfs destroy ${T}/${ID}`, 'zfs destroy tank/states/src@clone-for-gone'],
  },
  {
    name: 'a held snapshot (a send base): its holds go first',
    facts: facts({ trash: [{ id: ID, snapshots: [{ name: 'vmstate-repl-1', holds: 1 }] }] }),
    input: {},
    steps: [
      `zfs release vm-state:replica ${T}/${ID}@vmstate-repl-1`,
      `zfs destroy ${T}/${ID}@vmstate-repl-1`,
      `zfs destroy ${T}/${ID}`,
    ],
  },
  {
    name: 'a name not in the trash: exit 3',
    facts: facts({ trash: [{ id: ID }] }),
    input: { name: 'other' },
    error: { code: 'not-found', message: "Nothing called 'other' in the trash" },
  },
  {
    name: '--expired with --older-than: usage',
    facts: facts(),
    input: { expired: true, olderThan: '1d' },
    error: { code: 'usage', message: '--expired is --older-than trash.keep', input: true },
  },
  {
    name: 'a bad duration: usage, before anything is read',
    facts: facts(),
    input: { olderThan: '7x' },
    error: { code: 'usage', message: 'Invalid duration', input: true },
  },
];

describe('trash purge', () => {
  for (const row of PURGE_ROWS) it(row.name, () => expectPlan(row, planner(trashPurge)));

  it('asks for PURGE (or --yes); --dry-run destroys nothing', async () => {
    const w = makeWorld({
      states: [
        { name: '.trash', mounted: false },
        { name: `.trash/${ID}`, mounted: false, snapshots: ['s1'] },
      ],
    });
    const dry = await runCli(['--dry-run', 'trash', 'purge'], w);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`zfs destroy ${P}/.trash/${ID}`);
    expect((await runCli(['trash', 'purge'], w)).code).toBe(2);
    expect(mutations(w)).toEqual([]);
    const r = await runCli(['trash', 'purge'], { ...w, stdin: 'PURGE\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([`zfs destroy ${P}/.trash/${ID}@s1`, `zfs destroy ${P}/.trash/${ID}`]);
  });
});

describe('trash list, and the trash in list', () => {
  const f = facts({
    states: [{ name: 'kid', origin: `.trash/${ID}@s1` }],
    trash: [{ id: ID, by: 'root (sudo from alice)', snapshots: ['s1'], used: 5000 }],
  });

  it('each entry: its id and name, when and by whom, when it expires, what was cloned from it', () => {
    const doc = TrashOut.parse(view(trashList, {}, f));
    expect(doc).toMatchObject({ dataset: T, keep: '7d', used: 5000 });
    expect(doc.entries).toEqual([
      {
        id: ID,
        name: 'gone',
        dataset: `${T}/${ID}`,
        trashedAt: NOW,
        trashedBy: 'root (sudo from alice)',
        expires: '2026-12-08T12:00:00.000Z',
        used: 5000,
        referenced: 1024,
        origin: null,
        snapshots: ['s1'],
        clones: ['tank/states/kid'],
      },
    ]);
  });

  it('list --json says how many entries and how much space; the trash is never a state', () => {
    const doc = ListOut.parse(view(list, {}, f));
    expect(doc.trash).toEqual({ entries: 1, used: 5000 });
    expect(doc.states.map((s) => s.name)).toEqual(['kid']);
  });

  it('the human list has one line for it, trash list a table', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }, { name: `.trash/${ID}`, mounted: false }] });
    const l = await runCli(['list'], w);
    expect(l.stdout).toMatch(/Trash: 1 deleted state\(s\), /);
    expect(l.stdout).not.toMatch(/^\s*\.trash/m);
    const t = await runCli(['trash', 'list'], w);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain(ID);
    expect(t.stdout).toContain('1 deleted state(s)');
  });
});

describe('trash: parsing what zfs says', () => {
  it('ids: the name and time; anything else is no id of vm-state', () => {
    expect(parseEntryId('web.v2.20261201T131500Z')).toEqual({
      original: 'web.v2',
      at: new Date('2026-12-01T13:15:00Z'),
    });
    expect(parseEntryId('web.20261201T131500Z-2')?.original).toBe('web');
    expect(parseEntryId('web')).toBeNull();
  });

  it('who: the user, then sudo and ssh', () => {
    expect(whoText({ uid: 0, user: 'root', sudoUser: null, sshConnection: null })).toBe('root');
    expect(whoText({ uid: 7, user: null, sudoUser: 'bob', sshConnection: '1.2.3.4 55 5.6.7.8 22' })).toBe(
      'uid 7 (sudo from bob, ssh 1.2.3.4 55)',
    );
  });

  it('the recorded property wins over the id; a trash that is not there is empty', () => {
    const text = [
      `${T}\ttype\tfilesystem`,
      `${T}\tused\t9000`,
      `${T}/${ID}\ttype\tfilesystem`,
      `${T}/${ID}\tvm-state:trashed\t{"name":"gone","at":"2026-12-01T12:00:05.000Z","by":"root"}`,
      `${T}/${ID}@s1\ttype\tsnapshot`,
      `tank/states/kid\torigin\t${T}/${ID}@s1`,
      '',
    ].join('\n');
    const trash = parseTrash(text, T, '/states');
    expect(trash).toMatchObject({ exists: true, used: 9000 });
    expect(trash.entries[0]).toMatchObject({
      name: ID,
      original: 'gone',
      trashedBy: 'root',
      trashedAt: new Date('2026-12-01T12:00:05.000Z'),
    });
    expect(trash.entries[0]!.snapshots[0]!.clones).toEqual(['tank/states/kid']);
    expect(parseTrash('', T, '/states')).toEqual({ dataset: T, exists: false, used: 0, entries: [] });
  });
});
