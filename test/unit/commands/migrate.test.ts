import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../../src/commands/migrate.js';
import { ListOut, ResultOut } from '../../../src/schemas/output.js';
import { runCli } from '../../support/cli.js';
import { decide, expectPlan, facts, planner, type PlanRow } from '../../support/facts.js';
import { makeWorld, signalAtFirst } from '../../support/world.js';
import { mutations } from './helpers.js';

const STOP = (slot: string) => `systemctl stop microvm@${slot}.service   (then wait until inactive)`;
const START = (slot: string) => `systemctl start microvm@${slot}.service   (then check it is active)`;
const links = (slot: string, assignments: string, state: string) => [
  `write /etc/assignments.json ${assignments}`,
  `mkdir -p /vms/${slot}`,
  `chown microvm:kvm /vms/${slot} && chmod 755 /vms/${slot}`,
  `ln -sfn /states/${state}/data.img /vms/${slot}/data.img   (a regular file there is kept as ` +
    `/vms/${slot}/data.img.backup)`,
];

const ROWS: PlanRow[] = [
  {
    name: 'a running slot: stop, assign, start',
    facts: facts({ states: [{ name: 'dev' }], running: ['slot2'] }),
    input: { state: 'dev', slot: 'slot2' },
    steps: [STOP('slot2'), ...links('slot2', '{"slot2":"dev"}', 'dev'), START('slot2')],
    warnings: [],
    notes: ["Migration complete. slot2 is now running state 'dev'"],
  },
  {
    name: 'a stopped slot: assign, start',
    facts: facts({ states: [{ name: 'dev' }] }),
    input: { state: 'dev', slot: 'slot2' },
    steps: [...links('slot2', '{"slot2":"dev"}', 'dev'), START('slot2')],
  },
  {
    name: 'a missing state is created between the stop and the link',
    facts: facts({ running: ['slot2'] }),
    input: { state: 'fresh', slot: 'slot2' },
    steps: [
      STOP('slot2'),
      'zfs create -o mountpoint=/states/fresh tank/states/fresh',
      'zfs mount tank/states/fresh   (only if not mounted)',
      'chown microvm:kvm /states/fresh && chmod 755 /states/fresh',
      ...links('slot2', '{"slot2":"fresh"}', 'fresh'),
      START('slot2'),
    ],
    warnings: ["State 'fresh' doesn't exist yet. Creating it..."],
  },
  {
    name: 'a state a stopped slot is also assigned: warned',
    facts: facts({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } }),
    input: { state: 'dev', slot: 'slot2' },
    warnings: ["State 'dev' is also assigned to slot1. Two VMs on one disk image corrupt it"],
  },
  {
    name: 'a state another running slot is assigned: refused',
    facts: facts({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } }),
    input: { state: 'dev', slot: 'slot2' },
    error: {
      code: 'conflict',
      message: 'in use by running slot slot1',
      hint: 'systemctl stop microvm@slot1.service',
    },
  },
  {
    name: 'a state a running slot was reassigned away from, not yet restarted: refused',
    facts: facts({
      states: [{ name: 'old' }, { name: 'dev' }],
      running: ['slot2'],
      assignments: { slot2: 'dev' },
      startedOn: { slot2: 'old' },
    }),
    input: { state: 'old', slot: 'slot1' },
    error: { code: 'conflict', message: 'in use by running slot slot2' },
  },
  {
    name: 'the slot itself running the state is no obstacle',
    facts: facts({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } }),
    input: { state: 'dev', slot: 'slot1' },
    steps: [STOP('slot1'), ...links('slot1', '{"slot1":"dev"}', 'dev'), START('slot1')],
  },
  {
    name: 'an unknown slot, before anything is read',
    facts: facts({ states: [{ name: 'dev' }] }),
    input: { state: 'dev', slot: 'slot9' },
    error: { code: 'invalid-name', message: 'Invalid slot name', input: true },
  },
];

describe('migrate: the plan', () => {
  for (const row of ROWS) it(row.name, () => expectPlan(row, planner(migrate)));

  it('the stop is undone on the old state, the start records the new one', () => {
    const f = facts({
      states: [{ name: 'old' }, { name: 'dev' }],
      running: ['slot1'],
      assignments: { slot1: 'old' },
    });
    const steps = decide(migrate, { state: 'dev', slot: 'slot1' }, f).steps;
    expect(steps[0]).toEqual({ kind: 'stop', unit: 'microvm@slot1.service', slot: 'slot1', state: 'old' });
    expect(steps.at(-1)).toEqual({
      kind: 'start',
      unit: 'microvm@slot1.service',
      slot: 'slot1',
      state: 'dev',
      restores: true,
    });
  });
});

describe('migrate on the command line', () => {
  it('stops, waits until stopped, assigns, links, starts, checks', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot2'] });
    // After the stop, the unit reads as inactive.
    let stopped = false;
    w.runner.respond((a) => (a[1] === 'stop' ? ((stopped = true), {}) : undefined));
    const show = (unit: string) => {
      const active = unit === 'microvm@slot2.service' && !started ? 'inactive' : 'active';
      const pid = started ? 9 : 0;
      return (
        `Id=${unit}\nLoadState=loaded\nActiveState=${active}\nSubState=x\nMainPID=${pid}\n` + 'Result=success'
      );
    };
    w.runner.respond((a) =>
      a[1] === 'show' && stopped && a.length === 6 ? { stdout: show(a[5]!) } : undefined,
    );
    let started = false;
    w.runner.respond((a) => (a[1] === 'start' ? ((started = true), {}) : undefined));
    const r = await runCli(['migrate', 'dev', 'slot2'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      'systemctl stop microvm@slot2.service',
      'systemctl start microvm@slot2.service',
    ]);
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot2: 'dev' });
    expect(lstatSync(join(w.config.slotsDir, 'slot2', 'data.img')).isSymbolicLink()).toBe(true);
  });

  it('a VM that dies at once (activating/auto-restart) is a failed start, rolled back', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    let started = false;
    w.runner.respond((a) => (a[1] === 'start' ? ((started = true), {}) : undefined));
    w.runner.respond((a) =>
      a[1] === 'show' && started && a.length === 6
        ? {
            stdout:
              'LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nMainPID=0\nResult=exit-code',
          }
        : undefined,
    );
    const r = await runCli(['migrate', 'dev', 'slot2'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/did not start: activating\/auto-restart/);
    expect(r.stderr).toContain('Rolled back');
    expect(existsSync(w.config.assignmentsFile)).toBe(false);
  });

  it('a slot reassigned but not restarted holds its old state: migrate, delete of it refuse', async () => {
    const w = makeWorld({ states: [{ name: 'old' }, { name: 'dev' }], assignments: { slot2: 'old' } });
    // slot2 is started on 'old' by vm-state (which records it), then reassigned while it runs
    expect((await runCli(['migrate', 'old', 'slot2'], w)).code).toBe(0);
    expect((await runCli(['assign', 'slot2', 'dev'], w)).code).toBe(0);
    const list = ListOut.parse(JSON.parse((await runCli(['--json', 'list'], w)).stdout));
    expect(list.slots[1]).toMatchObject({ name: 'slot2', state: 'dev', runningState: 'old' });
    const m = await runCli(['migrate', 'old', 'slot1'], w);
    expect(m.code).toBe(5);
    expect(m.stderr).toContain('in use by running slot slot2');
    const d = await runCli(['delete', 'old', '--yes'], w);
    expect(d.code).toBe(5);
    expect(d.stderr).toContain('reassigned, not yet restarted');
  });

  it('a signal mid-plan: the current step finishes, nothing new starts, what ran is undone', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot2'] });
    signalAtFirst(w, 'stop', 'SIGTERM');
    const listeners = process.listenerCount('SIGTERM');
    const r = await runCli(['migrate', 'dev', 'slot2'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SIGTERM: finishing the current step');
    expect(r.stderr).toMatch(/Interrupted\. Rolled back: systemctl start microvm@slot2\.service/);
    expect(existsSync(w.config.assignmentsFile)).toBe(false);
    expect(mutations(w)).toEqual([
      'systemctl stop microvm@slot2.service',
      'systemctl start microvm@slot2.service',
    ]);
    // Started again on the state it ran, and recorded so: a stale record would let another slot start on that
    // state.
    expect(readFileSync(join(w.config.runDir, 'started', 'slot2'), 'utf8').split('\n')[0]).toBe('slot2');
    expect(process.listenerCount('SIGTERM')).toBeLessThanOrEqual(listeners); // ours are gone again
  });

  it('reassigning a running slot with no start record records what it runs first', async () => {
    const w = makeWorld({
      states: [{ name: 'old' }, { name: 'dev' }],
      running: ['slot1'],
      assignments: { slot1: 'old' },
    });
    expect((await runCli(['assign', 'slot1', 'dev'], w)).code).toBe(0);
    const m = await runCli(['migrate', 'old', 'slot2'], w);
    expect(m.code).toBe(5);
    expect(m.stderr).toContain('in use by running slot slot1');
  });

  it("a record older than the unit's start (a start around the guard) is stale: as none", async () => {
    const world = (recordedAt: number) => {
      const w = makeWorld({
        states: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
        running: ['slot1'],
        assignments: { slot1: 'a' },
        startedAtMicros: { slot1: 5_000_000 },
      });
      mkdirSync(join(w.config.runDir, 'started'), { recursive: true });
      // from an earlier run on b
      writeFileSync(join(w.config.runDir, 'started', 'slot1'), `b\n${recordedAt}\n`);
      return w;
    };
    // Stale: slot1 runs 'a' (its assignment when a plain systemctl start started it), so a is held.
    const stale = world(1_000_000);
    expect((await runCli(['assign', 'slot1', 'c'], stale)).code).toBe(0);
    const m = await runCli(['migrate', 'a', 'slot2'], stale);
    expect(m.code).toBe(5);
    expect(m.stderr).toContain('in use by running slot slot1');
    // A record of an older version (no time) is taken as it is.
    const old = world(1_000_000);
    writeFileSync(join(old.config.runDir, 'started', 'slot1'), 'b\n');
    expect((await runCli(['migrate', 'b', 'slot2'], old)).code).toBe(5);
    // Current (written during that start): slot1 runs b, and once reassigned to c, a is free.
    const current = world(6_000_000);
    expect((await runCli(['assign', 'slot1', 'c'], current)).code).toBe(0);
    expect((await runCli(['migrate', 'a', 'slot2'], current)).code).toBe(0);
  });

  it('refuses a state that another running slot uses (exit 5), touching nothing', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } });
    const r = await runCli(['migrate', 'dev', 'slot2'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('in use by running slot slot1');
    expect(mutations(w)).toEqual([]);
  });

  it('a failed start puts the previous assignment and link back and restarts the old state', async () => {
    const w = makeWorld({
      states: [{ name: 'old' }, { name: 'new' }],
      running: ['slot1'],
      assignments: { slot1: 'old' },
    });
    const { mkdirSync, symlinkSync } = await import('node:fs');
    mkdirSync(join(w.config.slotsDir, 'slot1'), { recursive: true });
    symlinkSync(`${w.config.statesDir}/old/data.img`, join(w.config.slotsDir, 'slot1', 'data.img'));
    const before = readFileSync(w.config.assignmentsFile, 'utf8');
    w.runner.on((a) => a[1] === 'show' && a.length === 6, {
      stdout: 'LoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\nResult=success',
    });
    w.runner.on((a) => a[1] === 'start' && a[2] === 'microvm@slot1.service' && !a.includes('x'), {
      exitCode: 1,
      stderr: 'Job failed',
    });
    const r = await runCli(['migrate', 'new', 'slot1'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Rolled back');
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual(JSON.parse(before));
    expect(readlinkSync(join(w.config.slotsDir, 'slot1', 'data.img'))).toBe(
      `${w.config.statesDir}/old/data.img`,
    );
    // stop, failed start (and a stop to cancel any Restart= loop), then the undo of stop: start
    // again (this stand-in unit fails every start, so that one is cancelled too)
    expect(mutations(w)).toEqual([
      'systemctl stop microvm@slot1.service',
      'systemctl start microvm@slot1.service',
      'systemctl stop microvm@slot1.service',
      'systemctl start microvm@slot1.service',
      'systemctl stop microvm@slot1.service',
    ]);
  });

  it('dry-run prints the exact steps and runs no mutating command', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot2'] });
    const r = await runCli(['--json', '--dry-run', 'migrate', 'dev', 'slot2'], w);
    expect(r.code, r.stderr).toBe(0);
    const doc = ResultOut.parse(JSON.parse(r.stdout));
    expect(doc.dryRun).toBe(true);
    expect(doc.steps.map((s) => s.kind)).toEqual([
      'stop',
      'write-assignments',
      'mkdir',
      'own',
      'link',
      'start',
    ]);
    expect(mutations(w)).toEqual([]);
    expect(existsSync(w.config.assignmentsFile)).toBe(false);
  });
});
