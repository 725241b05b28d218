// zfs-fuse's workarounds run on zfs-fuse only: on OpenZFS the same answers are real failures.
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeWorld } from '../support/world.js';

afterEach(() => {
  delete process.env.VM_STATE_ZFS_FLAVOUR;
});

const world = () =>
  makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }], assignments: { slot1: 'dev' } });
const rollbacks = (w: ReturnType<typeof world>) => w.runner.calls.filter((c) => c[1] === 'rollback').length;

describe.each([
  ['zfs-fuse', 0, 2],
  ['openzfs', 1, 1],
])('on %s', (flavour, exitCode, tries) => {
  it(`the drop_caches notice after a rollback ${exitCode ? 'is a failure' : 'is tolerated'}`, async () => {
    process.env.VM_STATE_ZFS_FLAVOUR = flavour;
    const w = world();
    w.runner.on((a) => a[1] === 'rollback', { exitCode: 1, stderr: 'drop_caches failed: x\n' });
    expect((await runCli(['rollback', 'slot1', 's1', '--yes'], w)).code).toBe(exitCode);
  });

  it(`an I/O error of a rollback is tried ${tries} time(s)`, async () => {
    process.env.VM_STATE_ZFS_FLAVOUR = flavour;
    const w = world();
    let n = 0;
    w.runner.respond((a) =>
      a[1] === 'rollback' && n++ === 0
        ? { exitCode: 1, stderr: "cannot rollback 'x': I/O error" }
        : undefined,
    );
    const r = await runCli(['rollback', 'slot1', 's1', '--yes'], w);
    expect(rollbacks(w)).toBe(tries);
    expect(r.code).toBe(tries === 2 ? 0 : 1);
  });
});
