import { describe, expect, it } from 'vitest';
import { planPrune } from '../../../src/commands/prune.js';
import { snapshotDelete } from '../../../src/commands/snapshot-delete.js';
import { describeStep } from '../../../src/core/plan.js';
import { config, facts, PARENT, refusal } from '../../support/facts.js';

/** A held snapshot (a send's base: the one a replica shares) is never deleted, and says why. */
const POOL = facts({
  states: [{ name: 'web', snapshots: ['a', { name: 'vmstate-repl-1', holds: 1 }, 'b'] }],
});

describe('holds', () => {
  it('prune passes over a held snapshot, does not count it, and says why', () => {
    const plan = planPrune(config, { state: 'web', keep: '0' })(POOL);
    expect(plan.steps.map(describeStep)).toEqual([
      `zfs destroy ${PARENT}/web@a`,
      `zfs destroy ${PARENT}/web@b`,
    ]);
    expect(plan.warnings).toEqual([
      'Keeping web@vmstate-repl-1: held (the last snapshot shared with a replica: the next send starts from it)',
    ]);
  });

  it('snapshot delete refuses it (exit 5) and says when it can go', () => {
    const e = refusal(() => snapshotDelete.plan(config, { snapshot: 'web@vmstate-repl-1' })(POOL));
    expect(e.code).toBe('conflict');
    expect(e.message).toContain('is held: it is the last snapshot shared with a replica');
    expect(e.hint).toContain('next vm-state send');
    expect(snapshotDelete.plan(config, { snapshot: 'web@a' })(POOL).steps).toHaveLength(1);
  });
});
