import { mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DoctorOut } from '../../src/schemas/output.js';
import { runCli } from '../support/cli.js';
import { makeWorld, zfsGetText } from '../support/world.js';

const P = 'microvms/storage/states';

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

  it('a torn file: reported with exit 1; --repair takes the assignments back from the links and keeps the broken file', async () => {
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
    expect(readFileSync(w.config.assignmentsFile, 'utf8')).toBe('{"slot1": "de'); // unchanged without --repair

    const fix = await runCli(['doctor', '--repair'], w);
    expect(fix.code, fix.stderr).toBe(0);
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot1: 'dev', slot2: 'qa' });
    expect(readFileSync(`${w.config.assignmentsFile}.broken`, 'utf8')).toBe('{"slot1": "de');
    expect((await runCli(['doctor'], w)).code).toBe(0);
  });

  it('fills slots that have no link from a valid backup', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    writeFileSync(`${w.config.assignmentsFile}.bak`, '{"slot3":"dev"}');
    writeFileSync(w.config.assignmentsFile, '');
    expect((await runCli(['doctor', '--repair'], w)).code).toBe(0);
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot3: 'dev' });
    expect(readlinkSync(join(w.config.slotsDir, 'slot3', 'data.img'))).toBe(`${w.config.statesDir}/dev/data.img`);
  });

  it('relinks a link that points at the wrong state, and mounts an unmounted state; dry-run changes nothing', async () => {
    const w = makeWorld({ states: [{ name: 'dev', mounted: false }, { name: 'other' }], assignments: { slot1: 'dev' } });
    linkSlot(w, 'slot1', 'other');
    const dry = await runCli(['--dry-run', 'doctor', '--repair'], w);
    expect(dry.code).toBe(0);
    expect(readlinkSync(join(w.config.slotsDir, 'slot1', 'data.img'))).toContain('/other/');
    const r = await runCli(['doctor', '--repair'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(readlinkSync(join(w.config.slotsDir, 'slot1', 'data.img'))).toBe(`${w.config.statesDir}/dev/data.img`);
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
    expect(readlinkSync(join(w.config.slotsDir, 'slot2', 'data.img'))).toBe(`${w.config.statesDir}/other/data.img`);
  });

  it('removes temporary files that runs killed mid-write left behind, and only those of dead processes', async () => {
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

  it('a rename that did not finish (killed after zfs rename): reported with the commands; nothing starts on, relinks to or deletes the half-renamed state', async () => {
    const w = makeWorld({ assignments: { slot1: 'old' } });
    const zfs = zfsGetText(P, w.config.statesDir, [{ name: 'new', mountpoint: `${w.config.statesDir}/old`, mounted: false }]);
    w.runner.respond((a) => (a[1] === 'get' ? { stdout: zfs, stderr: '', exitCode: 0 } : undefined));
    mkdirSync(join(w.config.statesDir, 'old'), { recursive: true }); // its mountpoint, left empty: not a plain-directory state
    linkSlot(w, 'slot1', 'old');
    const check = await runCli(['doctor'], w);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(
      `has mountpoint ${w.config.statesDir}/old instead of ${w.config.statesDir}/new: a rename that did not finish`,
    );
    expect(check.stderr).toContain(`zfs rename ${P}/new ${P}/old`);
    expect(check.stderr).toContain("slot1 is assigned state 'old', which does not exist");
    await runCli(['doctor', '--repair'], w);
    expect(w.runner.mutatingCalls).toEqual([]);
    expect(readlinkSync(join(w.config.slotsDir, 'slot1', 'data.img'))).toBe(`${w.config.statesDir}/old/data.img`);
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

  it('an adopt that did not finish: reported; the slot is not relinked into the unchecked copy, and may not start', async () => {
    const w = makeWorld({ assignments: { slot5: 'plain' } });
    const zfs = zfsGetText(P, w.config.statesDir, [{ name: 'plain', mountpoint: `${w.config.statesDir}/.adopt-plain` }]);
    w.runner.respond((a) => (a[1] === 'get' ? { stdout: zfs, stderr: '', exitCode: 0 } : undefined));
    mkdirSync(join(w.config.statesDir, 'plain'), { recursive: true });
    writeFileSync(join(w.config.statesDir, 'plain', 'data.img'), 'the original');
    linkSlot(w, 'slot5', 'plain');
    const check = await runCli(['doctor'], w);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('an adopt that did not finish');
    expect(check.stderr).toContain(`zfs destroy ${P}/plain`);
    await runCli(['doctor', '--repair'], w);
    expect(readlinkSync(join(w.config.slotsDir, 'slot5', 'data.img'))).toBe(`${w.config.statesDir}/plain/data.img`);
    const start = await runCli(['preflight', 'slot5'], w);
    expect(start.code).toBe(5);
    expect(start.stderr).toContain('refusing to start slot5');
  });

  it('reports the helper snapshot a killed clone --full left behind, and leaves it to the operator', async () => {
    const w = makeWorld({ states: [{ name: 'big', snapshots: ['full-for-copy', 'mine'] }] });
    const check = await runCli(['doctor'], w);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('Snapshot big@full-for-copy looks left by a clone --full that did not finish');
    expect(check.stderr).not.toContain('big@mine');
    await runCli(['doctor', '--repair'], w);
    expect(w.runner.mutatingCalls).toEqual([]);
  });

  it("a state's data.img that is itself a link (to another state's image) or a directory: reported, and the guard refuses the start", async () => {
    const w = makeWorld({ states: [{ name: 'b' }, { name: 'c' }], assignments: { slot3: 'b', slot4: 'c' } });
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
    expect(JSON.parse(list.stdout).slots.find((s: { name: string }) => s.name === 'slot4').disk.targetKind).toBe('directory');
  });
});
