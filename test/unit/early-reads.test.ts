// A view's reads start from the config as given, before zod loads and checks
// it (src/io/early-reads.ts): taken once when the checked config agrees, and
// never with a value that could read as an option; a mutation's never early.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { EarlyRunner } from '../../src/io/early-reads.js';
import type { Runner } from '../../src/io/runner.js';
import { runCli } from '../support/cli.js';
import { makeWorld } from '../support/world.js';

const P = 'microvms/storage/states';

function withConfig(w: ReturnType<typeof makeWorld>, change: Record<string, unknown>): void {
  const file = w.env.VM_STATE_CONFIG!;
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...change }));
}

/** A runner that counts its processes and answers each with its argv. */
function counting(): Runner & { started: string[] } {
  const started: string[] = [];
  return {
    started,
    run: async (argv) => (started.push(argv.join(' ')), { stdout: argv.join(' '), stderr: '', exitCode: 0 }),
    pipe: () => Promise.reject(new Error('no pipes here')),
  };
}

afterEach(() => {
  delete process.env.VM_STATE_ZFS_FLAVOUR;
});

/** Each call as `zfs get <props>`, `zfs get -d 1 <dataset>` or `systemctl show`. */
const shape = (c: string[]) =>
  c[0] === 'zfs'
    ? `zfs get ${c.at(-3) === '-d' ? `-d ${c.at(-2)} ${c.at(-1)}` : c.at(-1)}`
    : c.slice(0, 2).join(' ');

describe('early reads', () => {
  it('list runs each of its two reads once: the early one is the one taken', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }], assignments: { slot1: 'dev' } });
    const r = await runCli(['list'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('dev');
    expect(w.runner.calls.map((c) => c.slice(0, 2).join(' '))).toEqual(['zfs get', 'systemctl show']);
    expect(w.runner.calls[0]!.at(-1)).toBe(P);
  });

  it('they start before the config is checked: a config wrong elsewhere is still exit 2, changing nothing', async () => {
    const w = makeWorld();
    withConfig(w, { owner: 'Not A User' });
    const r = await runCli(['list'], w);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('owner');
    expect(w.runner.calls.map((c) => c.slice(0, 2).join(' '))).toEqual(['zfs get', 'systemctl show']);
    expect(w.runner.mutatingCalls).toEqual([]);
  });

  it.each([
    ['a pool that reads as an option', { pool: '-o' }],
    ['a dataset that is not a string', { dataset: 7 }],
    ['slots that are not names', { slots: 'slot1' }],
  ])('%s: nothing starts early, and the checked read says what is wrong', async (_, change) => {
    const w = makeWorld();
    withConfig(w, change);
    const r = await runCli(['list'], w);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Config file');
    expect(w.runner.calls).toEqual([]);
  });

  it('the flags and the environment count as the checked config counts them', async () => {
    const w = makeWorld();
    const r = await runCli(['--dataset', 'other/place', 'list'], {
      ...w,
      env: { ...w.env, VM_STATE_SLOTS: 'slot2' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(w.runner.calls.map((c) => c.at(-1))).toEqual(['microvms/other/place', 'microvm@slot2.service']);
  });

  it("show on zfs-fuse: the parent, every origin and the units start before the config's check", async () => {
    process.env.VM_STATE_ZFS_FLAVOUR = 'zfs-fuse';
    const w = makeWorld({
      states: [
        { name: 'dev', snapshots: ['s1'] },
        { name: 'copy', origin: `${P}/dev@s1` },
      ],
    });
    const r = await runCli(['show', 'dev'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('copy');
    // Each once: the three early ones taken, then the state's own read, from its argument.
    expect(w.runner.calls.map(shape)).toEqual([
      `zfs get -d 0 ${P}`,
      `zfs get -d 1 ${P}`,
      'systemctl show',
      `zfs get -d 1 ${P}/dev`,
    ]);
    const bad = makeWorld({ states: [{ name: 'dev' }] });
    withConfig(bad, { owner: 'Not A User' });
    expect((await runCli(['show', 'dev'], bad)).code).toBe(2);
    expect(bad.runner.calls.map(shape)).toEqual([`zfs get -d 0 ${P}`, `zfs get -d 1 ${P}`, 'systemctl show']);
    expect(bad.runner.mutatingCalls).toEqual([]);
  });

  it('show on OpenZFS lists no other state: its clones come with its own read', async () => {
    process.env.VM_STATE_ZFS_FLAVOUR = 'openzfs';
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }] });
    expect((await runCli(['show', 'dev'], w)).code).toBe(0);
    expect(w.runner.calls.map(shape)).toEqual([
      `zfs get -d 0 ${P}`,
      'systemctl show',
      `zfs get -d 1 ${P}/dev`,
    ]);
  });

  it('a mutation reads nothing before its config is checked and its lock taken', async () => {
    const w = makeWorld();
    withConfig(w, { owner: 'Not A User' });
    expect((await runCli(['create', 'fresh'], w)).code).toBe(2);
    expect(w.runner.calls).toEqual([]);
  });

  it('a read is taken once, by the same argv with no options; anything else runs anew', async () => {
    const inner = counting();
    const early = new EarlyRunner(inner);
    early.start(['zfs', 'get', 'a']);
    expect(inner.started).toEqual(['zfs get a']);
    expect((await early.run(['zfs', 'get', 'a'])).stdout).toBe('zfs get a');
    expect(inner.started).toHaveLength(1);
    await early.run(['zfs', 'get', 'a']);
    early.start(['zfs', 'get', 'b']);
    await early.run(['zfs', 'get', 'b'], { timeout: 5 });
    await early.run(['zfs', 'get', 'c']);
    expect(inner.started).toEqual(['zfs get a', 'zfs get a', 'zfs get b', 'zfs get b', 'zfs get c']);
  });

  it('a read nobody takes may fail: no unhandled rejection; the one who takes it gets the error', async () => {
    const failing: Runner = {
      run: () => Promise.reject(new Error('spawn zfs ENOENT')),
      pipe: () => Promise.reject(new Error('no pipes here')),
    };
    const early = new EarlyRunner(failing);
    early.start(['zfs', 'get', 'never-taken']);
    early.start(['zfs', 'get', 'taken']);
    await expect(early.run(['zfs', 'get', 'taken'])).rejects.toThrow('ENOENT');
    await new Promise((r) => setTimeout(r, 10)); // an unhandled rejection would fail the run here
  });
});
