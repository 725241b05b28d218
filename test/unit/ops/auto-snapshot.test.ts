import { describe, expect, it } from 'vitest';
import { planAutoSnapshot } from '../../../src/commands/auto-snapshot.js';
import { describeStep } from '../../../src/core/plan.js';
import { ConfigSchema } from '../../../src/schemas/config.js';
import { facts, PARENT, refusal } from '../../support/facts.js';

const AT = new Date('2026-12-01T13:20:00Z');
const NAME = 'auto-20261201T132000Z';
const config = ConfigSchema.parse({
  pool: 'tank',
  dataset: 'states',
  statesDir: '/states',
  slotsDir: '/vms',
  policies: { default: { latest: 2 }, keepall: { latest: 1000 } },
  autoSnapshot: { interval: '1h', states: { scratch: null, db: 'keepall' }, keepRunning: ['slot2'] },
});
const world = facts({
  states: [
    {
      name: 'web',
      snapshots: [
        { name: 'auto-a', created: '2026-12-01T10:00:00Z' },
        { name: 'auto-b', created: '2026-12-01T11:00:00Z' },
        { name: 'mine', created: '2026-12-01T11:30:00Z' },
      ],
    },
    { name: 'db', snapshots: [{ name: 'auto-c', created: '2026-12-01T11:00:00Z' }] },
    { name: 'done', snapshots: [{ name: 'auto-d', created: '2026-12-01T13:05:00Z' }] },
    { name: 'scratch' },
    { name: 'copy', replicaOf: 'hv2:copy' },
  ],
  running: ['slot1', 'slot2'],
  assignments: { slot1: 'web', slot2: 'db' },
});
const plan = (r: Partial<Parameters<typeof planAutoSnapshot>[1]> = {}) =>
  planAutoSnapshot(config, { states: [], stop: false, at: AT, batch: false, ...r })(world);

describe('auto-snapshot', () => {
  it('one snapshot per state and period, then each state`s policy prunes its own', () => {
    const p = plan();
    expect(p.steps.map(describeStep)).toEqual([
      `zfs snapshot ${PARENT}/db@${NAME}`,
      `zfs snapshot ${PARENT}/web@${NAME}`,
      // web's policy keeps the latest 2 of its auto-* snapshots: the new one and auto-b; `mine` is not its own.
      `zfs destroy ${PARENT}/web@auto-a`,
    ]);
    expect(p.notes).toContain('Already done this period: done');
    expect(p.warnings).toEqual([
      'db is running on slot2: crash-consistent',
      'web is running on slot1: crash-consistent',
    ]);
    expect(p.details).toContain('drop web@auto-a: older than what the policy keeps (latest 2)');
    expect(p.details).toContain(`keep web@${NAME}: latest 1 of 2`);
  });

  it('on OpenZFS, one zfs snapshot takes them all (atomic, one process)', () => {
    expect(plan({ batch: true }).steps.map(describeStep)[0]).toBe(
      `zfs snapshot ${PARENT}/db@${NAME} ${PARENT}/web@${NAME}`,
    );
  });

  it('a state the config says gets none is left out, unless named; a replica is never snapshotted by the timer', () => {
    expect(plan().steps.map(describeStep).join('\n')).not.toMatch(/scratch|copy/);
    expect(plan({ states: ['scratch'] }).steps.map(describeStep)).toEqual([
      `zfs snapshot ${PARENT}/scratch@${NAME}`,
    ]);
  });

  it('--stop stops and starts a running slot around its snapshot, and refuses a slot that must stay up', () => {
    expect(
      plan({ stop: true, states: ['web'] })
        .steps.map(describeStep)
        .slice(0, 3),
    ).toEqual([
      'systemctl stop microvm@slot1.service   (then wait until inactive)',
      `zfs snapshot ${PARENT}/web@${NAME}`,
      'systemctl start microvm@slot1.service   (then check it is active)',
    ]);
    const e = refusal(() => plan({ stop: true, states: ['db'] }));
    expect(e.message).toContain('slot2 must stay up');
  });

  it('an unknown policy is a config error (exit 2) before anything is read', () => {
    const e = refusal(() =>
      planAutoSnapshot(config, { states: [], stop: false, at: AT, batch: false, policy: 'nope' }),
    );
    expect(e.code).toBe('config');
    expect(e.hint).toBe('Policies: default, keepall');
  });
});
