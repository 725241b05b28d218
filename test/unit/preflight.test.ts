import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeWorld, zfsGetText } from '../support/world.js';

const P = 'microvms/storage/states';

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

  it('refuses while the pool is not imported, even where a tmpfiles directory looks like a state', async () => {
    const w = makeWorld();
    mkdirSync(join(w.config.statesDir, 'slot1'));
    w.runner.on((a) => a[1] === 'get', { exitCode: 1, stderr: `cannot open '${P}': dataset does not exist` });
    const r = await runCli(['preflight', 'slot1'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('is missing; refusing to start slot1');
  });

  it('with the states dataset unmounted: refuses a plain-directory state, allows a dataset mounted on its own', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } });
    mkdirSync(join(w.config.statesDir, 'slot2'));
    w.runner.on((a) => a[1] === 'get', {
      stdout: zfsGetText(P, w.config.statesDir, [{ name: 'dev' }]).replace(`${P}\tmounted\tyes`, `${P}\tmounted\tno`),
    });
    const r = await runCli(['preflight', 'slot2'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('is not mounted; refusing');
    expect((await runCli(['preflight', 'slot1'], w)).code).toBe(0); // canmount=off parents are a valid layout
  });

  it('refuses a state whose dataset is not mounted, a missing state, and a state another running slot holds', async () => {
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

  it('refuses when the disk link leads outside the state (an adopt copying away from it, another state)', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }, { name: 'qa' }], assignments: { slot1: 'dev' } });
    mkdirSync(join(w.config.slotsDir, 'slot1'), { recursive: true });
    symlinkSync(`${w.config.statesDir}/qa/data.img`, join(w.config.slotsDir, 'slot1', 'data.img'));
    const r = await runCli(['preflight', 'slot1'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("outside state 'dev'");
  });
});
