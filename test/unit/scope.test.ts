// Which zfs reads each command makes: its own states, never the whole pool
// (but for the whole-pool views), and what its guards need beyond that.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeWorld } from '../support/world.js';

const P = 'microvms/storage/states';
const PROPS =
  'type,used,available,referenced,origin,mountpoint,mounted,creation,guid,userrefs,vm-state:replica-of,vm-state:synced,vm-state:sent';
const get = (props: string, depth: string[], ...targets: string[]) =>
  ['zfs', 'get', '-H', '-p', '-o', 'name,property,value', props, ...depth, ...targets].join(' ');
const PARENT = get(PROPS, ['-d', '0'], P);
const ALL = get(PROPS, ['-r'], P);

function reads(w: ReturnType<typeof makeWorld>): string[] {
  return w.runner.calls.filter((c) => c[0] === 'zfs' && c[1] === 'get').map((c) => c.join(' '));
}

const world = () =>
  makeWorld({
    states: [
      { name: 'base', snapshots: ['s1', 's2'] },
      { name: 'copy', origin: `${P}/base@s2` },
      { name: 'other', snapshots: ['o1'] },
    ],
    assignments: { slot1: 'base', slot2: 'other' },
  });

afterEach(() => {
  delete process.env.VM_STATE_ZFS_FLAVOUR;
});

describe('scoped facts', () => {
  it.each([
    ['create new', [PARENT, get('mountpoint', ['-d', '1'], P), get(PROPS, ['-d', '1'], `${P}/new`)]],
    ['assign slot3 other', [PARENT, get(PROPS, ['-d', '1'], `${P}/other`)]],
    ['migrate other slot3', [PARENT, get(PROPS, ['-d', '1'], `${P}/other`)]],
    ['snapshot slot2 o2', [PARENT, get(PROPS, ['-d', '1'], `${P}/other`)]],
    ['show other', [PARENT, get('origin', ['-d', '1'], P), get(PROPS, ['-d', '1'], `${P}/other`)]],
    ['list', [ALL]],
    ['snapshots', [ALL]],
    ['restore s1 fresh', [ALL]],
    // The trash: its own read (with who deleted what) where a command needs it, else the whole pool.
    [
      'trash list',
      [PARENT, get('origin', ['-d', '1'], P), get(`${PROPS},vm-state:trashed`, ['-r'], `${P}/.trash`)],
    ],
    ['trash purge', [ALL]],
  ])('%s (zfs-fuse)', async (command, expected) => {
    process.env.VM_STATE_ZFS_FLAVOUR = 'zfs-fuse';
    const w = world();
    const r = await runCli(['--dry-run', ...command.split(' ')], w);
    expect(r.code, r.stderr).toBe(0);
    expect(reads(w)).toEqual(expected);
  });

  // zfs-fuse has no `clones` property: the dependents come from every state's origin.
  it.each([
    [
      'zfs-fuse',
      [
        get('origin', ['-d', '1'], P),
        get(PROPS, ['-d', '1'], `${P}/base`),
        get(PROPS, ['-d', '1'], `${P}/copy`),
      ],
    ],
    [
      'openzfs',
      [get(`${PROPS},clones`, ['-d', '1'], `${P}/base`), get(`${PROPS},clones`, ['-d', '1'], `${P}/copy`)],
    ],
  ])('delete --now on %s reads the dependents, then the clone it promotes', async (flavour, expected) => {
    process.env.VM_STATE_ZFS_FLAVOUR = flavour;
    const w = makeWorld({
      states: [
        { name: 'base', snapshots: ['s1'] },
        { name: 'copy', origin: `${P}/base@s1` },
      ],
    });
    const r = await runCli(['--dry-run', 'delete', '--now', 'base'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`zfs promote ${P}/copy`);
    expect(reads(w)).toEqual([PARENT, ...expected]);
  });

  it('a new name whose mountpoint another dataset holds is refused from the mountpoint list alone', async () => {
    const w = makeWorld({ states: [{ name: 'moved', mountpoint: '/x' }] });
    w.runner.respond((a) =>
      a.includes('mountpoint') && a.includes('-d') && !a.includes(PROPS)
        ? { stdout: `${P}/moved\tmountpoint\t${w.config.statesDir}/old\n` }
        : undefined,
    );
    const r = await runCli(['create', 'old'], w);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`${w.config.statesDir}/old is the mountpoint of state 'moved'`);
    expect(w.runner.mutatingCalls).toEqual([]);
  });

  it('a directory named in a scoped read is a plain state only if no dataset holds it as its mountpoint', async () => {
    // A rename of dev to prod killed before its new mountpoint: prod still holds statesDir/dev.
    const w = makeWorld({
      states: [{ name: 'prod', mountpoint: '/placeholder' }],
      assignments: { slot1: 'dev' },
    });
    mkdirSync(join(w.config.statesDir, 'dev'));
    w.runner.respond((a) =>
      a.includes('mountpoint') && a.includes('-d') && !a.includes(PROPS)
        ? { stdout: `${P}/prod\tmountpoint\t${w.config.statesDir}/dev\n` }
        : undefined,
    );
    const r = await runCli(['preflight', 'slot1'], w);
    expect(r.code, r.stdout).toBe(3); // not a plain-directory state: the guard refuses
    expect(reads(w)).toContain(get('mountpoint', ['-d', '1'], P));
  });
});
