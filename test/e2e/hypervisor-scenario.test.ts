import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeState, datasetExists, ok, P, resetLab, sh, vm, addDropIn, removeDropIn } from './lab.js';

/**
 * The hypervisor repository's own NixOS VM test (tests/vm-state.nix), step for
 * step, against zfs-fuse and systemd in the lab. Each step depends on the one
 * before, as in the original.
 */
describe.sequential(
  'the hypervisor NixOS test scenario, with the start guard as the Nix module installs it',
  () => {
    beforeAll(async () => {
      await resetLab();
      // As nix/module.nix does: ExecStartPre=+vm-state preflight %i on every microvm@ unit.
      await addDropIn('microvm@', 'ExecStartPre=+/usr/local/bin/vm-state preflight %i');
    });
    afterAll(() => removeDropIn('microvm@'));

    it('help and --help', async () => {
      expect((await vm(['help'])).code).toBe(0);
      const r = await vm(['--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('migrate <state> <slot>');
    });

    it('list on an empty pool shows its header', async () => {
      const r = await vm(['list']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('States and assignments');
    });

    it('create test-state: the dataset exists and list shows it', async () => {
      await ok(['vm-state', 'create', 'test-state']);
      expect(await datasetExists(`${P}/test-state`)).toBe(true);
      expect(await ok(['vm-state', 'list'])).toContain('test-state');
    });

    it('assign slot1 test-state: data.img is a symlink', async () => {
      await ok(['vm-state', 'assign', 'slot1', 'test-state']);
      expect((await sh(['test', '-L', '/var/lib/microvms/slot1/data.img'])).code).toBe(0);
    });

    it('snapshot slot1 snap1: the snapshot exists', async () => {
      await ok(['vm-state', 'snapshot', 'slot1', 'snap1']);
      await ok(['zfs', 'list', '-t', 'snapshot', `${P}/test-state@snap1`]);
    });

    it('clone test-state cloned-state', async () => {
      await ok(['vm-state', 'clone', 'test-state', 'cloned-state']);
      await ok(['zfs', 'list', `${P}/cloned-state`]);
    });

    it('restore snap1 restored-state', async () => {
      await ok(['vm-state', 'restore', 'snap1', 'restored-state']);
      await ok(['zfs', 'list', `${P}/restored-state`]);
    });

    it('a dummy microvm unit starts', async () => {
      await ok(['systemctl', 'start', 'microvm@slot1.service']);
      await ok(['systemctl', 'is-active', 'microvm@slot1.service']);
    });

    it('migrate cloned-state slot2: slot2 runs with its symlink in place', async () => {
      await ok(['vm-state', 'migrate', 'cloned-state', 'slot2']);
      expect((await sh(['test', '-L', '/var/lib/microvms/slot2/data.img'])).code).toBe(0);
      expect(await activeState('slot2')).toBe('active');
    });

    it('delete fails while the state is assigned', async () => {
      const r = await vm(['delete', 'cloned-state'], { input: 'DELETE\n' });
      expect(r.code).not.toBe(0);
      expect(await datasetExists(`${P}/cloned-state`)).toBe(true);
    });

    it('stop slot2, assign it test-state, then the delete succeeds and the dataset is gone', async () => {
      await ok(['systemctl', 'stop', 'microvm@slot2.service']);
      await ok(['vm-state', 'assign', 'slot2', 'test-state']);
      const r = await vm(['delete', 'cloned-state'], { input: 'DELETE\n' });
      expect(r.code, r.stderr).toBe(0);
      expect(await datasetExists(`${P}/cloned-state`)).toBe(false);
    });

    it('delete restored-state', async () => {
      const r = await vm(['delete', 'restored-state'], { input: 'DELETE\n' });
      expect(r.code, r.stderr).toBe(0);
      expect(await datasetExists(`${P}/restored-state`)).toBe(false);
      // test-state keeps its own snapshot and data: nothing the operator can see was lost.
      await ok(['zfs', 'list', '-t', 'snapshot', `${P}/test-state@snap1`]);
      // and no empty mountpoint is left to show up as a plain-directory state
      const states = JSON.parse(await ok(['vm-state', 'list', '--json'])).states.map(
        (s: { name: string }) => s.name,
      );
      expect(states).toEqual(['test-state']);
    });
  },
);
