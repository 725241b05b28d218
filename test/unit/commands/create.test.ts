import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { create } from '../../../src/commands/create.js';
import { runCli } from '../../support/cli.js';
import { expectPlan, facts, planner, type PlanRow } from '../../support/facts.js';
import { makeWorld } from '../../support/world.js';
import { mutations, P } from './helpers.js';

const NEW_DEV = [
  'zfs create -o mountpoint=/states/dev tank/states/dev',
  'zfs mount tank/states/dev   (only if not mounted)',
  'chown microvm:kvm /states/dev && chmod 755 /states/dev',
];

const ROWS: PlanRow[] = [
  {
    name: 'a new name: create, make sure it is mounted, own the mountpoint',
    facts: facts(),
    input: { name: 'dev' },
    steps: NEW_DEV,
    warnings: [],
    notes: ["State 'dev' created at /states/dev", 'vm-state assign <slot> dev'],
  },
  {
    name: 'an existing dataset of that name',
    facts: facts({ states: [{ name: 'dev' }] }),
    input: { name: 'dev' },
    error: { code: 'exists', message: "State 'dev' already exists (dataset tank/states/dev)" },
  },
  {
    name: 'an existing plain directory of that name',
    facts: facts({ states: [{ name: 'dev', directory: true }] }),
    input: { name: 'dev' },
    error: { code: 'exists', message: "State 'dev' already exists (directory /states/dev)" },
  },
  {
    name: 'a half-renamed dataset still mounted where the new state would go',
    facts: facts({ states: [{ name: 'new', mountpoint: '/states/dev' }] }),
    input: { name: 'dev' },
    error: {
      code: 'exists',
      message: "/states/dev is the mountpoint of state 'new'",
      hint: 'vm-state doctor',
    },
  },
  {
    name: 'no parent dataset',
    facts: facts({ parentExists: false }),
    input: { name: 'dev' },
    error: { code: 'not-found', message: 'Parent dataset tank/states does not exist', hint: 'zfs create -p' },
  },
  {
    name: 'a bad name, before anything is read',
    facts: facts(),
    input: { name: '../../etc' },
    error: { code: 'invalid-name', message: 'Invalid state name', input: true },
  },
  {
    name: 'a new name longer than 100 characters',
    facts: facts(),
    input: { name: 'x'.repeat(101) },
    error: { code: 'invalid-name', message: 'at most 100', input: true },
  },
];

describe('create: the plan', () => {
  for (const row of ROWS) it(row.name, () => expectPlan(row, planner(create)));
});

describe('create on the command line', () => {
  it('creates, makes sure it is mounted, then owns the mountpoint', async () => {
    const w = makeWorld();
    const r = await runCli(['create', 'dev'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      `zfs create -o mountpoint=${w.config.statesDir}/dev ${P}/dev`,
      `zfs mount ${P}/dev`,
    ]);
    expect(r.stdout).toContain("State 'dev' created");
  });

  it('undone, it leaves no empty mountpoint (it would pass for a plain-directory state)', async () => {
    const w = makeWorld();
    w.runner.failAt(1);
    const r = await runCli(['create', 'dev'], w);
    expect(r.code).toBe(1);
    expect(mutations(w).at(-1)).toBe(`zfs destroy ${P}/dev`);
    expect(existsSync(join(w.config.statesDir, 'dev'))).toBe(false);
    expect((await runCli(['create', 'dev'], w)).code).toBe(0); // not 'already exists (directory)'
  });

  it('a name too long for ZFS is refused before anything runs; long existing names still work', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const longParent = ['--dataset', `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}`];
    const r = await runCli([...longParent, 'create', 'y'.repeat(100)], w);
    expect(r.code).toBe(2);
    expect(mutations(w)).toEqual([]);
    // an assignments file the old script wrote with a 150-character state name is still read
    writeFileSync(w.config.assignmentsFile, JSON.stringify({ slot1: 'z'.repeat(150) }));
    expect((await runCli(['list'], w)).code).toBe(0);
  });

  it('where the microvm user or kvm group does not exist, skips the chown with a warning', async () => {
    const w = makeWorld();
    const r = await runCli(['--owner', 'no-such-user', 'create', 'dev'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("User 'no-such-user' does not exist; not changing the owner");
  });

  it('accepts "created, but not mounted" and mounts it', async () => {
    const w = makeWorld();
    const { mkdirSync } = await import('node:fs');
    w.runner.on((a) => a[1] === 'create', {
      exitCode: 1,
      stderr: 'filesystem successfully created, but not mounted',
    });
    w.runner.respond((a) =>
      a[1] === 'mount' ? (mkdirSync(join(w.config.statesDir, 'dev')), {}) : undefined,
    );
    const r = await runCli(['create', 'dev'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w).at(-1)).toBe(`zfs mount ${P}/dev`);
  });

  it('refuses an existing state with exit 4 and runs nothing', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const r = await runCli(['create', 'dev'], w);
    expect(r.code).toBe(4);
    expect(mutations(w)).toEqual([]);
  });

  it('rejects a bad name before running anything', async () => {
    const w = makeWorld();
    const r = await runCli(['create', '../../etc'], w);
    expect(r.code).toBe(2);
    expect(w.runner.calls).toEqual([]);
  });

  it('needs root, unless it is a dry run', async () => {
    const w = makeWorld();
    const r = await runCli(['create', 'dev'], { ...w, euid: 1000 });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('must be run as root');
    const d = await runCli(['--dry-run', 'create', 'dev'], { ...w, euid: 1000 });
    expect(d.code).toBe(0);
    expect(mutations(w)).toEqual([]);
  });
});
