import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adopt } from '../../../src/commands/adopt.js';
import { runCli } from '../../support/cli.js';
import { expectPlan, facts, planner, type PlanRow } from '../../support/facts.js';
import { makeWorld } from '../../support/world.js';
import { mutations, P } from './helpers.js';

const ROWS: PlanRow[] = [
  {
    name: 'a plain directory: a dataset aside, copied, compared, the directory aside, the dataset in place',
    facts: facts({ states: [{ name: 'web', directory: true }], assignments: { slot1: 'web' } }),
    input: { name: 'web' },
    steps: [
      'zfs create -o mountpoint=/states/.adopt-web tank/states/web',
      'zfs mount tank/states/web   (only if not mounted)',
      'cp -a --sparse=always /states/web/. /states/.adopt-web/   (then compare every file, byte for byte)',
      'zfs unmount tank/states/web   (only if mounted)',
      'mv /states/web /states/.adopted-web',
      'zfs set mountpoint=/states/web tank/states/web',
      'zfs mount tank/states/web   (only if not mounted)',
      'rmdir /states/.adopt-web   (only if empty)',
    ],
    warnings: ['The copy needs as much free space in the pool as /states/web holds'],
    notes: [
      "State 'web' is now dataset tank/states/web, mounted at /states/web; every file was compared " +
        'with the original',
      'The original directory is kept as /states/.adopted-web; delete it with: vm-state adopt --cleanup web',
    ],
  },
  {
    name: 'a running slot on it: refused, its image would be copied mid-write',
    facts: facts({
      states: [{ name: 'web', directory: true }],
      running: ['slot1'],
      assignments: { slot1: 'web' },
    }),
    input: { name: 'web' },
    error: {
      code: 'conflict',
      message: "State 'web' is in use by running slot slot1; its image would be copied mid-write",
      hint: 'systemctl stop microvm@slot1.service',
    },
  },
  {
    name: 'already a dataset',
    facts: facts({ states: [{ name: 'ds' }] }),
    input: { name: 'ds' },
    error: { code: 'exists', message: "State 'ds' is already a ZFS dataset (tank/states/ds)" },
  },
  {
    name: 'a missing state',
    facts: facts(),
    input: { name: 'nope' },
    error: { code: 'not-found', message: "State 'nope' doesn't exist" },
  },
  {
    name: 'no parent dataset',
    facts: facts({ parentExists: false, states: [{ name: 'web', directory: true }] }),
    input: { name: 'web' },
    error: { code: 'not-found', message: 'Parent dataset tank/states does not exist' },
  },
  {
    name: 'a bad name, before anything is read',
    facts: facts(),
    input: { name: '../etc' },
    error: { code: 'invalid-name', message: 'Invalid state name', input: true },
  },
  {
    name: '--cleanup: the kept original goes, once the dataset is mounted in its place',
    facts: facts({ states: [{ name: 'web' }] }),
    input: { name: 'web', cleanup: true },
    steps: ['rm -rf /states/.adopted-web'],
    warnings: [],
    notes: ["Deleted /states/.adopted-web; state 'web' lives on in tank/states/web"],
  },
  {
    name: '--cleanup before the adopt',
    facts: facts({ states: [{ name: 'web', directory: true }] }),
    input: { name: 'web', cleanup: true },
    error: {
      code: 'conflict',
      message: "State 'web' is still a plain directory: adopt it first (vm-state adopt web)",
    },
  },
  {
    name: '--cleanup while the dataset is not mounted',
    facts: facts({ states: [{ name: 'web', mounted: false }] }),
    input: { name: 'web', cleanup: true },
    error: {
      code: 'conflict',
      message: 'is not mounted; not deleting its original copy',
      hint: 'zfs mount tank/states/web',
    },
  },
  {
    name: '--cleanup of a missing state',
    facts: facts(),
    input: { name: 'web', cleanup: true },
    error: { code: 'not-found', message: "State 'web' doesn't exist" },
  },
];

describe('adopt: the plan', () => {
  for (const row of ROWS) it(row.name, () => expectPlan(row, planner(adopt)));
});

describe('adopt on the command line', () => {
  /**
   * A directory state with a few kinds of entries, and a runner whose cp copies and whose `zfs set
   * mountpoint` moves the mount.
   */
  function dirWorld(opts: { running?: string[]; corrupt?: boolean } = {}) {
    const w = makeWorld({ running: opts.running, assignments: { slot1: 'web' } });
    const dir = join(w.config.statesDir, 'web');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'data.img'), Buffer.from([1, 2, 3, 0, 0, 0, 9]));
    writeFileSync(join(dir, 'sub', 'notes.txt'), 'hello');
    symlinkSync('data.img', join(dir, 'link'));
    let mountedAt = '';
    w.runner.respond((a) => {
      if (a[0] === 'zfs' && a[1] === 'create') mountedAt = a[3]!.slice('mountpoint='.length);
      if (a[0] === 'cp') {
        cpSync(a.at(-2)!.replace(/\/\.$/, ''), a.at(-1)!, {
          recursive: true,
          verbatimSymlinks: true,
          preserveTimestamps: true,
        });
        if (opts.corrupt) writeFileSync(join(a.at(-1)!, 'sub', 'notes.txt'), 'hellO');
      }
      if (a[0] === 'zfs' && a[1] === 'set') {
        const to = a[2]!.slice('mountpoint='.length);
        renameSync(mountedAt, to);
        mountedAt = to;
      }
      return undefined;
    });
    return {
      w,
      dir,
      work: join(w.config.statesDir, '.adopt-web'),
      backup: join(w.config.statesDir, '.adopted-web'),
    };
  }

  it('a dataset aside, copied, compared, the directory moved aside, the dataset in its place', async () => {
    const { w, dir, work, backup } = dirWorld();
    const r = await runCli(['adopt', 'web'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      `zfs create -o mountpoint=${work} ${P}/web`,
      `zfs mount ${P}/web`,
      `cp -a --sparse=always ${dir}/. ${work}/`,
      `zfs unmount ${P}/web`,
      `zfs set mountpoint=${dir} ${P}/web`,
      `zfs mount ${P}/web`,
    ]);
    expect(readFileSync(join(dir, 'sub', 'notes.txt'), 'utf8')).toBe('hello');
    expect(readFileSync(join(backup, 'data.img'))).toEqual(Buffer.from([1, 2, 3, 0, 0, 0, 9]));
    expect(existsSync(work)).toBe(false);
    expect(r.stdout).toContain(`vm-state adopt --cleanup web`);
  });

  it('a copy that differs: an error naming the file; the dataset goes, the directory stays', async () => {
    const { w, dir, backup } = dirWorld({ corrupt: true });
    const r = await runCli(['adopt', 'web'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('differs from the original at sub/notes.txt: contents differ');
    expect(mutations(w).at(-1)).toBe(`zfs destroy ${P}/web`);
    expect(readFileSync(join(dir, 'sub', 'notes.txt'), 'utf8')).toBe('hello');
    expect(existsSync(backup)).toBe(false);
  });

  it('a failure after the switch-over puts the directory back and destroys the dataset', async () => {
    const { w, dir, backup } = dirWorld();
    w.runner.failAt(5, 'cannot mount: injected');
    const r = await runCli(['adopt', 'web'], w);
    expect(r.code).toBe(1);
    expect(mutations(w).slice(-3)).toEqual([
      `zfs set mountpoint=${join(w.config.statesDir, '.adopt-web')} ${P}/web`,
      `zfs mount ${P}/web`,
      `zfs destroy ${P}/web`,
    ]);
    expect(readFileSync(join(dir, 'data.img'))).toEqual(Buffer.from([1, 2, 3, 0, 0, 0, 9]));
    expect(existsSync(backup)).toBe(false);
    expect(r.stderr).not.toContain('Could NOT');
  });

  it('refuses a running slot (5), a dataset (4), a missing state (3), a bad name (2)', async () => {
    const { w } = dirWorld({ running: ['slot1'] });
    const r = await runCli(['adopt', 'web'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('running slot slot1');
    const v = makeWorld({ states: [{ name: 'ds' }] });
    expect((await runCli(['adopt', 'ds'], v)).code).toBe(4);
    expect((await runCli(['adopt', 'nope'], v)).code).toBe(3);
    expect((await runCli(['adopt', '../etc'], v)).code).toBe(2);
    expect([...mutations(w), ...mutations(v)]).toEqual([]);
  });

  it('--cleanup deletes the kept original, once; not before the adopt', async () => {
    const { w, backup } = dirWorld();
    expect((await runCli(['adopt', '--cleanup', 'web'], w)).code).toBe(5);
    const v = makeWorld({ states: [{ name: 'web' }] });
    const kept = join(v.config.statesDir, '.adopted-web');
    mkdirSync(join(kept, 'sub'), { recursive: true });
    const r = await runCli(['adopt', 'web', '--cleanup'], v);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(kept)).toBe(false);
    expect((await runCli(['adopt', 'web', '--cleanup'], v)).code).toBe(3);
    expect(existsSync(backup)).toBe(false);
  });
});
