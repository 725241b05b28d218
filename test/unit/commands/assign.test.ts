import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assign } from '../../../src/commands/assign.js';
import { runCli } from '../../support/cli.js';
import { expectPlan, facts, planner, type PlanRow } from '../../support/facts.js';
import { makeWorld } from '../../support/world.js';
import { mutations, P } from './helpers.js';

/** The file, the slot's directory and its link: what every assign ends with. */
const links = (slot: string, assignments: string, image: string) => [
  `write /etc/assignments.json ${assignments}`,
  `mkdir -p /vms/${slot}`,
  `chown microvm:kvm /vms/${slot} && chmod 755 /vms/${slot}`,
  `ln -sfn ${image} /vms/${slot}/data.img   (a regular file there is kept as /vms/${slot}/data.img.backup)`,
];

const LONG = 'z'.repeat(150);

const ROWS: PlanRow[] = [
  {
    name: 'a stopped slot and an existing state: the file and the link, then start it',
    facts: facts({ states: [{ name: 'dev' }] }),
    input: { slot: 'slot1', state: 'dev' },
    steps: links('slot1', '{"slot1":"dev"}', '/states/dev/data.img'),
    warnings: [],
    notes: [
      'Created symlink: /vms/slot1/data.img -> /states/dev/data.img',
      "Assigned state 'dev' to slot1",
      'Start the slot with: systemctl start microvm@slot1.service',
    ],
  },
  {
    name: 'the other assignments are kept',
    facts: facts({ states: [{ name: 'dev' }, { name: 'qa' }], assignments: { slot2: 'qa' } }),
    input: { slot: 'slot1', state: 'dev' },
    steps: links('slot1', '{"slot2":"qa","slot1":"dev"}', '/states/dev/data.img'),
  },
  {
    name: 'a missing state is created first, and said so',
    facts: facts(),
    input: { slot: 'slot2', state: 'fresh' },
    steps: [
      'zfs create -o mountpoint=/states/fresh tank/states/fresh',
      'zfs mount tank/states/fresh   (only if not mounted)',
      'chown microvm:kvm /states/fresh && chmod 755 /states/fresh',
      ...links('slot2', '{"slot2":"fresh"}', '/states/fresh/data.img'),
    ],
    warnings: ["State 'fresh' doesn't exist yet. Creating it..."],
  },
  {
    name: 'a missing state without a parent dataset',
    facts: facts({ parentExists: false }),
    input: { slot: 'slot2', state: 'fresh' },
    error: { code: 'not-found', message: 'Parent dataset tank/states does not exist' },
  },
  {
    name: 'a state another slot is assigned: warned, the guards keep them apart',
    facts: facts({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } }),
    input: { slot: 'slot3', state: 'dev' },
    steps: links('slot3', '{"slot1":"dev","slot3":"dev"}', '/states/dev/data.img'),
    warnings: ["State 'dev' is also assigned to slot1 (running). Two VMs on one disk image corrupt it"],
  },
  {
    name: 'a running slot with no start record: what it runs is noted first, and it takes effect at restart',
    facts: facts({
      states: [{ name: 'old' }, { name: 'dev' }],
      running: ['slot1'],
      assignments: { slot1: 'old' },
    }),
    input: { slot: 'slot1', state: 'dev' },
    steps: [
      "note that slot1 runs 'old' until it restarts",
      ...links('slot1', '{"slot1":"dev"}', '/states/dev/data.img'),
    ],
    warnings: ['slot1 is currently running. Assignment will take effect after restart.'],
    notes: [
      'Created symlink',
      'Assigned',
      'Restart the slot to use the new state: systemctl restart microvm@slot1.service',
    ],
  },
  {
    name: 'a running slot with a start record: nothing to note',
    facts: facts({
      states: [{ name: 'old' }, { name: 'dev' }],
      running: ['slot1'],
      assignments: { slot1: 'old' },
      startedOn: { slot1: 'old' },
    }),
    input: { slot: 'slot1', state: 'dev' },
    steps: links('slot1', '{"slot1":"dev"}', '/states/dev/data.img'),
    warnings: ['slot1 is currently running'],
  },
  {
    name: 'a running slot given the state it already runs: nothing to note',
    facts: facts({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } }),
    input: { slot: 'slot1', state: 'dev' },
    steps: links('slot1', '{"slot1":"dev"}', '/states/dev/data.img'),
  },
  {
    name: "the link leads to the state's actual mountpoint",
    facts: facts({ states: [{ name: 'dev', mountpoint: '/srv/dev' }] }),
    input: { slot: 'slot1', state: 'dev' },
    steps: links('slot1', '{"slot1":"dev"}', '/srv/dev/data.img'),
  },
  {
    name: 'an existing state with a name longer than new names may be',
    facts: facts({ states: [{ name: LONG }] }),
    input: { slot: 'slot1', state: LONG },
    warnings: [],
  },
  {
    name: 'a new state with a name that long',
    facts: facts(),
    input: { slot: 'slot1', state: LONG },
    error: { code: 'invalid-name', message: 'at most 100' },
  },
  {
    name: 'an unknown slot, before anything is read',
    facts: facts({ states: [{ name: 'dev' }] }),
    input: { slot: 'slot9', state: 'dev' },
    error: {
      code: 'invalid-name',
      message: 'configured slots are slot1, slot2, slot3, slot4, slot5',
      input: true,
    },
  },
  {
    name: 'a bad state name, before anything is read',
    facts: facts(),
    input: { slot: 'slot1', state: '../x' },
    error: { code: 'invalid-name', message: 'Invalid state name', input: true },
  },
];

describe('assign: the plan', () => {
  for (const row of ROWS) it(row.name, () => expectPlan(row, planner(assign)));
});

describe('assign on the command line', () => {
  it('records the assignment and links data.img; a regular file is kept as .backup', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const { mkdirSync } = await import('node:fs');
    const slotDir = join(w.config.slotsDir, 'slot1');
    mkdirSync(slotDir, { recursive: true });
    writeFileSync(join(slotDir, 'data.img'), 'precious');
    const r = await runCli(['assign', 'slot1', 'dev'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot1: 'dev' });
    expect(readlinkSync(join(slotDir, 'data.img'))).toBe(`${w.config.statesDir}/dev/data.img`);
    expect(readFileSync(join(slotDir, 'data.img.backup'), 'utf8')).toBe('precious');
    expect(mutations(w)).toEqual([]);
    expect(r.stdout).toContain('Start the slot with: systemctl start microvm@slot1.service');
  });

  it('never overwrites an earlier backup', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const { mkdirSync } = await import('node:fs');
    const slotDir = join(w.config.slotsDir, 'slot1');
    mkdirSync(slotDir, { recursive: true });
    writeFileSync(join(slotDir, 'data.img.backup'), 'old');
    writeFileSync(join(slotDir, 'data.img'), 'new');
    expect((await runCli(['assign', 'slot1', 'dev'], w)).code).toBe(0);
    expect(readFileSync(join(slotDir, 'data.img.backup'), 'utf8')).toBe('old');
    expect(readFileSync(join(slotDir, 'data.img.backup.1'), 'utf8')).toBe('new');
  });

  it('creates a missing state first, and warns when another slot holds the state', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } });
    const r = await runCli(['assign', 'slot2', 'fresh'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)[0]).toBe(`zfs create -o mountpoint=${w.config.statesDir}/fresh ${P}/fresh`);
    const s = await runCli(['assign', 'slot3', 'dev'], w);
    expect(s.code).toBe(0);
    expect(s.stderr).toMatch(/also assigned to slot1 \(running\)/);
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({
      slot1: 'dev',
      slot2: 'fresh',
      slot3: 'dev',
    });
  });

  it('rejects an unknown slot with exit 2', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const r = await runCli(['assign', 'slot9', 'dev'], w);
    expect(r.code).toBe(2);
    expect(existsSync(w.config.assignmentsFile)).toBe(false);
  });
});
