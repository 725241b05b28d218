import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPreflight } from '../../../src/commands/preflight.js';
import { runCli } from '../../support/cli.js';
import { config, expectRefusal, facts, type FactsSpec, type Refusal } from '../../support/facts.js';
import { makeWorld, zfsGetText } from '../../support/world.js';

const P = 'microvms/storage/states';

interface GuardRow {
  name: string;
  facts: FactsSpec;
  slot: string;
  /** What it checked, when the slot may start. */
  allows?: string;
  error?: Refusal;
}

const DEV = { states: [{ name: 'dev' }], assignments: { slot1: 'dev' } };

const ROWS: GuardRow[] = [
  {
    name: 'a mounted state that runs nowhere else',
    facts: DEV,
    slot: 'slot1',
    allows: "slot1 may start: state 'dev' is mounted and no other running slot uses it",
  },
  {
    name: 'its link leading into the state, also relatively',
    facts: { ...DEV, links: { slot1: { target: '../../states/dev/data.img' } } },
    slot: 'slot1',
    allows: 'slot1 may start',
  },
  {
    name: 'a plain-directory state (the hypervisor default) on the mounted states dataset',
    facts: { states: [{ name: 'slot1', directory: true }] },
    slot: 'slot1',
    allows: "slot1 may start: state 'slot1' is a directory and no other running slot uses it",
  },
  {
    name: 'a dataset mounted on its own while the states dataset is not (canmount=off)',
    facts: { ...DEV, parentMounted: false },
    slot: 'slot1',
    allows: 'slot1 may start',
  },
  {
    name: 'the slot running itself is no obstacle',
    facts: { ...DEV, running: ['slot1'] },
    slot: 'slot1',
    allows: 'slot1 may start',
  },
  {
    name: 'the pool not imported',
    facts: { states: [{ name: 'slot1', directory: true }], parentExists: false },
    slot: 'slot1',
    error: {
      code: 'conflict',
      message: 'The states dataset tank/states is missing; refusing to start slot1',
      hint: 'zpool import',
    },
  },
  {
    name: 'a plain-directory state while the states dataset is not mounted (the root filesystem)',
    facts: { states: [{ name: 'slot2', directory: true }], parentMounted: false },
    slot: 'slot2',
    error: {
      code: 'conflict',
      message: 'The states dataset tank/states is not mounted; refusing to start slot2',
    },
  },
  {
    name: 'a missing state',
    facts: { assignments: { slot2: 'nope' } },
    slot: 'slot2',
    error: {
      code: 'not-found',
      message: "slot2 is assigned state 'nope', which does not exist",
      hint: 'vm-state assign slot2',
    },
  },
  {
    name: 'a state not mounted',
    facts: { states: [{ name: 'dev', mounted: false }], assignments: { slot1: 'dev' } },
    slot: 'slot1',
    error: {
      code: 'conflict',
      message: "State 'dev' (tank/states/dev) is not mounted at /states/dev; refusing to start slot1",
      hint: 'zfs mount tank/states/dev',
    },
  },
  {
    name: 'a rename that did not finish',
    facts: { states: [{ name: 'dev', mountpoint: '/states/old' }], assignments: { slot1: 'dev' } },
    slot: 'slot1',
    error: { code: 'conflict', message: 'a rename that did not finish' },
  },
  {
    name: 'an adopt that did not finish',
    facts: { states: [{ name: 'dev', mountpoint: '/states/.adopt-dev' }], assignments: { slot1: 'dev' } },
    slot: 'slot1',
    error: { code: 'conflict', message: 'an adopt that did not finish' },
  },
  {
    name: 'a link leading outside the state',
    facts: { ...DEV, states: [{ name: 'dev' }, { name: 'qa' }], links: { slot1: 'qa' } },
    slot: 'slot1',
    error: {
      code: 'conflict',
      message:
        "slot1's disk link points at /states/qa/data.img, outside state 'dev' at /states/dev; " +
        'refusing to start',
    },
  },
  {
    name: "a state's image that is itself a link",
    facts: { ...DEV, links: { slot1: { target: '/states/dev/data.img', targetKind: 'symlink' } } },
    slot: 'slot1',
    error: {
      code: 'conflict',
      message: "slot1's disk /states/dev/data.img is itself a symbolic link out of the state",
    },
  },
  {
    name: "a state's image that is a directory",
    facts: { ...DEV, links: { slot1: { target: '/states/dev/data.img', targetKind: 'directory' } } },
    slot: 'slot1',
    error: {
      code: 'conflict',
      message: '/states/dev/data.img is a directory, not an image file; refusing to start',
    },
  },
  {
    name: 'another running slot holds the state',
    facts: { states: [{ name: 'qa' }], running: ['slot3'], assignments: { slot3: 'qa', slot4: 'qa' } },
    slot: 'slot4',
    error: { code: 'conflict', message: 'in use by running slot slot3' },
  },
  {
    name: 'a slot reassigned away from the state, still running it',
    facts: {
      states: [{ name: 'qa' }, { name: 'dev' }],
      running: ['slot3'],
      assignments: { slot3: 'dev', slot4: 'qa' },
      startedOn: { slot3: 'qa' },
    },
    slot: 'slot4',
    error: { code: 'conflict', message: 'in use by running slot slot3' },
  },
];

describe('preflight: the guard', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const check = () => checkPreflight(config, row.slot)(facts(row.facts));
      if (row.error) expectRefusal(check, row.error);
      else expect(check()).toContain(row.allows);
    });
  }

  it('an unknown slot is refused before anything is read', () => {
    expectRefusal(() => checkPreflight(config, 'slot9'), {
      code: 'invalid-name',
      message: 'Invalid slot name',
    });
  });
});

describe('preflight, the start guard', () => {
  it('allows a slot whose state is mounted and runs nowhere else', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } });
    expect((await runCli(['preflight', 'slot1'], w)).code).toBe(0);
  });

  it('allows a plain-directory state (the hypervisor default) when the pool is mounted', async () => {
    const w = makeWorld();
    mkdirSync(join(w.config.statesDir, 'slot1'));
    expect((await runCli(['preflight', 'slot1'], w)).code).toBe(0);
  });

  it('refuses while the pool is not imported, even if a tmpfiles directory looks like a state', async () => {
    const w = makeWorld();
    mkdirSync(join(w.config.statesDir, 'slot1'));
    w.runner.on((a) => a[1] === 'get', {
      exitCode: 1,
      stderr: `cannot open '${P}': dataset does not exist`,
    });
    const r = await runCli(['preflight', 'slot1'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('is missing; refusing to start slot1');
  });

  it('states dataset unmounted: refuses a directory state, allows a dataset mounted on its own', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } });
    mkdirSync(join(w.config.statesDir, 'slot2'));
    w.runner.on((a) => a[1] === 'get', {
      stdout: zfsGetText(P, w.config.statesDir, [{ name: 'dev' }]).replace(
        `${P}\tmounted\tyes`,
        `${P}\tmounted\tno`,
      ),
    });
    const r = await runCli(['preflight', 'slot2'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('is not mounted; refusing');
    // canmount=off parents are a valid layout
    expect((await runCli(['preflight', 'slot1'], w)).code).toBe(0);
  });

  it('refuses an unmounted dataset, a missing state, a state another running slot holds', async () => {
    const w = makeWorld({
      states: [{ name: 'dev', mounted: false }, { name: 'qa' }],
      running: ['slot3'],
      assignments: { slot1: 'dev', slot2: 'nope', slot3: 'qa', slot4: 'qa' },
    });
    expect((await runCli(['preflight', 'slot1'], w)).code).toBe(5);
    expect((await runCli(['preflight', 'slot2'], w)).code).toBe(3);
    const r = await runCli(['preflight', 'slot4'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('in use by running slot slot3');
  });

  it('a ZFS that cannot answer at all is an error, not an empty pool', async () => {
    const w = makeWorld();
    w.runner.on((a) => a[1] === 'get', { exitCode: 1, stderr: 'The ZFS modules are not loaded.' });
    const r = await runCli(['list'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ZFS modules are not loaded');
  });

  it('refuses a disk link leading outside the state (an adopt copying away, another state)', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }, { name: 'qa' }], assignments: { slot1: 'dev' } });
    mkdirSync(join(w.config.slotsDir, 'slot1'), { recursive: true });
    symlinkSync(`${w.config.statesDir}/qa/data.img`, join(w.config.slotsDir, 'slot1', 'data.img'));
    const r = await runCli(['preflight', 'slot1'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("outside state 'dev'");
  });
});
