import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planToken } from '../../../src/core/plan-token.js';
import type { Step } from '../../../src/core/plan.js';
import type { PlanFile } from '../../../src/schemas/plan-file.js';
import { ResultOut } from '../../../src/schemas/output.js';
import { runCli, type CliRun } from '../../support/cli.js';
import { makeWorld, type StateSpec } from '../../support/world.js';
import { mutations, P } from '../commands/helpers.js';

type World = ReturnType<typeof makeWorld>;

/** Writes the plan of `argv` to a file in the world and returns its path. */
async function planOut(w: World, argv: string[], opts: { euid?: number } = {}): Promise<string> {
  const file = join(w.root, 'plan.json');
  const r = await runCli(['--plan-out', file, ...argv], { ...w, ...opts });
  expect(r.code, r.stderr).toBe(0);
  return file;
}

const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as PlanFile;
/** The zfs commands of a plan file's steps, as the runner records them. */
const zfsSteps = (p: PlanFile) =>
  p.steps.flatMap((s) => (s.kind === 'zfs' ? [(s.argv as string[]).join(' ')] : []));
const resultOf = (r: CliRun) => r.journal.map((e) => e.find(([k]) => k === 'VMSTATE_RESULT')?.[1]);

/** The file edited by `change`, its token made again to match (what a forger would do). */
function forge(file: string, change: (p: PlanFile) => void): void {
  const p = read(file);
  change(p);
  const decidedAt = new Date(p.decidedAt);
  p.token = planToken({ ...p, decidedAt, steps: p.steps as unknown as Step[] });
  writeFileSync(file, JSON.stringify(p));
}

function edit(file: string, change: (p: Record<string, unknown>) => void): void {
  const p = read(file) as unknown as Record<string, unknown>;
  change(p);
  writeFileSync(file, JSON.stringify(p));
}

describe('--plan-out', () => {
  it('writes the plan, readable by its owner only; implies --dry-run, needs no root, changes nothing', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['a'] }] });
    const file = await planOut(w, ['delete', 'dev'], { euid: 1000 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const p = read(file);
    expect(p).toMatchObject({
      format: 'vm-state-plan',
      formatVersion: 1,
      command: 'delete',
      input: { state: 'dev' },
      scope: { names: ['dev'], clones: true },
    });
    expect(p.commands.some((c) => c.startsWith('zfs ') && c.includes(`${P}/dev`))).toBe(true);
    expect(p.facts[`snapshot dev@a`]).toMatch(/^guid=/);
    expect(p.token).toMatch(/^vsp1\./);
    expect(mutations(w)).toEqual([]);
  });

  it('--json: the document names the file and has its token', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const file = join(w.root, 'p.json');
    const r = await runCli(['--json', '--plan-out', file, 'rename', 'dev', 'qa'], w);
    expect(r.code, r.stderr).toBe(0);
    const doc = ResultOut.parse(JSON.parse(r.stdout));
    expect(doc).toMatchObject({ dryRun: true, planFile: file, token: read(file).token });
  });

  it('never writes through a link planted at its temporary name', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const victim = join(w.root, 'victim');
    writeFileSync(victim, 'keep me');
    const file = join(w.root, 'p.json');
    symlinkSync(victim, join(w.root, `.p.json.${process.pid}.tmp`));
    expect((await runCli(['--plan-out', file, 'delete', 'dev'], w)).code).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(read(file).command).toBe('delete');
  });

  it('a refused plan writes no file', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } });
    const file = join(w.root, 'p.json');
    expect((await runCli(['--plan-out', file, 'delete', 'dev'], w)).code).toBe(5);
    expect(existsSync(file)).toBe(false);
  });

  it('a file it cannot write: exit 1, and no document says it was written', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const r = await runCli(
      ['--json', '--plan-out', join(w.root, 'no', 'such', 'dir', 'p.json'), 'delete', 'dev'],
      w,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Cannot write the plan file');
  });
});

describe('vm-state apply', () => {
  it('runs the plan as reviewed: the same steps, a journal entry, the result document', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['a'] }] });
    const file = await planOut(w, ['delete', 'dev']);
    const r = await runCli(['--json', '--yes', 'apply', file], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual(expect.arrayContaining(zfsSteps(read(file))));
    expect(ResultOut.parse(JSON.parse(r.stdout))).toMatchObject({
      command: 'delete',
      dryRun: false,
      ok: true,
    });
    expect(resultOf(r)).toEqual(['done']);
  });

  it("asks for the command's own confirmation unless --yes", async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const file = await planOut(w, ['delete', 'dev']);
    const no = await runCli(['apply', file], w);
    expect(no.code).toBe(2);
    expect(mutations(w)).toEqual([]);
    const yes = await runCli(['apply', file], { ...w, stdin: 'DELETE\n' });
    expect(yes.code, yes.stderr).toBe(0);
    expect(mutations(w)).toEqual(expect.arrayContaining(zfsSteps(read(file))));
  });

  it('decides at the reviewed time: an auto snapshot keeps the name the plan showed', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const file = await planOut(w, ['auto-snapshot']);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await runCli(['apply', file], w)).code).toBe(0);
    expect(mutations(w)).toEqual(read(file).commands);
  });

  it('stale: exit 5, each changed fact old → new, nothing run, journal says refused', async () => {
    const states: StateSpec[] = [{ name: 'dev', snapshots: ['a'] }];
    const w = makeWorld({ states, assignments: { slot1: 'dev' } });
    const file = await planOut(w, ['snapshot', 'slot1', 'b']);
    states[0]!.snapshots!.push('late');
    w.running.add('microvm@slot1.service');
    const r = await runCli(['apply', file], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('plan is stale: 2 fact(s) changed since it was reviewed');
    expect(r.stderr).toMatch(/snapshot dev@late: added \(guid=/);
    expect(r.stderr).toContain(
      'slot slot1: unit=loaded/inactive/dead → unit=loaded/active/running, pid=0 → pid=4242',
    );
    expect(mutations(w)).toEqual([]);
    expect(resultOf(r)).toEqual(['refused']);
    const json = await runCli(['--json', 'apply', file], w);
    const err = JSON.parse(json.stderr) as { error: { exitCode: number; details: { changes: unknown[] } } };
    expect(err.error.exitCode).toBe(5);
    expect(err.error.details.changes).toHaveLength(2);
  });

  it("stale when its plan can no longer be made: applied twice, the second meets the first one's snapshot", async () => {
    const states: StateSpec[] = [{ name: 'dev' }];
    const w = makeWorld({ states, assignments: { slot1: 'dev' } });
    const file = await planOut(w, ['snapshot', 'slot1', 'x']);
    expect((await runCli(['apply', file], w)).code).toBe(0);
    states[0]!.snapshots = ['x'];
    const again = await runCli(['apply', file], w);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain('snapshot dev@x: added');
    expect(again.stderr).toContain('deciding it again now: Snapshot');
    expect(mutations(w)).toEqual([`zfs snapshot ${P}/dev@x`]);
  });

  it('--dry-run checks it and prints the plan; nothing runs', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const file = await planOut(w, ['delete', 'dev']);
    const r = await runCli(['--dry-run', 'apply', file], w);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Plan token: ${read(file).token}`);
    expect(mutations(w)).toEqual([]);
  });

  it('needs root like the command itself', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const file = await planOut(w, ['delete', 'dev']);
    expect((await runCli(['--yes', 'apply', file], { ...w, euid: 1000 })).code).toBe(7);
  });
});

describe('vm-state apply: what is no plan it may run', () => {
  const cases: [string, (file: string) => void, number, string][] = [
    [
      'no such file',
      (f) => writeFileSync(`${f}.x`, '') /* the file stays; the path is another */,
      3,
      'No plan file',
    ],
    ['not JSON', (f) => writeFileSync(f, '{"format": "vm-state-plan",'), 2, 'not JSON'],
    ['JSON of something else', (f) => writeFileSync(f, '[1, 2]'), 2, 'no "format": "vm-state-plan"'],
    [
      'another plan format',
      (f) => edit(f, (p) => (p.formatVersion = 2)),
      2,
      'plan format 2; this vm-state reads format 1',
    ],
    ['a field missing', (f) => edit(f, (p) => delete p.token), 2, 'field "token"'],
    [
      'a field of the wrong type',
      (f) => edit(f, (p) => ((p.facts as Record<string, unknown>).parent = 1)),
      2,
      'field "facts.parent"',
    ],
    ['a field more', (f) => edit(f, (p) => (p.run = 'rm -rf /')), 2, 'Unrecognized key'],
    [
      'another vm-state version',
      (f) => edit(f, (p) => (p.version = '0.0.1')),
      2,
      'planned by vm-state 0.0.1',
    ],
    [
      'another host',
      (f) => edit(f, (p) => ((p.host as { name: string }).name = 'hv9')),
      2,
      'planned on host hv9',
    ],
    [
      'another machine of the same name',
      (f) => edit(f, (p) => ((p.host as { id: string }).id = 'f'.repeat(32))),
      2,
      'another machine of that name',
    ],
    [
      'a fact edited',
      (f) => edit(f, (p) => ((p.facts as Record<string, string>)['state qa'] = 'directory /x')),
      2,
      'changed after vm-state wrote it',
    ],
    [
      'a step edited',
      (f) => edit(f, (p) => ((p.steps as { argv: string[] }[])[1]!.argv = ['zfs', 'destroy', '-r', `${P}`])),
      2,
      'changed after vm-state wrote it',
    ],
    [
      'a step edited and the token forged to match',
      (f) =>
        forge(
          f,
          (p) => ((p.steps as unknown as { argv: string[] }[])[1]!.argv = ['zfs', 'destroy', '-r', P]),
        ),
      5,
      'the planner now makes other steps than the plan holds',
    ],
    [
      'a step added, token forged',
      (f) => forge(f, (p) => p.steps.push({ kind: 'remove-tree', path: '/' })),
      5,
      'other steps',
    ],
    ['the input forged', (f) => forge(f, (p) => (p.input.state = 'qa')), 5, 'plan is stale'],
    [
      'a command apply does not run, forged',
      (f) => forge(f, (p) => (p.command = 'send')),
      2,
      "a plan of 'send'",
    ],
    [
      'a time ahead of now, forged',
      (f) => forge(f, (p) => (p.decidedAt = '2099-01-01T00:00:00.000Z')),
      2,
      'which is ahead of now',
    ],
  ];
  for (const [what, spoil, code, message] of cases)
    it(`${what}: exit ${code}, nothing run`, async () => {
      const w = makeWorld({ states: [{ name: 'dev', snapshots: ['a'] }, { name: 'qa' }] });
      const file = await planOut(w, ['delete', 'dev']);
      spoil(file);
      const r = await runCli(['--yes', 'apply', what === 'no such file' ? `${file}.y` : file], w);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr).toContain(message);
      expect(mutations(w)).toEqual([]);
    });

  it('takes no --expect-plan or --plan-out of its own', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const file = await planOut(w, ['delete', 'dev']);
    const r = await runCli(['--expect-plan', read(file).token, 'apply', file], w);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('A plan file carries its own token');
  });
});
