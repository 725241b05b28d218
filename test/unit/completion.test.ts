import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeWorld } from '../support/world.js';

const complete = async (w: ReturnType<typeof makeWorld>, words: string[]) => {
  const r = await runCli(['__complete', String(words.length - 1), '--', 'vm-state', ...words.slice(1)], w);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').filter(Boolean);
};

describe('shell completion', () => {
  const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }, { name: 'qa' }] });

  it('completes commands, options, slots, states and snapshots', async () => {
    expect(await complete(w, ['vm-state', ''])).toEqual(
      expect.arrayContaining(['list', 'migrate', 'restore', 'help']),
    );
    expect(await complete(w, ['vm-state', '--'])).toEqual(
      expect.arrayContaining(['--json', '--dry-run', '--yes']),
    );
    expect(await complete(w, ['vm-state', 'assign', ''])).toEqual([
      'slot1',
      'slot2',
      'slot3',
      'slot4',
      'slot5',
    ]);
    expect(await complete(w, ['vm-state', '--json', 'assign', 'slot1', ''])).toEqual(['dev', 'qa']);
    expect(await complete(w, ['vm-state', 'migrate', ''])).toEqual(['dev', 'qa']);
    expect(await complete(w, ['vm-state', 'migrate', 'dev', ''])).toEqual([
      'slot1',
      'slot2',
      'slot3',
      'slot4',
      'slot5',
    ]);
    expect(await complete(w, ['vm-state', 'restore', ''])).toEqual(['dev@s1', 's1']);
    expect(await complete(w, ['vm-state', 'create', ''])).toEqual([]);
    expect(await complete(w, ['vm-state', '--wait', ''])).toEqual([]);
    expect(await complete(w, ['vm-state', 'completion', ''])).toEqual(['bash', 'fish', 'zsh']);
  });

  it('reads names with one zfs call and no systemctl call', async () => {
    const calls = w.runner.calls.length;
    await complete(w, ['vm-state', 'delete', '']);
    expect(w.runner.calls.slice(calls).map((c) => c[0])).toEqual(['zfs']);
  });

  it('prints a script for bash, zsh and fish; another shell is exit 2', async () => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const r = await runCli(['completion', shell], w);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('vm-state __complete');
    }
    expect((await runCli(['completion', 'tcsh'], w)).code).toBe(2);
  });
});
