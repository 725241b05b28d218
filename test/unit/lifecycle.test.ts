import { cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/commands/prune.js';
import { ErrorOut, ResultOut, ShowOut, SnapshotsOut } from '../../src/schemas/output.js';
import { runCli } from '../support/cli.js';
import { makeWorld, signalAtFirst, zfsGetText, type SnapshotSpec } from '../support/world.js';

const P = 'microvms/storage/states';
type World = ReturnType<typeof makeWorld>;
const mutations = (w: World) => w.runner.mutatingCalls.map((c) => c.join(' '));

interface Spec {
  name: string;
  origin?: string;
  snaps?: SnapshotSpec[];
}

/** Answers `zfs get -r` with snapshots of chosen sizes and ages (the world's own answer has used 0, consecutive seconds). */
function withZfs(w: World, specs: Spec[]): void {
  for (const s of specs) mkdirSync(join(w.config.statesDir, s.name), { recursive: true });
  const states = specs.map((s) => ({ name: s.name, origin: s.origin, snapshots: s.snaps }));
  const text = zfsGetText(P, w.config.statesDir, states, { t0: 1_700_000_000, used: 5000, referenced: 3000 });
  w.runner.respond((a) => (a[0] === 'zfs' && a[1] === 'get' && a.includes('-r') ? { stdout: text } : undefined));
}

function linkSlot(w: World, slot: string, state: string): string {
  const path = join(w.config.slotsDir, slot, 'data.img');
  mkdirSync(join(w.config.slotsDir, slot), { recursive: true });
  symlinkSync(`${w.config.statesDir}/${state}/data.img`, path);
  return path;
}

describe('snapshots', () => {
  it('every snapshot, newest last across states, with the states cloned from it; one zfs and one systemctl call', async () => {
    const w = makeWorld();
    withZfs(w, [
      {
        name: 'a',
        snaps: [
          { name: 'a1', created: 100, used: 10 },
          { name: 'a2', created: 300, used: 20 },
        ],
      },
      {
        name: 'b',
        snaps: [
          { name: 'b1', created: 200 },
          { name: 'b2', created: 300 },
        ],
      },
      { name: 'c', origin: `${P}/a@a1` },
      { name: 'd', origin: `${P}/a@a1` },
    ]);
    const r = await runCli(['--json', 'snapshots'], w);
    expect(r.code, r.stderr).toBe(0);
    const doc = SnapshotsOut.parse(JSON.parse(r.stdout));
    expect(doc.state).toBeNull();
    expect(doc.snapshots.map((s) => `${s.state}@${s.name}`)).toEqual(['a@a1', 'b@b1', 'a@a2', 'b@b2']);
    expect(doc.snapshots[0]).toMatchObject({
      used: 10,
      referenced: 3000,
      created: new Date(100_000).toISOString(),
      clones: [`${P}/c`, `${P}/d`],
      clonedStates: ['c', 'd'],
    });
    expect(w.runner.calls.map((c) => c.slice(0, 2).join(' '))).toEqual(['zfs get', 'systemctl show']);
  });

  it('of one state; a table for people; unknown state exit 3; bad name exit 2 before anything runs', async () => {
    const w = makeWorld();
    withZfs(w, [
      { name: 'a', snaps: [{ name: 'a1', used: 2048 }] },
      { name: 'b', snaps: [{ name: 'b1' }] },
      { name: 'k', origin: `${P}/a@a1` },
    ]);
    const doc = SnapshotsOut.parse(JSON.parse((await runCli(['--json', 'snapshots', 'a'], w)).stdout));
    expect(doc.snapshots.map((s) => s.name)).toEqual(['a1']);
    const human = await runCli(['snapshots', 'a'], w);
    expect(human.stdout).toMatch(/SNAPSHOT\s+CREATED\s+USED\s+REFER\s+CLONED TO/);
    expect(human.stdout).toMatch(/a@a1\s+\S+ \S+\s+2\.00K\s+2\.93K\s+k/);
    expect(human.stdout).toContain('1 snapshot(s)');
    expect((await runCli(['snapshots', 'nope'], w)).code).toBe(3);
    const calls = w.runner.calls.length;
    expect((await runCli(['snapshots', '../x'], w)).code).toBe(2);
    expect(w.runner.calls.length).toBe(calls);
  });
});

describe('snapshot delete', () => {
  it('destroys exactly that snapshot; `snapshot <slot> <name>` still snapshots', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1', 's2'] }], assignments: { slot1: 'dev' } });
    const r = await runCli(['snapshot', 'delete', 'dev@s1'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Snapshot dev@s1 deleted');
    const s = await runCli(['snapshot', 'slot1', 'snap1'], w);
    expect(s.code, s.stderr).toBe(0);
    expect(mutations(w)).toEqual([`zfs destroy ${P}/dev@s1`, `zfs snapshot ${P}/dev@snap1`]);
  });

  it('refuses with exit 5 and names the states cloned from it', async () => {
    const w = makeWorld({
      states: [
        { name: 'dev', snapshots: ['s1'] },
        { name: 'c1', origin: `${P}/dev@s1` },
        { name: 'c2', origin: `${P}/dev@s1` },
      ],
    });
    const r = await runCli(['snapshot', 'delete', 'dev@s1'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('dependent clones: c1, c2');
    const j = await runCli(['--json', 'snapshot', 'delete', 'dev@s1'], w);
    expect(ErrorOut.parse(JSON.parse(j.stderr)).error.details).toEqual({ snapshot: `${P}/dev@s1`, clones: [`${P}/c1`, `${P}/c2`] });
    expect(mutations(w)).toEqual([]);
  });

  it('--dry-run says what would be reclaimed and changes nothing', async () => {
    const w = makeWorld();
    withZfs(w, [{ name: 'dev', snaps: [{ name: 's1', used: 86016 }] }]);
    const human = await runCli(['--dry-run', 'snapshot', 'delete', 'dev@s1'], { ...w, euid: 1000 });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('reclaiming 84.0K (86016 bytes)');
    expect(human.stdout).toContain(`1. zfs destroy ${P}/dev@s1`);
    const doc = ResultOut.parse(JSON.parse((await runCli(['--json', '--dry-run', 'snapshot', 'delete', 'dev@s1'], w)).stdout));
    expect(doc).toMatchObject({
      command: 'snapshot delete',
      dryRun: true,
      steps: [{ kind: 'zfs', argv: ['zfs', 'destroy', `${P}/dev@s1`], frees: 86016 }],
    });
    expect(mutations(w)).toEqual([]);
  });

  it('needs <state>@<snap> (exit 2); a missing state or snapshot is exit 3', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }] });
    const bare = await runCli(['snapshot', 'delete', 's1'], w);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('<state>@s1');
    expect((await runCli(['snapshot', 'delete', 'dev@nope'], w)).code).toBe(3);
    expect((await runCli(['snapshot', 'delete', 'nope@s1'], w)).code).toBe(3);
    expect((await runCli(['snapshot', 'delete', 'dev@-rf'], w)).code).toBe(2);
    expect(mutations(w)).toEqual([]);
  });
});

describe('show', () => {
  it('everything about a state, as JSON', async () => {
    const w = makeWorld({ running: ['slot2'], assignments: { slot2: 'dev' } });
    withZfs(w, [
      { name: 'base', snaps: [{ name: 'clone-for-dev' }] },
      { name: 'dev', origin: `${P}/base@clone-for-dev`, snaps: [{ name: 's1', used: 4096 }] },
      { name: 'kid', origin: `${P}/dev@s1` },
    ]);
    writeFileSync(join(w.config.statesDir, 'dev', 'data.img'), Buffer.alloc(5000));
    linkSlot(w, 'slot2', 'dev');
    const r = await runCli(['--json', 'show', 'dev'], w);
    expect(r.code, r.stderr).toBe(0);
    const d = ShowOut.parse(JSON.parse(r.stdout));
    expect(d).toMatchObject({
      name: 'dev',
      kind: 'dataset',
      dataset: `${P}/dev`,
      mountpoint: `${w.config.statesDir}/dev`,
      mounted: true,
      used: 5000,
      available: 9000,
      referenced: 3000,
      origin: `${P}/base@clone-for-dev`,
      originState: 'base',
      clones: [{ dataset: `${P}/kid`, state: 'kid', snapshot: 's1' }],
      slots: [{ name: 'slot2', explicit: true, running: true, disk: { kind: 'symlink', resolves: true, pointsHere: true } }],
      image: { path: `${w.config.statesDir}/dev/data.img`, exists: true, size: 5000 },
    });
    expect(d.snapshots.map((s) => [s.name, s.used, s.clonedStates])).toEqual([['s1', 4096, ['kid']]]);
  });

  it('for people; a state used by name with no image; unknown state exit 3', async () => {
    const w = makeWorld({ states: [{ name: 'slot3' }] });
    const r = await runCli(['show', 'slot3'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dataset\s+microvms\/storage\/states\/slot3/);
    expect(r.stdout).toMatch(/slots\s+slot3 \(by name\) stopped/);
    expect(r.stdout).toMatch(/data\.img\s+\S+\/slot3\/data\.img \(missing\)/);
    expect(r.stdout).toContain('(no snapshots)');
    expect((await runCli(['show', 'nope'], w)).code).toBe(3);
  });

  it('a plain-directory state is shown as one', async () => {
    const w = makeWorld();
    mkdirSync(join(w.config.statesDir, 'slot1'), { recursive: true });
    const d = ShowOut.parse(JSON.parse((await runCli(['--json', 'show', 'slot1'], w)).stdout));
    expect(d).toMatchObject({ kind: 'directory', used: null, snapshots: [], image: { exists: false } });
  });
});

describe('rollback', () => {
  it('asks for ROLLBACK; a stopped slot: just zfs rollback', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }], assignments: { slot1: 'dev' } });
    const none = await runCli(['rollback', 'slot1', 's1'], w);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--yes');
    expect((await runCli(['rollback', 'slot1', 's1'], { ...w, stdin: 'DELETE\n' })).code).toBe(2);
    expect(mutations(w)).toEqual([]);
    const r = await runCli(['rollback', 'slot1', 's1'], { ...w, stdin: 'ROLLBACK\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("discards every change to state 'dev' since snapshot 's1'");
    expect(mutations(w)).toEqual([`zfs unmount ${P}/dev`, `zfs rollback ${P}/dev@s1`, `zfs mount ${P}/dev`]);
  });

  /** What a rollback of running slot1's state dev to s1 runs, in order (also when the rollback fails: then undone). */
  const STOP_ROLLBACK_START = [
    'systemctl stop microvm@slot1.service',
    `zfs unmount ${P}/dev`,
    `zfs rollback ${P}/dev@s1`,
    `zfs mount ${P}/dev`,
    'systemctl start microvm@slot1.service',
  ];

  it('a signal once the rollback is done: the rest still brings the state and the slot back (mount, start), and says so', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }], running: ['slot1'], assignments: { slot1: 'dev' } });
    signalAtFirst(w, 'rollback');
    const r = await runCli(['rollback', 'slot1', 's1', '--yes'], w);
    expect(r.code).toBe(0);
    expect(mutations(w)).toEqual(STOP_ROLLBACK_START);
    expect(w.running.has('microvm@slot1.service')).toBe(true);
    expect(r.stderr).toContain('past the point of no return: the command was finished, and nothing was undone');
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

  it('a running slot: stop, rollback, start; state@snap works too', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }], running: ['slot1'], assignments: { slot1: 'dev' } });
    const r = await runCli(['rollback', 'slot1', 'dev@s1', '--yes'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual(STOP_ROLLBACK_START);
    expect(w.running.has('microvm@slot1.service')).toBe(true);
  });

  it('refuses newer snapshots (exit 5, listed) unless --destroy-newer, then zfs rollback -r', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1', 's2', 's3'] }], assignments: { slot1: 'dev' } });
    const r = await runCli(['rollback', 'slot1', 's1', '--yes'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("Newer snapshots of 'dev' exist: s2, s3");
    expect(r.stderr).toContain('--destroy-newer');
    expect(mutations(w)).toEqual([]);
    const d = await runCli(['rollback', 'slot1', 's1', '--yes', '--destroy-newer'], w);
    expect(d.code, d.stderr).toBe(0);
    expect(mutations(w)).toEqual([`zfs unmount ${P}/dev`, `zfs rollback -r ${P}/dev@s1`, `zfs mount ${P}/dev`]);
  });

  it('refuses, even with --destroy-newer, when a state was cloned from a newer snapshot', async () => {
    const w = makeWorld({
      states: [
        { name: 'dev', snapshots: ['s1', 's2'] },
        { name: 'kid', origin: `${P}/dev@s2` },
      ],
      assignments: { slot1: 'dev' },
    });
    const r = await runCli(['rollback', 'slot1', 's1', '--yes', '--destroy-newer'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/dev@s2.*dependent clones: kid/);
    expect(mutations(w)).toEqual([]);
  });

  it('a snapshot of another state is exit 2, a missing one exit 3; another running slot on the state is exit 5', async () => {
    const w = makeWorld({
      states: [
        { name: 'dev', snapshots: ['s1'] },
        { name: 'qa', snapshots: ['s1'] },
      ],
      running: ['slot2'],
      assignments: { slot1: 'dev', slot2: 'dev' },
    });
    expect((await runCli(['rollback', 'slot1', 'qa@s1', '--yes'], w)).code).toBe(2);
    expect((await runCli(['rollback', 'slot1', 'nope', '--yes'], w)).code).toBe(3);
    const shared = await runCli(['rollback', 'slot1', 's1', '--yes'], w);
    expect(shared.code).toBe(5);
    expect(shared.stderr).toContain('running slot slot2');
    expect(mutations(w)).toEqual([]);
  });

  it('a failed rollback starts the slot again', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }], running: ['slot1'], assignments: { slot1: 'dev' } });
    w.runner.on((a) => a[1] === 'rollback', { exitCode: 1, stderr: "cannot rollback 'x': out of space" });
    const r = await runCli(['rollback', 'slot1', 's1', '--yes'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Rolled back: zfs mount ${P}/dev; systemctl start microvm@slot1.service`);
    expect(mutations(w)).toEqual(STOP_ROLLBACK_START);
    expect(w.running.has('microvm@slot1.service')).toBe(true);
  });

  it("accepts zfs-fuse's drop_caches notice after a rollback, and nothing else", async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['s1'] }], assignments: { slot1: 'dev' } });
    w.runner.on((a) => a[1] === 'rollback', { exitCode: 1, stderr: 'drop_caches failed: snapshot permissions cannot be modified\n' });
    expect((await runCli(['rollback', 'slot1', 's1', '--yes'], w)).code).toBe(0);
    w.runner.on((a) => a[1] === 'rollback', { exitCode: 1, stderr: "cannot rollback 'x': I/O error\ndrop_caches failed: x\n" });
    expect((await runCli(['rollback', 'slot1', 's1', '--yes'], w)).code).toBe(1);
  });
});

describe('snapshot --stop', () => {
  it('a running slot: stop, snapshot, start; no crash-consistency warning', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } });
    const r = await runCli(['snapshot', 'slot1', 'clean', '--stop'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      'systemctl stop microvm@slot1.service',
      `zfs snapshot ${P}/dev@clean`,
      'systemctl start microvm@slot1.service',
    ]);
    expect(r.stderr).not.toContain('crash-consistent');
    expect(w.running.has('microvm@slot1.service')).toBe(true);
  });

  it('a stopped slot stays stopped', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], assignments: { slot1: 'dev' } });
    expect((await runCli(['snapshot', 'slot1', 'clean', '--stop'], w)).code).toBe(0);
    expect(mutations(w)).toEqual([`zfs snapshot ${P}/dev@clean`]);
  });

  it('a failed snapshot still starts the slot again', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } });
    w.runner.failAt(1, "cannot create snapshot 'x': out of space");
    const r = await runCli(['snapshot', 'slot1', 'clean', '--stop'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('out of space');
    expect(mutations(w)).toEqual([
      'systemctl stop microvm@slot1.service',
      `zfs snapshot ${P}/dev@clean`,
      'systemctl start microvm@slot1.service',
    ]);
    expect(w.running.has('microvm@slot1.service')).toBe(true);
  });

  it('a failed start keeps the (good) snapshot and tries the start once more', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot1'], assignments: { slot1: 'dev' } });
    w.runner.failAt(2, 'Job for microvm@slot1.service failed');
    const r = await runCli(['snapshot', 'slot1', 'clean', '--stop'], w);
    expect(r.code).toBe(1);
    // the failed start is followed by a stop that cancels a Restart= loop, then the retry
    expect(mutations(w)).toEqual([
      'systemctl stop microvm@slot1.service',
      `zfs snapshot ${P}/dev@clean`,
      'systemctl start microvm@slot1.service',
      'systemctl stop microvm@slot1.service',
      'systemctl start microvm@slot1.service',
    ]);
    expect(mutations(w).some((c) => c.startsWith('zfs destroy'))).toBe(false);
    expect(r.stderr).toContain(`Done and kept: zfs snapshot ${P}/dev@clean.`); // so a retry's "already exists" is no surprise
  });
});

describe('prune', () => {
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
    expect(mutations(w)).toEqual([`zfs destroy ${P}/a@a1`, `zfs destroy ${P}/a@a2`, `zfs destroy ${P}/a@a3`, `zfs destroy ${P}/b@b1`]);
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
    const dry = ResultOut.parse(JSON.parse((await runCli(['--json', '--dry-run', 'prune', '--keep', '2'], w)).stdout));
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

  it('parses durations', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('90m')).toBe(5_400_000);
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('2w')).toBe(1_209_600_000);
    expect(parseDuration('1d12h')).toBe(129_600_000);
    for (const bad of ['', '7', 'd', '1.5d', '-1d', '1y', '1d 2h']) expect(() => parseDuration(bad), bad).toThrow(/Invalid duration/);
  });
});

describe('clone --full', () => {
  const steps = (w: World) => [
    `zfs snapshot ${P}/src@full-for-dst`,
    `zfs send ${P}/src@full-for-dst | zfs receive -u ${P}/dst`,
    `zfs set mountpoint=${w.config.statesDir}/dst ${P}/dst`,
    `zfs mount ${P}/dst`,
    `zfs destroy ${P}/dst@full-for-dst`,
    `zfs destroy ${P}/src@full-for-dst`,
  ];

  it('snapshot, send | receive, own mountpoint, then both helper snapshots go', async () => {
    const w = makeWorld({ states: [{ name: 'src' }] });
    w.runner.respond((a) => (a[1] === 'mount' ? (mkdirSync(join(w.config.statesDir, 'dst'), { recursive: true }), {}) : undefined));
    const r = await runCli(['clone', 'src', 'dst', '--full'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual(steps(w));
    expect(w.runner.calls.find((c) => c.includes('|'))).toEqual([
      'zfs',
      'send',
      `${P}/src@full-for-dst`,
      '|',
      'zfs',
      'receive',
      '-u',
      `${P}/dst`,
    ]);
  });

  it('a failed receive removes the helper snapshot; a later failure destroys the copy too', async () => {
    const w = makeWorld({ states: [{ name: 'src' }] });
    w.runner.failAt(1, 'cannot receive: out of space');
    const r = await runCli(['clone', 'src', 'dst', '--full'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('zfs send');
    expect(mutations(w).slice(2)).toEqual([`zfs destroy ${P}/src@full-for-dst`]);
    const v = makeWorld({ states: [{ name: 'src' }] });
    v.runner.failAt(2);
    expect((await runCli(['clone', 'src', 'dst', '--full'], v)).code).toBe(1);
    expect(mutations(v).slice(3)).toEqual([`zfs destroy -r ${P}/dst`, `zfs destroy ${P}/src@full-for-dst`]);
  });

  it('a failure before the copy is complete leaves no copy and no helper; a failed tidy-up only warns', async () => {
    const total = steps(makeWorld()).length;
    for (let n = 0; n < total; n++) {
      const w = makeWorld({ states: [{ name: 'src' }] });
      w.runner.respond((a) => (a[1] === 'mount' ? (mkdirSync(join(w.config.statesDir, 'dst'), { recursive: true }), {}) : undefined));
      w.runner.failAt(n);
      const r = await runCli(['clone', 'src', 'dst', '--full'], w);
      if (w.runner.mutatingCalls[n]?.[1] === 'destroy') {
        // destroying the helper snapshots is tidying up: the finished copy is kept
        expect(r.code, `call ${n}`).toBe(0);
        expect(r.stderr).toContain('Could not tidy up');
        expect(mutations(w).some((c) => c.includes('destroy -r'))).toBe(false);
        continue;
      }
      expect(r.code, `call ${n}`).toBe(1);
      expect(r.stderr).not.toContain('Could NOT');
      // What exists at the end: made by snapshot/receive, gone by destroy (-r takes the dataset's snapshots too).
      const alive = new Set<string>();
      w.runner.mutatingCalls.forEach((c, i) => {
        if (i === n) return;
        if (c[1] === 'snapshot') alive.add(c[2]!);
        if (c.includes('receive')) alive.add(c.at(-1)!).add(`${c.at(-1)}@full-for-dst`);
        if (c[1] === 'destroy')
          for (const x of [...alive]) if (x === c.at(-1) || (c[2] === '-r' && x.startsWith(`${c.at(-1)}@`))) alive.delete(x);
      });
      expect([...alive], `call ${n}: ${mutations(w).join('; ')}`).toEqual([]);
    }
  });

  it('refuses an existing destination (4), a missing source (3), a leftover helper (4)', async () => {
    const w = makeWorld({ states: [{ name: 'src', snapshots: ['full-for-x'] }, { name: 'dst' }] });
    expect((await runCli(['clone', 'src', 'dst', '--full'], w)).code).toBe(4);
    expect((await runCli(['clone', 'nope', 'y', '--full'], w)).code).toBe(3);
    expect((await runCli(['clone', 'src', 'x', '--full'], w)).code).toBe(4);
    expect(mutations(w)).toEqual([]);
  });

  it('without --full, clone is the plain ZFS clone it was', async () => {
    const w = makeWorld({ states: [{ name: 'src' }] });
    expect((await runCli(['clone', 'src', 'dst'], w)).code).toBe(0);
    expect(mutations(w)[1]).toMatch(/^zfs clone /);
  });
});

describe('rename', () => {
  it('renames, moves the mountpoint, rewrites the assignment and the link', async () => {
    const w = makeWorld({ states: [{ name: 'old' }], assignments: { slot1: 'old', slot2: 'other' } });
    const link = linkSlot(w, 'slot1', 'old');
    const r = await runCli(['rename', 'old', 'new'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      `zfs unmount ${P}/old`,
      `zfs rename ${P}/old ${P}/new`,
      `zfs set mountpoint=${w.config.statesDir}/new ${P}/new`,
      `zfs mount ${P}/new`,
    ]);
    expect(existsSync(join(w.config.statesDir, 'old'))).toBe(false); // the empty old mountpoint is gone
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot1: 'new', slot2: 'other' });
    expect(readlinkSync(link)).toBe(`${w.config.statesDir}/new/data.img`);
  });

  it('a state used by name gets an explicit assignment; its clone helper snapshot is renamed along', async () => {
    const w = makeWorld({
      states: [
        { name: 'base', snapshots: ['clone-for-slot3'] },
        { name: 'slot3', origin: `${P}/base@clone-for-slot3` },
      ],
    });
    const r = await runCli(['rename', 'slot3', 'web'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toContain(`zfs rename ${P}/base@clone-for-slot3 ${P}/base@clone-for-web`);
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot3: 'web' });
    expect(readlinkSync(join(w.config.slotsDir, 'slot3', 'data.img'))).toBe(`${w.config.statesDir}/web/data.img`);
  });

  it('refuses while its slot runs (5), an existing name (4), the same name (2), a missing state (3)', async () => {
    const w = makeWorld({ states: [{ name: 'old' }, { name: 'taken' }], running: ['slot1'], assignments: { slot1: 'old' } });
    const r = await runCli(['rename', 'old', 'new'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('running slot slot1');
    expect((await runCli(['rename', 'taken', 'old'], w)).code).toBe(4);
    expect((await runCli(['rename', 'taken', 'taken'], w)).code).toBe(2);
    expect((await runCli(['rename', 'nope', 'x'], w)).code).toBe(3);
    expect((await runCli(['rename', 'taken', '../x'], w)).code).toBe(2);
    expect(mutations(w)).toEqual([]);
  });

  it('all or nothing: a failure at any step puts name, mountpoint, assignment and link back', async () => {
    const make = () => {
      const w = makeWorld({ states: [{ name: 'old' }], assignments: { slot1: 'old' } });
      return { w, link: linkSlot(w, 'slot1', 'old') };
    };
    const clean = make();
    expect((await runCli(['rename', 'old', 'new'], clean.w)).code).toBe(0);
    const total = clean.w.runner.mutatingCalls.length;
    for (let n = 0; n < total; n++) {
      const { w, link } = make();
      w.runner.failAt(n);
      const r = await runCli(['rename', 'old', 'new'], w);
      expect(r.code, `call ${n}`).toBe(1);
      expect(r.stderr).not.toContain('Could NOT');
      const done = mutations(w);
      if (n >= 1) expect(done.at(-1)).toBe(`zfs mount ${P}/old`);
      if (n >= 2) {
        // Renamed back unmounted: undoing the mountpoint may have mounted it again ("dataset is busy").
        const back = done.indexOf(`zfs rename ${P}/new ${P}/old`);
        expect(done[back - 1]).toBe(`zfs unmount ${P}/new`);
      }
      if (n >= 3) expect(done).toContain(`zfs set mountpoint=${w.config.statesDir}/old ${P}/new`);
      expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot1: 'old' });
      expect(readlinkSync(link)).toBe(`${w.config.statesDir}/old/data.img`);
    }
  });

  it('a failure writing the links undoes the zfs steps too', async () => {
    const w = makeWorld({ states: [{ name: 'old' }], assignments: { slot1: 'old' } });
    // slot1's directory is a file: the link cannot be made.
    mkdirSync(w.config.slotsDir, { recursive: true });
    writeFileSync(join(w.config.slotsDir, 'slot1'), 'not a directory');
    const r = await runCli(['rename', 'old', 'new'], w);
    expect(r.code).not.toBe(0);
    expect(mutations(w).slice(-4)).toEqual([
      `zfs set mountpoint=${w.config.statesDir}/old ${P}/new`,
      `zfs unmount ${P}/new`,
      `zfs rename ${P}/new ${P}/old`,
      `zfs mount ${P}/old`,
    ]);
    expect(JSON.parse(readFileSync(w.config.assignmentsFile, 'utf8'))).toEqual({ slot1: 'old' });
  });
});

describe('schemas', () => {
  it('vm-state schema prints the snapshots and show documents', async () => {
    const w = makeWorld();
    for (const name of ['snapshots', 'show']) {
      const r = await runCli(['schema', name], w);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).type).toBe('object');
    }
  });
});

describe('help', () => {
  it('lists the new commands and snapshot delete', async () => {
    const w = makeWorld();
    const h = await runCli(['--help'], w);
    for (const c of [
      'snapshots [state]',
      'show <state>',
      'rollback [options] <slot> <snapshot>',
      'prune [options] [state]',
      'rename <old> <new>',
    ])
      expect(h.stdout).toContain(c);
    const s = await runCli(['snapshot', '--help'], w);
    expect(s.stdout).toContain('--stop');
    expect(s.stdout).toContain('delete <snapshot>');
  });
});

describe('adopt', () => {
  /** A directory state with a few kinds of entries, and a runner whose cp copies and whose `zfs set mountpoint` moves the mount. */
  function dirWorld(opts: { running?: string[]; corrupt?: boolean } = {}) {
    const w = makeWorld({ running: opts.running, assignments: { slot1: 'web' } });
    const dir = join(w.config.statesDir, 'web');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'data.img'), Buffer.from([1, 2, 3, 0, 0, 0, 9]));
    writeFileSync(join(dir, 'sub', 'notes.txt'), 'hello');
    symlinkSync('data.img', join(dir, 'link'));
    let mountedAt = '';
    w.runner.respond((a) => {
      if (a[0] === 'zfs' && a[1] === 'create') mountedAt = a[3]!.slice('mountpoint='.length);
      if (a[0] === 'cp') {
        cpSync(a.at(-2)!.replace(/\/\.$/, ''), a.at(-1)!, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
        if (opts.corrupt) writeFileSync(join(a.at(-1)!, 'sub', 'notes.txt'), 'hellO');
      }
      if (a[0] === 'zfs' && a[1] === 'set') {
        const to = a[2]!.slice('mountpoint='.length);
        renameSync(mountedAt, to);
        mountedAt = to;
      }
      return undefined;
    });
    return { w, dir, work: join(w.config.statesDir, '.adopt-web'), backup: join(w.config.statesDir, '.adopted-web') };
  }

  it('creates the dataset aside, copies and compares, moves the directory aside, mounts the dataset in its place', async () => {
    const { w, dir, work, backup } = dirWorld();
    const r = await runCli(['adopt', 'web'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(mutations(w)).toEqual([
      `zfs create -o mountpoint=${work} ${P}/web`,
      `zfs mount ${P}/web`,
      `cp -a --sparse=always ${dir}/. ${work}/`,
      `zfs unmount ${P}/web`,
      `zfs set mountpoint=${dir} ${P}/web`,
      `zfs mount ${P}/web`,
    ]);
    expect(readFileSync(join(dir, 'sub', 'notes.txt'), 'utf8')).toBe('hello');
    expect(readFileSync(join(backup, 'data.img'))).toEqual(Buffer.from([1, 2, 3, 0, 0, 0, 9]));
    expect(existsSync(work)).toBe(false);
    expect(r.stdout).toContain(`vm-state adopt --cleanup web`);
  });

  it('a copy that differs is an error naming the file; the dataset goes, the directory is untouched', async () => {
    const { w, dir, backup } = dirWorld({ corrupt: true });
    const r = await runCli(['adopt', 'web'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('differs from the original at sub/notes.txt: contents differ');
    expect(mutations(w).at(-1)).toBe(`zfs destroy ${P}/web`);
    expect(readFileSync(join(dir, 'sub', 'notes.txt'), 'utf8')).toBe('hello');
    expect(existsSync(backup)).toBe(false);
  });

  it('a failure after the switch-over puts the directory back and destroys the dataset', async () => {
    const { w, dir, backup } = dirWorld();
    w.runner.failAt(5, 'cannot mount: injected');
    const r = await runCli(['adopt', 'web'], w);
    expect(r.code).toBe(1);
    expect(mutations(w).slice(-3)).toEqual([
      `zfs set mountpoint=${join(w.config.statesDir, '.adopt-web')} ${P}/web`,
      `zfs mount ${P}/web`,
      `zfs destroy ${P}/web`,
    ]);
    expect(readFileSync(join(dir, 'data.img'))).toEqual(Buffer.from([1, 2, 3, 0, 0, 0, 9]));
    expect(existsSync(backup)).toBe(false);
    expect(r.stderr).not.toContain('Could NOT');
  });

  it('refuses a running slot (5), a dataset (4), a missing state (3), a bad name (2)', async () => {
    const { w } = dirWorld({ running: ['slot1'] });
    const r = await runCli(['adopt', 'web'], w);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('running slot slot1');
    const v = makeWorld({ states: [{ name: 'ds' }] });
    expect((await runCli(['adopt', 'ds'], v)).code).toBe(4);
    expect((await runCli(['adopt', 'nope'], v)).code).toBe(3);
    expect((await runCli(['adopt', '../etc'], v)).code).toBe(2);
    expect([...mutations(w), ...mutations(v)]).toEqual([]);
  });

  it('--cleanup deletes the kept original, once; not before the adopt', async () => {
    const { w, backup } = dirWorld();
    expect((await runCli(['adopt', '--cleanup', 'web'], w)).code).toBe(5);
    const v = makeWorld({ states: [{ name: 'web' }] });
    const kept = join(v.config.statesDir, '.adopted-web');
    mkdirSync(join(kept, 'sub'), { recursive: true });
    const r = await runCli(['adopt', 'web', '--cleanup'], v);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(kept)).toBe(false);
    expect((await runCli(['adopt', 'web', '--cleanup'], v)).code).toBe(3);
    expect(existsSync(backup)).toBe(false);
  });
});
