import { beforeEach, describe, expect, it } from 'vitest';
import { ResultOut } from '../../src/schemas/output.js';
import { costly, datasetExists, ok, P, resetLab, sh, vm, worldSnapshot } from './lab.js';

/** Reviewed plans (#15) against the real zfs and systemd: plan files, apply, --expect-plan. */

const FILE = '/root/plan.json';

const planFile = async () => JSON.parse(await ok(['cat', FILE])) as Record<string, unknown>;
const writePlanFile = (text: string) => ok(['sh', '-c', `cat > ${FILE}`], { input: text });

/** The dry run's token of `args`, from its --json document. */
async function tokenOf(args: string[]): Promise<string> {
  const r = await vm(['--dry-run', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return ResultOut.parse(JSON.parse(r.stdout)).token!;
}

/** dev on slot1 with one snapshot. */
async function dev(): Promise<void> {
  await ok(['vm-state', 'create', 'dev']);
  await ok(['vm-state', 'assign', 'slot1', 'dev']);
  await ok(['vm-state', 'snapshot', 'slot1', 'first']);
}

describe('plan files', () => {
  beforeEach(resetLab);

  costly('plan files and tokens; a stale plan from the pool is checked below')(
    '--plan-out writes the plan (0600) and changes nothing; apply runs it',
    async () => {
      await dev();
      const before = await worldSnapshot();
      const out = await vm(['--plan-out', FILE, 'snapshot', 'slot1', 'reviewed']);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toContain(`zfs snapshot ${P}/dev@reviewed`);
      expect(out.stdout).toMatch(/Plan token: vsp1\./);
      expect((await ok(['stat', '-c', '%a', FILE])).trim()).toBe('600');
      expect(await worldSnapshot()).toBe(before);
      const r = await vm(['--json', 'apply', FILE]);
      expect(r.code, r.stderr).toBe(0);
      expect(ResultOut.parse(JSON.parse(r.stdout))).toMatchObject({ command: 'snapshot', dryRun: false });
      expect(await datasetExists(`${P}/dev@reviewed`)).toBe(true);
    },
  );

  costly('plan files and tokens; a stale plan from the pool is checked above')(
    "apply asks for the command's confirmation: DELETE on standard input",
    async () => {
      await ok(['vm-state', 'create', 'gone']);
      expect((await vm(['--plan-out', FILE, 'delete', 'gone'])).code).toBe(0);
      expect((await vm(['apply', FILE])).code).toBe(2);
      expect(await datasetExists(`${P}/gone`)).toBe(true);
      const r = await vm(['apply', FILE], { input: 'DELETE\n' });
      expect(r.code, r.stderr).toBe(0);
      expect(await datasetExists(`${P}/gone`)).toBe(false);
    },
  );

  it('stale: a snapshot taken after the review; apply is exit 5, says what changed, changes nothing', async () => {
    await dev();
    await ok(['vm-state', 'assign', 'slot1', 'slot1']); // delete refuses an assigned state
    expect((await vm(['--plan-out', FILE, 'delete', 'dev'])).code).toBe(0);
    await ok(['vm-state', 'snapshot', 'delete', 'dev@first']);
    const before = await worldSnapshot();
    const r = await vm(['--yes', 'apply', FILE]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('plan is stale: 1 fact(s) changed since it was reviewed');
    expect(r.stderr).toMatch(/snapshot dev@first: gone \(was guid=\d+/);
    expect(await worldSnapshot()).toBe(before);
    expect(await datasetExists(`${P}/dev`)).toBe(true);
  });

  costly('plan files and tokens; a stale plan from the pool is checked above')(
    'applied twice: the second meets what the first did, exit 5',
    async () => {
      await dev();
      expect((await vm(['--plan-out', FILE, 'snapshot', 'slot1', 'once'])).code).toBe(0);
      expect((await vm(['apply', FILE])).code).toBe(0);
      const before = await worldSnapshot();
      const again = await vm(['apply', FILE]);
      expect(again.code).toBe(5);
      expect(again.stderr).toContain('snapshot dev@once: added');
      expect(await worldSnapshot()).toBe(before);
    },
  );

  costly('plan files and tokens; a stale plan from the pool is checked above')(
    'malformed, another host, another version, edited: exit 2 each, nothing changed',
    async () => {
      await dev();
      expect((await vm(['--plan-out', FILE, 'snapshot', 'slot1', 'x'])).code).toBe(0);
      const good = await planFile();
      const before = await worldSnapshot();
      const spoiled: [string, string, string][] = [
        ['not JSON', '{"format": "vm-state-plan", "steps": [', 'not JSON'],
        ['a field missing', JSON.stringify({ ...good, facts: undefined }), 'field "facts"'],
        [
          'another host',
          JSON.stringify({ ...good, host: { name: 'hv-elsewhere', id: null } }),
          'planned on host',
        ],
        [
          'another version',
          JSON.stringify({ ...good, version: '0.0.0-old' }),
          'planned by vm-state 0.0.0-old',
        ],
        [
          'a step edited',
          JSON.stringify({ ...good, steps: [{ kind: 'zfs', argv: ['zfs', 'destroy', '-r', P] }] }),
          'changed after vm-state wrote it',
        ],
      ];
      for (const [what, text, message] of spoiled) {
        await writePlanFile(text);
        const r = await vm(['--yes', 'apply', FILE]);
        expect(r.code, what).toBe(2);
        expect(r.stderr, what).toContain(message);
      }
      expect((await vm(['apply', '/root/no-such-plan.json'])).code).toBe(3);
      expect(await worldSnapshot()).toBe(before);
    },
  );
});

describe('--expect-plan', () => {
  beforeEach(resetLab);

  costly('plan files and tokens; a stale plan from the pool is checked above')(
    'the reviewed token runs; replayed after its plan ran, it is stale',
    async () => {
      await dev();
      const token = await tokenOf(['snapshot', 'slot1', 'agent']);
      const r = await vm(['--expect-plan', token, 'snapshot', 'slot1', 'agent']);
      expect(r.code, r.stderr).toBe(0);
      expect(await datasetExists(`${P}/dev@agent`)).toBe(true);
      const before = await worldSnapshot();
      const replay = await vm(['--expect-plan', token, 'snapshot', 'slot1', 'agent']);
      expect(replay.code).toBe(5);
      expect(replay.stderr).toContain('plan is stale');
      expect(await worldSnapshot()).toBe(before);
    },
  );

  costly('plan files and tokens; a stale plan from the pool is checked above')(
    'stale: another command in between; forged: exit 5; no token at all: exit 2; nothing changed',
    async () => {
      await dev();
      const token = await tokenOf(['--yes', 'rename', 'dev', 'renamed']);
      await ok(['vm-state', 'snapshot', 'slot1', 'between']);
      const before = await worldSnapshot();
      const stale = await vm(['--expect-plan', token, 'rename', 'dev', 'renamed']);
      expect(stale.code).toBe(5);
      expect(stale.stderr).toContain('plan is stale: the facts or the plan changed since it was reviewed');
      const fresh = await tokenOf(['rename', 'dev', 'renamed']);
      const forged = fresh.replace(/[0-9a-f]{8}$/, 'deadbeef');
      expect((await vm(['--expect-plan', forged, 'rename', 'dev', 'renamed'])).code).toBe(5);
      const bad = await vm(['--expect-plan', 'trust-me', 'rename', 'dev', 'renamed']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('Not a plan token');
      expect(await worldSnapshot()).toBe(before);
      expect((await vm(['--expect-plan', fresh, 'rename', 'dev', 'renamed'])).code).toBe(0);
      expect(await datasetExists(`${P}/renamed`)).toBe(true);
    },
  );

  costly('plan files and tokens; a stale plan from the pool is checked above')(
    'a slot started since the review makes the plan stale',
    async () => {
      await dev();
      const token = await tokenOf(['snapshot', 'slot1', 'quiet']);
      await ok(['systemctl', 'start', 'microvm@slot1.service']);
      const r = await sh(['vm-state', '--expect-plan', token, 'snapshot', 'slot1', 'quiet']);
      expect(r.code).toBe(5);
      expect(await datasetExists(`${P}/dev@quiet`)).toBe(false);
    },
  );
});
