import { describe, expect, it } from 'vitest';
import type { StateSpec } from '../../support/world.js';
import { makeWorld } from '../../support/world.js';
import { runCli, type CliRun } from '../../support/cli.js';
import { mutations, P } from '../commands/helpers.js';

/** The dry run's plan token of `argv`, as --json gives it. */
async function tokenOf(w: ReturnType<typeof makeWorld>, argv: string[]): Promise<string> {
  const r = await runCli(['--dry-run', '--json', ...argv], w);
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout) as { token?: string; dryRun: boolean };
  expect(doc.dryRun).toBe(true);
  expect(doc.token).toMatch(/^vsp1\.\d+\.[0-9a-f]{64}$/);
  return doc.token!;
}

const journalResult = (r: CliRun) => r.journal.map((e) => e.find(([k]) => k === 'VMSTATE_RESULT')?.[1]);

describe('the plan token of a dry run', () => {
  it('is in the --json document and printed in one line for people', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } });
    await tokenOf(w, ['snapshot', 'slot1', 'x']);
    const r = await runCli(['--dry-run', 'create', 'qa'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Plan token: vsp1\.\d+\.[0-9a-f]{64} {3}\(--expect-plan runs/m);
  });

  it('costs no process: the dry run reads what the run itself reads', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    await tokenOf(w, ['delete', 'dev']);
    const dry = w.runner.calls.splice(0);
    expect((await runCli(['--yes', 'delete', 'dev'], w)).code).toBe(0);
    expect(dry).toEqual(w.runner.calls.filter((c) => c[1] === 'get' || c[1] === 'show'));
  });

  it('another time, another token (auto-snapshot names its snapshot after it)', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const a = await tokenOf(w, ['auto-snapshot']);
    await new Promise((r) => setTimeout(r, 2));
    expect(await tokenOf(w, ['auto-snapshot'])).not.toBe(a);
  });
});

describe('--expect-plan', () => {
  it('runs the reviewed plan', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const dry = await runCli(['--dry-run', '--json', 'delete', 'dev'], w);
    const { token, steps } = JSON.parse(dry.stdout) as {
      token: string;
      steps: { kind: string; command: string }[];
    };
    const r = await runCli(['--expect-plan', token, '--yes', 'delete', 'dev'], w);
    expect(r.code, r.stderr).toBe(0);
    const zfs = steps.filter((s) => s.kind === 'zfs').map((s) => s.command);
    expect(zfs.length).toBeGreaterThan(0);
    expect(mutations(w)).toEqual(expect.arrayContaining(zfs));
    expect(journalResult(r)).toEqual(['done']);
    expect(r.journal[0]).toContainEqual(['VMSTATE_PLAN', token]);
  });

  it('decides at the reviewed time: the auto snapshot has the name the dry run showed', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const dry = await runCli(['--dry-run', '--json', 'auto-snapshot', 'dev'], w);
    const doc = JSON.parse(dry.stdout) as { token: string; steps: { command: string }[] };
    await new Promise((r) => setTimeout(r, 1100)); // another second: another name, unless pinned
    const r = await runCli(['--expect-plan', doc.token, 'auto-snapshot', 'dev'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([doc.steps[0]!.command]);
  });

  it('with --dry-run only checks it: the same plan, the same token', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const token = await tokenOf(w, ['rename', 'dev', 'qa']);
    const r = await runCli(['--dry-run', '--json', '--expect-plan', token, 'rename', 'dev', 'qa'], w);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { token: string }).token).toBe(token);
    expect(mutations(w)).toEqual([]);
  });

  it('stale: a snapshot taken since the review, exit 5, nothing run, journal says refused', async () => {
    const states: StateSpec[] = [{ name: 'dev' }];
    const w = makeWorld({ states });
    const token = await tokenOf(w, ['delete', 'dev']);
    states[0]!.snapshots = ['late'];
    const r = await runCli(['--expect-plan', token, '--yes', 'delete', 'dev'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('plan is stale: the facts or the plan changed since it was reviewed');
    expect(mutations(w)).toEqual([]);
    expect(journalResult(r)).toEqual(['refused']);
  });

  it('stale: the slot started since the review', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } });
    const token = await tokenOf(w, ['snapshot', 'slot1', 'x']);
    w.running.add('microvm@slot1.service');
    const r = await runCli(['--expect-plan', token, 'snapshot', 'slot1', 'x'], w);
    expect(r.code).toBe(5);
    expect(mutations(w)).toEqual([]);
  });

  it('stale with --dry-run too: exit 5', async () => {
    const states: StateSpec[] = [{ name: 'dev' }];
    const w = makeWorld({ states });
    const token = await tokenOf(w, ['delete', 'dev']);
    states.push({ name: 'qa' }); // not what delete dev reads: still the same plan
    expect((await runCli(['-n', '--expect-plan', token, 'delete', 'dev'], w)).code).toBe(0);
    states[0]!.mounted = false;
    expect((await runCli(['-n', '--expect-plan', token, 'delete', 'dev'], w)).code).toBe(5);
  });

  it("another command's token, or the same command with other input: exit 5", async () => {
    const w = makeWorld({ states: [{ name: 'dev' }, { name: 'qa' }] });
    const token = await tokenOf(w, ['delete', 'qa']);
    expect((await runCli(['--expect-plan', token, '--yes', 'delete', 'dev'], w)).code).toBe(5);
    expect((await runCli(['--expect-plan', token, 'rename', 'qa', 'qa2'], w)).code).toBe(5);
    expect(mutations(w)).toEqual([]);
  });

  it('forged: a token of the right shape that no dry run gave is exit 5, one of the wrong shape exit 2', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const token = await tokenOf(w, ['delete', 'dev']);
    const forged = token.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    expect((await runCli(['--expect-plan', forged, '--yes', 'delete', 'dev'], w)).code).toBe(5);
    const bad = await runCli(['--expect-plan', 'please', '--yes', 'delete', 'dev'], w);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Not a plan token');
    expect(w.runner.calls).toEqual(w.runner.calls.filter((c) => c[1] === 'get' || c[1] === 'show'));
    expect(mutations(w)).toEqual([]);
  });

  it('a token of a time ahead of now: exit 2 (no dry run gave it)', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const token = `vsp1.${Date.parse('2099-01-01T00:00:00Z')}.${'a'.repeat(64)}`;
    const r = await runCli(['--expect-plan', token, '--yes', 'delete', 'dev'], w);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ahead of now');
    expect(w.runner.calls).toEqual([]);
  });

  it('replayed after its plan ran: the facts changed, so it is stale', async () => {
    const states: StateSpec[] = [{ name: 'dev' }];
    const w = makeWorld({ states, assignments: { slot1: 'dev' } });
    const token = await tokenOf(w, ['snapshot', 'slot1', 'x']);
    expect((await runCli(['--expect-plan', token, 'snapshot', 'slot1', 'x'], w)).code).toBe(0);
    states[0]!.snapshots = ['x']; // what the run made (the world's answers are fixed)
    const replay = await runCli(['--expect-plan', token, 'snapshot', 'slot1', 'x'], w);
    expect(replay.code).toBe(5);
    expect(mutations(w)).toEqual([`zfs snapshot ${P}/dev@x`]);
  });

  it('is refused where it would be ignored: views, actions, a migrate to a remote', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const token = await tokenOf(w, ['delete', 'dev']);
    for (const argv of [['list'], ['show', 'dev'], ['doctor', '--repair'], ['send', 'dev', 'peer']]) {
      const r = await runCli(['--expect-plan', token, ...argv], w);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toContain(`takes no --expect-plan`);
    }
    expect(mutations(w)).toEqual([]);
  });

  it('needs root like the command, before it reads anything', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const token = await tokenOf(w, ['delete', 'dev']);
    const r = await runCli(['--expect-plan', token, '--yes', 'delete', 'dev'], { ...w, euid: 1000 });
    expect(r.code).toBe(7);
  });
});
