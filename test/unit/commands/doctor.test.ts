import {
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DoctorOut } from '../../../src/schemas/output.js';
import { diagnose, type AssignmentsHealth } from '../../../src/commands/doctor.js';
import { runCli } from '../../support/cli.js';
import { config, described, expectLines, facts, type FactsSpec } from '../../support/facts.js';
import { makeWorld, zfsGetText } from '../../support/world.js';

const P = 'microvms/storage/states';

interface DiagnosisRow {
  name: string;
  facts: FactsSpec;
  health?: AssignmentsHealth;
  /** Fragments, one per finding (`[]`: healthy). */
  findings: string[];
  /** The repair, as --dry-run prints it. */
  repair: string[];
}

const DEV = { states: [{ name: 'dev' }], assignments: { slot1: 'dev' }, links: { slot1: 'dev' } };
const RELINK =
  'ln -sfn /states/dev/data.img /vms/slot1/data.img   (a regular file there is kept as ' +
  '/vms/slot1/data.img.backup)';

const ROWS: DiagnosisRow[] = [
  { name: 'healthy: nothing found, nothing to repair', facts: DEV, findings: [], repair: [] },
  {
    name: 'normal: an unused slot with no state of its name, a slot of its own state without a link yet',
    facts: { states: [{ name: 'slot2' }] },
    findings: [],
    repair: [],
  },
  {
    name: 'a link to the wrong state: relinked',
    facts: { ...DEV, states: [{ name: 'dev' }, { name: 'other' }], links: { slot1: 'other' } },
    findings: [
      "/vms/slot1/data.img points at /states/other/data.img; slot1 is assigned 'dev' (/states/dev/data.img)",
    ],
    repair: [RELINK],
  },
  {
    name: 'an assigned slot with no link: linked',
    facts: { ...DEV, links: {} },
    findings: ["/vms/slot1/data.img is missing; slot1 is assigned 'dev'"],
    repair: [RELINK],
  },
  {
    name: 'a state not mounted: mounted',
    facts: { ...DEV, states: [{ name: 'dev', mounted: false }] },
    findings: ["State 'dev' (tank/states/dev) is not mounted"],
    repair: ['zfs mount tank/states/dev   (only if not mounted)'],
  },
  {
    name: 'a regular file where the link should be: reported, never touched',
    facts: { ...DEV, links: { slot1: 'file' } },
    findings: [
      "/vms/slot1/data.img is a regular file, not a link to state 'dev' (/states/dev/data.img): the " +
        'VM boots from that file',
    ],
    repair: [],
  },
  {
    name: "a state's image that is itself a link: reported",
    facts: { ...DEV, links: { slot1: { target: '/states/dev/data.img', targetKind: 'symlink' } } },
    findings: ["slot1's disk /states/dev/data.img is itself a symbolic link out of the state"],
    repair: [],
  },
  {
    name: 'a rename that did not finish: reported with the commands, the slot not relinked into it',
    facts: {
      states: [{ name: 'new', mountpoint: '/states/old', mounted: false }],
      assignments: { slot1: 'old' },
      links: { slot1: 'old' },
    },
    findings: [
      "State 'new' (tank/states/new) has mountpoint /states/old instead of /states/new: a rename that " +
        'did not finish',
      "slot1 is assigned state 'old', which does not exist (vm-state assign slot1 <state>)",
    ],
    repair: [],
  },
  {
    name: 'an adopt that did not finish: reported, neither relinked nor mounted',
    facts: {
      states: [{ name: 'plain', mountpoint: '/states/.adopt-plain', mounted: false }],
      assignments: { slot5: 'plain' },
    },
    findings: ['an adopt that did not finish, so its copy was never checked'],
    repair: [],
  },
  {
    name: 'a running slot whose state does not exist',
    facts: { running: ['slot3'] },
    findings: ["slot3 is assigned state 'slot3', which does not exist"],
    repair: [],
  },
  {
    name: 'a broken assignments file, recovered from the links: written back',
    facts: DEV,
    health: { broken: '/etc/assignments.json is not valid JSON', recoveredFrom: 'links' },
    findings: [
      '/etc/assignments.json is not valid JSON; recovered the assignments from the slot links: ' +
        '{"slot1":"dev"}',
    ],
    repair: ['write /etc/assignments.json {"slot1":"dev"}'],
  },
  {
    name: 'recovered from the backup',
    facts: DEV,
    health: { broken: 'torn', recoveredFrom: 'backup' },
    findings: ['torn; recovered the assignments from /etc/assignments.json.bak: {"slot1":"dev"}'],
    repair: ['write /etc/assignments.json {"slot1":"dev"}'],
  },
  {
    name: 'recovered from both',
    facts: DEV,
    health: { broken: 'torn', recoveredFrom: 'links and backup' },
    findings: ['torn; recovered the assignments from the slot links and /etc/assignments.json.bak'],
    repair: ['write /etc/assignments.json {"slot1":"dev"}'],
  },
  {
    name: 'temporary files of killed runs: removed',
    facts: DEV,
    health: { leftovers: ['/etc/.assignments.json.4194999.tmp'] },
    findings: ['/etc/.assignments.json.4194999.tmp was left by an interrupted run'],
    repair: ['rm /etc/.assignments.json.4194999.tmp'],
  },
  {
    name: 'the helper a killed clone --full left: reported, left to the operator',
    facts: { states: [{ name: 'big', snapshots: ['full-for-copy', 'mine'] }] },
    findings: ['Snapshot big@full-for-copy looks left by a clone --full that did not finish'],
    repair: [],
  },
  {
    name: 'one state running on two slots: reported once',
    facts: {
      states: [{ name: 'dev' }],
      running: ['slot1', 'slot2'],
      assignments: { slot1: 'dev', slot2: 'dev' },
      links: { slot1: 'dev', slot2: 'dev' },
    },
    findings: ["State 'dev' is RUNNING on slot1 and slot2: stop all but one now"],
    repair: [],
  },
];

describe('doctor: the diagnosis', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const d = diagnose(facts(row.facts), config, row.health ?? {});
      expectLines(d.findings, row.findings);
      expect(described(d.plan)).toEqual(row.repair);
    });
  }

  it('a mount is best effort: its failure does not keep the other repairs from happening', () => {
    const d = diagnose(facts({ ...DEV, states: [{ name: 'dev', mounted: false }] }), config, {});
    expect(d.plan.steps).toEqual([
      { kind: 'ensure-mounted', dataset: 'tank/states/dev', restores: true, tidy: true },
    ]);
    expect(d.plan.notes).toEqual(['Repaired']);
    expect(diagnose(facts(DEV), config, {}).plan.notes).toEqual(['Nothing to repair']);
  });
});

function linkSlot(w: ReturnType<typeof makeWorld>, slot: string, state: string) {
  mkdirSync(join(w.config.slotsDir, slot), { recursive: true });
  symlinkSync(`${w.config.statesDir}/${state}/data.img`, join(w.config.slotsDir, slot, 'data.img'));
}

describe('doctor', () => {
  it('a healthy system: exit 0', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } });
    linkSlot(w, 'slot1', 'dev');
    const r = await runCli(['doctor'], w);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a torn file: exit 1; --repair takes the links as assignments, keeps the broken file', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }, { name: 'qa' }] });
    linkSlot(w, 'slot1', 'dev');
    linkSlot(w, 'slot2', 'qa');
    writeFileSync(w.config.assignmentsFile, '{"slot1": "de');
    const list = await runCli(['list'], w);
    expect(list.code).toBe(2);
    expect(list.stderr).toContain(w.config.assignmentsFile);

    const check = await runCli(['--json', 'doctor'], w);
    expect(check.code).toBe(1);
    const doc = DoctorOut.parse(JSON.parse(check.stdout));
    expect(doc.healthy).toBe(false);
    expect(doc.findings[0]).toMatch(/not valid JSON.*slot links/);
    // unchanged without --repair
    expect(readFileSync(w.config.assignmentsFile, 'utf8')).toBe('{"slot1": "de');

    const fix = await runCli(['doctor', '--repair'], w);
    expect(fix.code, fix.stderr).toBe(0);
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({
      slot1: 'dev',
      slot2: 'qa',
    });
    expect(readFileSync(`${w.config.assignmentsFile}.broken`, 'utf8')).toBe('{"slot1": "de');
    expect((await runCli(['doctor'], w)).code).toBe(0);
  });

  it('fills slots that have no link from a valid backup', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    writeFileSync(`${w.config.assignmentsFile}.bak`, '{"slot3":"dev"}');
    writeFileSync(w.config.assignmentsFile, '');
    expect((await runCli(['doctor', '--repair'], w)).code).toBe(0);
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot3: 'dev' });
    expect(readlinkSync(join(w.config.slotsDir, 'slot3', 'data.img'))).toBe(
      `${w.config.statesDir}/dev/data.img`,
    );
  });

  it('relinks a link to the wrong state, mounts an unmounted state; dry-run changes nothing', async () => {
    const w = makeWorld({
      states: [{ name: 'dev', mounted: false }, { name: 'other' }],
      assignments: { slot1: 'dev' },
    });
    linkSlot(w, 'slot1', 'other');
    const dry = await runCli(['--dry-run', 'doctor', '--repair'], w);
    expect(dry.code).toBe(0);
    expect(readlinkSync(join(w.config.slotsDir, 'slot1', 'data.img'))).toContain('/other/');
    const r = await runCli(['doctor', '--repair'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(readlinkSync(join(w.config.slotsDir, 'slot1', 'data.img'))).toBe(
      `${w.config.statesDir}/dev/data.img`,
    );
    expect(w.runner.mutatingCalls.map((c) => c.join(' '))).toEqual(['zfs mount microvms/storage/states/dev']);
  });

  it('reports a regular data.img where the link to the state should be, and never replaces it', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } });
    mkdirSync(join(w.config.slotsDir, 'slot1'), { recursive: true });
    writeFileSync(join(w.config.slotsDir, 'slot1', 'data.img'), 'image');
    const check = await runCli(['doctor'], w);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('slot1/data.img is a regular file, not a link to state');
    expect(check.stderr).toContain('vm-state assign slot1 dev');
    expect((await runCli(['list'], w)).stdout).toContain('a regular file, not the state');
    await runCli(['doctor', '--repair'], w);
    expect(readFileSync(join(w.config.slotsDir, 'slot1', 'data.img'), 'utf8')).toBe('image');
    expect(existsSync(join(w.config.slotsDir, 'slot1', 'data.img.backup'))).toBe(false);
  });

  it('trusts the links over the backup, which is one change older', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }, { name: 'other' }] });
    linkSlot(w, 'slot2', 'other'); // the last assign: slot2 -> other
    writeFileSync(`${w.config.assignmentsFile}.bak`, '{"slot2":"dev"}'); // the change before it
    writeFileSync(w.config.assignmentsFile, '{"slot2": "oth'); // then a broken hand edit
    expect((await runCli(['doctor', '--repair'], w)).code).toBe(0);
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot2: 'other' });
    expect(readlinkSync(join(w.config.slotsDir, 'slot2', 'data.img'))).toBe(
      `${w.config.statesDir}/other/data.img`,
    );
  });

  it('removes temporary files of runs killed mid-write, and only those of dead processes', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } });
    linkSlot(w, 'slot1', 'dev');
    const dir = join(w.config.assignmentsFile, '..');
    const dead = join(dir, '.assignments.json.4194999.tmp');
    const live = join(dir, `.assignments.json.${process.pid}.tmp`);
    const link = join(w.config.slotsDir, 'slot1', 'data.img.vm-state-4194998.tmp');
    writeFileSync(dead, '{');
    writeFileSync(live, '{');
    symlinkSync('/nowhere', link);
    const check = await runCli(['doctor'], w);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('left by an interrupted run');
    expect((await runCli(['doctor', '--repair'], w)).code).toBe(0);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(() => readlinkSync(link)).toThrow();
    expect((await runCli(['doctor'], w)).code).toBe(0);
  });

  it('a half-renamed state: reported with the commands; never started, relinked to or deleted', async () => {
    const w = makeWorld({ assignments: { slot1: 'old' } });
    const zfs = zfsGetText(P, w.config.statesDir, [
      { name: 'new', mountpoint: `${w.config.statesDir}/old`, mounted: false },
    ]);
    w.runner.respond((a) => (a[1] === 'get' ? { stdout: zfs, stderr: '', exitCode: 0 } : undefined));
    // its mountpoint, left empty: not a plain-directory state
    mkdirSync(join(w.config.statesDir, 'old'), { recursive: true });
    linkSlot(w, 'slot1', 'old');
    const check = await runCli(['doctor'], w);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(
      `has mountpoint ${w.config.statesDir}/old instead of ${w.config.statesDir}/new: a rename that ` +
        `did not finish`,
    );
    expect(check.stderr).toContain(`zfs rename ${P}/new ${P}/old`);
    expect(check.stderr).toContain("slot1 is assigned state 'old', which does not exist");
    await runCli(['doctor', '--repair'], w);
    expect(w.runner.mutatingCalls).toEqual([]);
    expect(readlinkSync(join(w.config.slotsDir, 'slot1', 'data.img'))).toBe(
      `${w.config.statesDir}/old/data.img`,
    );
    const start = await runCli(['preflight', 'slot1'], w);
    expect(start.code).toBe(3);
    const del = await runCli(['--yes', 'delete', 'new'], w);
    expect(del.code).toBe(5);
    expect(del.stderr).toContain("The disk link of slot1 leads into state 'new'");
    const create = await runCli(['create', 'old'], w); // would put a second dataset on that mountpoint
    expect(create.code).toBe(4);
    expect(create.stderr).toContain(`${w.config.statesDir}/old is the mountpoint of state 'new'`);
    expect(w.runner.mutatingCalls).toEqual([]);
  });

  it('an unfinished adopt: reported; the slot is not relinked into the copy, and may not start', async () => {
    const w = makeWorld({ assignments: { slot5: 'plain' } });
    const zfs = zfsGetText(P, w.config.statesDir, [
      { name: 'plain', mountpoint: `${w.config.statesDir}/.adopt-plain` },
    ]);
    w.runner.respond((a) => (a[1] === 'get' ? { stdout: zfs, stderr: '', exitCode: 0 } : undefined));
    mkdirSync(join(w.config.statesDir, 'plain'), { recursive: true });
    writeFileSync(join(w.config.statesDir, 'plain', 'data.img'), 'the original');
    linkSlot(w, 'slot5', 'plain');
    const check = await runCli(['doctor'], w);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('an adopt that did not finish');
    expect(check.stderr).toContain(`zfs destroy ${P}/plain`);
    await runCli(['doctor', '--repair'], w);
    expect(readlinkSync(join(w.config.slotsDir, 'slot5', 'data.img'))).toBe(
      `${w.config.statesDir}/plain/data.img`,
    );
    const start = await runCli(['preflight', 'slot5'], w);
    expect(start.code).toBe(5);
    expect(start.stderr).toContain('refusing to start slot5');
  });

  it('reports the helper snapshot a killed clone --full left, and leaves it to the operator', async () => {
    const w = makeWorld({ states: [{ name: 'big', snapshots: ['full-for-copy', 'mine'] }] });
    const check = await runCli(['doctor'], w);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(
      'Snapshot big@full-for-copy looks left by a clone --full that did not finish',
    );
    expect(check.stderr).not.toContain('big@mine');
    await runCli(['doctor', '--repair'], w);
    expect(w.runner.mutatingCalls).toEqual([]);
  });

  it("a state image that is a link (to another's) or a directory: reported; the guard refuses", async () => {
    const w = makeWorld({
      states: [{ name: 'b' }, { name: 'c' }],
      assignments: { slot3: 'b', slot4: 'c' },
    });
    for (const s of ['b', 'c']) mkdirSync(join(w.config.statesDir, s), { recursive: true });
    writeFileSync(join(w.config.statesDir, 'b', 'data.img'), 'b image');
    symlinkSync(join(w.config.statesDir, 'b', 'data.img'), join(w.config.statesDir, 'c', 'data.img'));
    linkSlot(w, 'slot3', 'b');
    linkSlot(w, 'slot4', 'c');
    const check = await runCli(['doctor'], w);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(`slot4's disk ${w.config.statesDir}/c/data.img is itself a symbolic link`);
    expect(check.stderr).not.toContain("slot3's disk");
    expect((await runCli(['preflight', 'slot3'], w)).code).toBe(0);
    const start = await runCli(['preflight', 'slot4'], w);
    expect(start.code).toBe(5);
    expect(start.stderr).toContain('refusing to start');
    // A link on to another file in the same state is that file: fine.
    rmSync(join(w.config.statesDir, 'c', 'data.img'));
    writeFileSync(join(w.config.statesDir, 'c', 'disk-v2.img'), 'c image');
    symlinkSync('disk-v2.img', join(w.config.statesDir, 'c', 'data.img'));
    expect((await runCli(['preflight', 'slot4'], w)).code).toBe(0);
    rmSync(join(w.config.statesDir, 'c', 'data.img'));
    mkdirSync(join(w.config.statesDir, 'c', 'data.img'));
    expect((await runCli(['preflight', 'slot4'], w)).stderr).toContain('is a directory, not an image file');
    const list = await runCli(['--json', 'list'], w);
    expect(
      JSON.parse(list.stdout).slots.find((s: { name: string }) => s.name === 'slot4').disk.targetKind,
    ).toBe('directory');
  });
});
