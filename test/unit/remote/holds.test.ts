import { describe, expect, it } from 'vitest';
import { planPrune } from '../../../src/commands/prune.js';
import { snapshotDelete } from '../../../src/commands/snapshot-delete.js';
import { describeStep } from '../../../src/core/plan.js';
import { config, DECIDED_AT, facts, PARENT, refusal } from '../../support/facts.js';

/** A held snapshot (a send's base: the one a replica shares) is never deleted, and says why. */
const POOL = facts({
  states: [{ name: 'web', snapshots: ['a', { name: 'vmstate-repl-1', holds: 1 }, 'b'] }],
});

describe('holds', () => {
  it('prune passes over a held snapshot, does not count it, and says why', () => {
    const plan = planPrune(config, { state: 'web', keep: '0' }, DECIDED_AT)(POOL);
    expect(plan.steps.map(describeStep)).toEqual([
      `zfs destroy ${PARENT}/web@a`,
      `zfs destroy ${PARENT}/web@b`,
    ]);
    expect(plan.warnings).toEqual([
      'Keeping web@vmstate-repl-1: held (the last snapshot shared with a replica: the next send starts from it)',
    ]);
  });

  it('snapshot delete refuses it (exit 5) and says when it can go', () => {
    const e = refusal(() =>
      snapshotDelete.plan(config, { snapshot: 'web@vmstate-repl-1' }, { at: DECIDED_AT })(POOL),
    );
    expect(e.code).toBe('conflict');
    expect(e.message).toContain('is held: it is the last snapshot shared with a replica');
    expect(e.hint).toContain('next vm-state send');
    expect(snapshotDelete.plan(config, { snapshot: 'web@a' }, { at: DECIDED_AT })(POOL).steps).toHaveLength(
      1,
    );
  });
});

describe('a replica here', () => {
  const REPLICA = facts({
    states: [{ name: 'web', snapshots: ['a'], replicaOf: 'hv2:web', mounted: false }],
  });

  it('is not assigned, migrated or started: it lives on the other host', async () => {
    const { assign } = await import('../../../src/commands/assign.js');
    const { migrate } = await import('../../../src/commands/migrate.js');
    const { checkPreflight } = await import('../../../src/commands/preflight.js');
    for (const run of [
      () => assign.plan(config, { slot: 'slot1', state: 'web' }, { at: DECIDED_AT })(REPLICA),
      () => migrate.plan(config, { state: 'web', slot: 'slot1' }, { at: DECIDED_AT })(REPLICA),
    ]) {
      const e = refusal(run);
      expect(e.code).toBe('conflict');
      expect(e.message).toBe(
        "State 'web' is a read-only replica of hv2:web: it cannot be assigned to a slot here",
      );
    }
    const onWeb = facts({
      states: [{ name: 'web', snapshots: ['a'], replicaOf: 'hv2:web', mounted: false }],
      assignments: { slot1: 'web' },
    });
    expect(refusal(() => checkPreflight(config, 'slot1')(onWeb)).message).toContain('cannot be started here');
  });
});

describe('deleting a state that was sent', () => {
  it('releases the holds vm-state may have put on its snapshots, then destroys', async () => {
    const { deleteState } = await import('../../../src/commands/delete.js');
    const c = { ...config, remotes: { peer: { destination: 'peer', sshOptions: {} } } };
    const plan = deleteState.plan(c, { state: 'web', now: true }, { at: DECIDED_AT })(POOL);
    expect(plan.steps.map(describeStep)).toEqual([
      `zfs unmount ${PARENT}/web   (only if mounted)`,
      `zfs destroy ${PARENT}/web@a`,
      `zfs release vm-state:replica ${PARENT}/web@vmstate-repl-1`,
      `zfs release vm-state:sent-to:peer ${PARENT}/web@vmstate-repl-1`,
      `zfs destroy ${PARENT}/web@vmstate-repl-1`,
      `zfs destroy ${PARENT}/web@b`,
      `zfs destroy ${PARENT}/web`,
      'rmdir /states/web   (only if empty)',
    ]);
    expect(plan.warnings).toContain(
      "web@vmstate-repl-1 is held (a send's base): its holds are released first",
    );
  });
});
