import { describe, expect, it } from 'vitest';
import { parseDuration, planPrune, prune } from '../../../src/commands/prune.js';
import type { Input } from '../../../src/commands/spec.js';
import { ResultOut } from '../../../src/schemas/output.js';
import { runCli } from '../../support/cli.js';
import { config, decide, expectPlan, facts, type PlanRow } from '../../support/facts.js';
import { makeWorld, signalAtFirst } from '../../support/world.js';
import { mutations, P, withZfs } from './helpers.js';

const NOW = new Date('2026-03-01T00:00:00Z');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000).toISOString();

/** a: four snapshots and, between them, the helper k was cloned from; b: two; c: a plain directory. */
const POOL = facts({
  states: [
    {
      name: 'a',
      snapshots: [
        { name: 'a1', created: daysAgo(40), used: 100 },
        { name: 'a2', created: daysAgo(30), used: 200 },
        { name: 'clone-for-k', created: daysAgo(20) },
        { name: 'a3', created: daysAgo(10), used: 300 },
        { name: 'a4', created: daysAgo(1), used: 400 },
      ],
    },
    {
      name: 'b',
      snapshots: [
        { name: 'b1', created: daysAgo(50) },
        { name: 'b2', created: daysAgo(2) },
      ],
    },
    { name: 'k', origin: 'a@clone-for-k' },
    { name: 'c', directory: true },
  ],
});

const destroy = (...snaps: string[]) => snaps.map((s) => `zfs destroy tank/states/${s}`);
const SPARED = 'Keeping a@clone-for-k: k cloned from it';

const ROWS: PlanRow[] = [
  {
    name: '--keep N: all but the newest N of each state; a snapshot states were cloned from stays, uncounted',
    facts: POOL,
    input: { keep: '1' },
    steps: destroy('a@a1', 'a@a2', 'a@a3', 'b@b1'),
    warnings: [SPARED],
    summary:
      'Prune 4 snapshot(s) of every state (keep the newest 1): a@a1, a@a2, a@a3, b@b1; reclaims at ' +
      'least 600B',
    notes: ['Deleted 4 snapshot(s): a@a1, a@a2, a@a3, b@b1'],
  },
  {
    name: '--older-than D, for one state',
    facts: POOL,
    input: { state: 'a', olderThan: '25d' },
    steps: destroy('a@a1', 'a@a2'),
    warnings: [],
    summary: "of state 'a' (delete those older than 25d)",
  },
  {
    name: 'both: only what both let go',
    facts: POOL,
    input: { keep: '3', olderThan: '1w' },
    steps: destroy('a@a1'),
    warnings: [],
    summary: 'keep the newest 3, delete those older than 1w',
  },
  {
    name: 'a clone source younger than the cutoff: nothing to keep, nothing said',
    facts: POOL,
    input: { olderThan: '25d' },
    steps: destroy('a@a1', 'a@a2', 'b@b1'),
    warnings: [],
  },
  {
    name: 'nothing old enough: nothing to do, and said so',
    facts: POOL,
    input: { keep: '10' },
    steps: [],
    warnings: [],
    summary: 'Prune snapshots of every state (keep the newest 10): nothing to delete',
    notes: ['Nothing to prune'],
  },
  {
    name: 'a plain-directory state named',
    facts: POOL,
    input: { state: 'c', keep: '1' },
    error: { code: 'conflict', message: 'is a plain directory' },
  },
  {
    name: 'a missing state',
    facts: POOL,
    input: { state: 'nope', keep: '1' },
    error: { code: 'not-found', message: "State 'nope' doesn't exist" },
  },
  ...[
    { name: 'no policy', input: {}, message: 'Say what to keep: --keep N and/or --older-than DURATION' },
    { name: '--keep -1', input: { keep: '-1' }, message: '--keep must be a whole number, got' },
    { name: '--keep x', input: { keep: 'x' }, message: '--keep must be a whole number' },
    { name: '--older-than 7', input: { olderThan: '7' }, message: 'Invalid duration' },
    { name: '--older-than d7', input: { olderThan: 'd7' }, message: 'Invalid duration' },
    { name: '--older-than 7days', input: { olderThan: '7days' }, message: 'Invalid duration' },
  ].map((bad): PlanRow => ({
    name: `${bad.name}: refused before anything is read`,
    facts: POOL,
    input: bad.input,
    error: { code: 'usage', message: bad.message, input: true },
  })),
  {
    name: 'a bad state name: refused before anything is read',
    facts: POOL,
    input: { state: '../a', keep: '1' },
    error: { code: 'invalid-name', message: 'Invalid state name', input: true },
  },
];

/** The planner at NOW, with the input as the command line gives it. */
const atNow = (input: Input) =>
  planPrune(
    config,
    {
      state: input.state as string | undefined,
      keep: input.keep as string | undefined,
      olderThan: input.olderThan as string | undefined,
    },
    NOW,
  );

describe('prune: the plan', () => {
  for (const row of ROWS) it(row.name, () => expectPlan(row, atNow));

  it('each destroy says what it frees; the command reads its input as the table does', () => {
    expect(atNow({ keep: '2' })(POOL).steps.map((s) => s.kind === 'zfs' && s.frees)).toEqual([100, 200]);
    expect(decide(prune, { keep: '1' }, POOL)).toEqual(atNow({ keep: '1' })(POOL));
  });

  it('parses durations', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('90m')).toBe(5_400_000);
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('2w')).toBe(1_209_600_000);
    expect(parseDuration('1d12h')).toBe(129_600_000);
    for (const bad of ['', '7', 'd', '1.5d', '-1d', '1y', '1d 2h'])
      expect(() => parseDuration(bad), bad).toThrow(/Invalid duration/);
  });
});

describe('prune on the command line', () => {
  const now = Math.floor(Date.now() / 1000);
  const day = 86_400;
  const world = () => {
    const w = makeWorld();
    withZfs(w, [
      {
        name: 'a',
        snaps: [
          { name: 'a1', created: now - 40 * day, used: 100 },
          { name: 'a2', created: now - 30 * day, used: 200 },
          { name: 'clone-for-k', created: now - 20 * day },
          { name: 'a3', created: now - 10 * day, used: 300 },
          { name: 'a4', created: now - 1 * day, used: 400 },
        ],
      },
      {
        name: 'b',
        snaps: [
          { name: 'b1', created: now - 50 * day },
          { name: 'b2', created: now - 2 * day },
        ],
      },
      { name: 'k', origin: `${P}/a@clone-for-k` },
    ]);
    return w;
  };

  it('--keep N keeps the newest N of each state that nothing was cloned from', async () => {
    const w = world();
    const r = await runCli(['prune', '--keep', '1'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      `zfs destroy ${P}/a@a1`,
      `zfs destroy ${P}/a@a2`,
      `zfs destroy ${P}/a@a3`,
      `zfs destroy ${P}/b@b1`,
    ]);
    expect(r.stderr).toContain('Keeping a@clone-for-k: k cloned from it');
  });

  it('--older-than D, for one state; both together delete only what both allow', async () => {
    const w = world();
    expect((await runCli(['prune', 'a', '--older-than', '25d'], w)).code).toBe(0);
    expect(mutations(w)).toEqual([`zfs destroy ${P}/a@a1`, `zfs destroy ${P}/a@a2`]);
    const both = world();
    expect((await runCli(['prune', '--keep', '3', '--older-than', '1w'], both)).code).toBe(0);
    expect(mutations(both)).toEqual([`zfs destroy ${P}/a@a1`]);
  });

  it('--dry-run lists exactly what the run then deletes, with the bytes', async () => {
    const w = world();
    const dry = ResultOut.parse(
      JSON.parse((await runCli(['--json', '--dry-run', 'prune', '--keep', '2'], w)).stdout),
    );
    expect(mutations(w)).toEqual([]);
    expect(dry.summary).toContain('reclaims at least 300B (300 bytes)');
    expect((await runCli(['prune', '--keep', '2'], w)).code).toBe(0);
    expect(mutations(w)).toEqual(dry.steps.map((s) => s.command));
    expect(dry.steps.map((s) => s.frees)).toEqual([100, 200]);
  });

  it('nothing to prune is fine; bad policies are exit 2 before anything runs', async () => {
    const w = world();
    const r = await runCli(['prune', '--keep', '10'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Nothing to prune');
    const calls = w.runner.calls.length;
    for (const bad of [
      [],
      ['--keep', '-1'],
      ['--keep', 'x'],
      ['--older-than', '7'],
      ['--older-than', 'd7'],
      ['--older-than', '7days'],
      ['../a', '--keep', '1'],
    ]) {
      const b = await runCli(['prune', ...bad], w);
      expect(b.code, bad.join(' ')).toBe(2);
    }
    expect(w.runner.calls.length).toBe(calls);
    expect((await runCli(['prune', 'nope', '--keep', '1'], w)).code).toBe(3);
  });

  it('a signal in the middle of a prune: the destroys done stay, the rest is skipped and named', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['a', 'b', 'c', 'd'] }] });
    signalAtFirst(w, 'destroy');
    const r = await runCli(['prune', 'dev', '--keep', '1'], w);
    expect(r.code).toBe(1);
    expect(mutations(w)).toEqual([`zfs destroy ${P}/dev@a`]);
    expect(r.stderr).toContain(`Already done, cannot be undone: zfs destroy ${P}/dev@a.`);
    expect(r.stderr).toContain(`Not run: zfs destroy ${P}/dev@b; zfs destroy ${P}/dev@c.`);
  });
});
