import { existsSync, mkdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeWorld } from '../support/world.js';

/**
 * Fault injection: for every multi-step command, make the N-th external call
 * fail, for every N, and check that the end state is the old one (or, once N
 * is past the last call, the new one): never something in between.
 */

type World = ReturnType<typeof makeWorld>;

/** The net effect of the calls that succeeded: datasets/snapshots added or removed, units whose running state changed. */
function netEffect(calls: string[][], failedIndex: number, runningBefore: readonly string[]): string[] {
  const effect = new Map<string, number>();
  const bump = (k: string, d: number) => effect.set(k, (effect.get(k) ?? 0) + d);
  const running = new Set(runningBefore);
  calls.forEach((c, i) => {
    if (i === failedIndex) return;
    const [tool, verb] = c;
    const last = c.at(-1)!;
    if (tool === 'zfs' && (verb === 'create' || verb === 'clone' || verb === 'snapshot')) bump(last, +1);
    if (tool === 'zfs' && verb === 'destroy') bump(last, -1);
    if (tool === 'systemctl' && verb === 'start') running.add(last);
    if (tool === 'systemctl' && verb === 'stop') running.delete(last);
  });
  for (const u of new Set([...running, ...runningBefore]))
    if (running.has(u) !== runningBefore.includes(u)) bump(u, running.has(u) ? 1 : -1);
  return [...effect].filter(([, n]) => n !== 0).map(([k, n]) => `${k}:${n}`);
}

function files(w: World): string {
  const a = existsSync(w.config.assignmentsFile) ? readFileSync(w.config.assignmentsFile, 'utf8') : '(none)';
  const links = ['slot1', 'slot2', 'slot3'].map((s) => {
    const p = join(w.config.slotsDir, s, 'data.img');
    try {
      return readlinkSync(p);
    } catch {
      return '-';
    }
  });
  return JSON.stringify({ assignments: JSON.parse(a === '(none)' ? '{}' : a), links }).replaceAll(
    w.root,
    '<root>',
  );
}

interface Case {
  name: string;
  argv: string[];
  world: () => World;
}

const CASES: Case[] = [
  { name: 'create', argv: ['create', 'n'], world: () => makeWorld() },
  { name: 'clone', argv: ['clone', 'src', 'n'], world: () => makeWorld({ states: [{ name: 'src' }] }) },
  {
    name: 'restore',
    argv: ['restore', 's1', 'n'],
    world: () => makeWorld({ states: [{ name: 'src', snapshots: ['s1'] }] }),
  },
  {
    name: 'snapshot',
    argv: ['snapshot', 'slot1', 'x'],
    world: () => makeWorld({ states: [{ name: 'slot1' }] }),
  },
  {
    name: 'assign (creating the state)',
    argv: ['assign', 'slot2', 'n'],
    world: () => makeWorld({ assignments: { slot2: 'old' }, states: [{ name: 'old' }] }),
  },
  {
    name: 'migrate of a running slot',
    argv: ['migrate', 'new', 'slot1'],
    world: () => {
      const w = makeWorld({
        states: [{ name: 'old' }, { name: 'new' }],
        running: ['slot1'],
        assignments: { slot1: 'old' },
      });
      mkdirSync(join(w.config.slotsDir, 'slot1'), { recursive: true });
      symlinkSync(`${w.config.statesDir}/old/data.img`, join(w.config.slotsDir, 'slot1', 'data.img'));
      return w;
    },
  },
  {
    name: 'migrate creating the state',
    argv: ['migrate', 'fresh', 'slot2'],
    world: () => makeWorld({ states: [{ name: 'old' }] }),
  },
];

describe.each(CASES)('fault injection: $name', ({ argv, world }) => {
  it('fails at every external call in turn, leaving the old state; succeeds past the last one', async () => {
    const clean = world();
    const ok = await runCli(argv, clean);
    expect(ok.code, ok.stderr).toBe(0);
    const total = clean.runner.mutatingCalls.length;
    const newFiles = files(clean);
    expect(total).toBeGreaterThan(0);

    for (let n = 0; n < total; n++) {
      const w = world();
      const before = files(w);
      w.runner.failAt(n, 'injected failure');
      const r = await runCli(argv, w);
      expect(r.code, `failing call ${n}`).not.toBe(0);
      expect(
        netEffect(w.runner.mutatingCalls, n, w.runningBefore),
        `net effect when call ${n} fails`,
      ).toEqual([]);
      expect(files(w), `files when call ${n} fails`).toBe(before);
      expect(r.stderr).toMatch(/injected failure/);
    }
    // Past the last call: the new state, complete.
    const w = world();
    w.runner.failAt(total);
    expect((await runCli(argv, w)).code).toBe(0);
    expect(files(w)).toBe(newFiles);
  });
});

describe('fault injection: delete --now', () => {
  it('a failure part-way reports exactly what remains, and never touches the dependent clone', async () => {
    const world = () =>
      makeWorld({
        states: [
          { name: 'base', snapshots: ['s1', 's2'] },
          { name: 'kid', origin: 'microvms/storage/states/base@s1' },
        ],
      });
    const clean = world();
    expect((await runCli(['delete', '--now', 'base', '--yes'], clean)).code).toBe(0);
    const total = clean.runner.mutatingCalls.length;
    for (let n = 0; n < total; n++) {
      const w = world();
      w.runner.failAt(n);
      const r = await runCli(['--json', 'delete', '--now', 'base', '--yes'], w);
      expect(r.code).not.toBe(0);
      const err = JSON.parse(r.stderr).error;
      expect(err.details.failedStep.startsWith(clean.runner.mutatingCalls[n]!.join(' '))).toBe(true);
      // every later external call is reported as not run (file steps such as rmdir come on top)
      const later = clean.runner.mutatingCalls.slice(n + 1).map((c) => c.join(' '));
      for (const c of later) expect(err.details.notRun.some((s: string) => s.startsWith(c))).toBe(true);
      expect(w.runner.mutatingCalls.some((c) => c[1] === 'destroy' && c.at(-1)!.includes('/kid'))).toBe(
        false,
      );
    }
  });
});
