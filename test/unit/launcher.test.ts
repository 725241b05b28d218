// bin/vm-state, the launcher that runs the bundle with Node's own compile cache:
// real node processes (this node), a real cache directory. Node's debug output
// (NODE_DEBUG_NATIVE=COMPILE_CACHE) says whether a cache was taken and written.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
// `list` against stand-in zfs and systemctl: a run that loads most of the bundle.
const LIST = ['list'];
const isRoot = process.getuid?.() === 0;

let sandbox: string;
let dir: string;
// A copy of bin/ and dist/ per test: a rebuild of dist/ meanwhile must not change what one test runs.
let LAUNCHER: string;
let BUNDLE: string;
beforeEach(() => {
  sandbox = mkdtempSync(join(tmpdir(), 'vm-state-launcher-'));
  dir = join(sandbox, 'cache');
  ({ launcher: LAUNCHER, bundle: BUNDLE } = installCopy(
    readFileSync(join(ROOT, 'dist', 'vm-state.cjs'), 'utf8'),
  ));
  mkdirSync(join(sandbox, 'bin'));
  const zfs = '#!/bin/sh\necho "cannot open \'$9\': dataset does not exist" >&2\nexit 1\n';
  writeFileSync(join(sandbox, 'bin', 'zfs'), zfs, { mode: 0o755 });
  writeFileSync(join(sandbox, 'bin', 'systemctl'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  writeFileSync(join(sandbox, 'config.json'), '{}');
});
afterEach(() => rmSync(sandbox, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}, file = LAUNCHER, uid?: number) {
  const r = spawnSync(process.execPath, [file, ...args], {
    encoding: 'utf8',
    ...(uid === undefined ? {} : { uid, gid: uid }),
    env: {
      PATH: `${sandbox}/bin:${process.env.PATH}`,
      HOME: join(sandbox, 'home'),
      VM_STATE_CONFIG: join(sandbox, 'config.json'),
      VM_STATE_STATES_DIR: join(sandbox, 'states'),
      VM_STATE_SLOTS_DIR: join(sandbox, 'slots'),
      VM_STATE_ASSIGNMENTS_FILE: join(sandbox, 'assignments.json'),
      VM_STATE_RUN_DIR: join(sandbox, 'run'),
      VM_STATE_CACHE_DIR: dir,
      VM_STATE_TRACE: '1',
      NODE_DEBUG_NATIVE: 'COMPILE_CACHE',
      NO_COLOR: '1',
      ...env,
    },
  });
  const lines = r.stderr.split('\n');
  const trace = lines.filter((l) => l.startsWith('# compile cache: '));
  const node = lines.filter((l) => l.startsWith('[compile cache]')).join('\n');
  const reads = (node.match(/reading cache from/g) ?? []).length;
  // What the operator sees: without Node's debug lines, the launcher's and vm-state's trace (`+ zfs ...`).
  const stderr = lines.filter((l) => !/^(\[compile cache\]|# compile cache: |\+ )/.test(l)).join('\n');
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout,
    stderr,
    trace,
    /** Node read a cache for each file the run loaded, and V8 took each. */
    hit: reads > 0 && (node.match(/was accepted/g) ?? []).length === reads,
    /** Node wrote a cache file. */
    wrote: /Renaming \S+ to \S+\.\.\.\s*success/.test(node),
    /** Node looked at the cache directory at all. */
    looked: /reading cache from/.test(node),
    node,
  };
}
const quiet = { VM_STATE_TRACE: '0', NODE_DEBUG_NATIVE: '' };

/** Node's directory for this Node version and user, and the cache files in it. */
function versionDir(): string {
  const entries = readdirSync(dir);
  expect(entries).toHaveLength(1);
  return join(dir, entries[0]!);
}
const cacheFiles = () => readdirSync(versionDir()).map((f) => join(versionDir(), f));

/** A launcher and bundle of their own: what an edited bundle does. */
function installCopy(bundleText: string): { launcher: string; bundle: string } {
  const root = mkdtempSync(join(sandbox, 'install-'));
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'dist'));
  copyFileSync(join(ROOT, 'bin', 'vm-state'), join(root, 'bin', 'vm-state'));
  copyFileSync(join(ROOT, 'bin', 'package.json'), join(root, 'bin', 'package.json'));
  writeFileSync(join(root, 'dist', 'vm-state.cjs'), bundleText);
  // What the command line loads when a command runs, and the help the launcher prints (scripts/build.mjs).
  for (const file of ['run.cjs', 'mcp.cjs', 'help.txt'])
    copyFileSync(join(ROOT, 'dist', file), join(root, 'dist', file));
  return { launcher: join(root, 'bin', 'vm-state'), bundle: join(root, 'dist', 'vm-state.cjs') };
}

/** Every file under a directory with its bytes: to show nothing was written there. */
function snapshotOf(top: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(top, { recursive: true, encoding: 'utf8' })) {
    const p = join(top, name);
    out[name] = statSync(p).isDirectory() ? 'dir' : readFileSync(p).toString('base64');
  }
  return out;
}

describe('bin/vm-state compile cache', { timeout: 60_000 }, () => {
  it('the first run compiles and writes the cache (directories 0700, file 0600), the next takes it back', () => {
    const first = run(LIST);
    expect(first).toMatchObject({
      status: 0,
      hit: false,
      wrote: true,
      trace: [`# compile cache: in ${dir}`],
    });
    expect(first.stdout).toContain('States and assignments');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(versionDir()).mode & 0o777).toBe(0o700);
    // One file per bundle file loaded: list loads the command line and what runs a command.
    expect(cacheFiles()).toHaveLength(2);
    for (const file of cacheFiles()) expect(statSync(file).mode & 0o777).toBe(0o600);

    const second = run(LIST);
    expect(second).toMatchObject({ status: 0, stdout: first.stdout, hit: true, wrote: false });
    // Whatever ran first, the cache is the same one: --version takes list's.
    expect(run(['--version'])).toMatchObject({ status: 0, hit: true });
  });

  it("Node's directory is one per Node version, CPU and user, named the way this node names it", () => {
    run(['--version']);
    const probe = spawnSync(
      process.execPath,
      [
        '-e',
        'const m = require("node:module"); m.enableCompileCache(process.argv[1]); console.log(m.getCompileCacheDir())',
        join(sandbox, 'probe'),
      ],
      { encoding: 'utf8' },
    ).stdout.trim();
    expect(basename(versionDir())).toBe(basename(probe));
    expect(basename(versionDir())).toMatch(
      new RegExp(
        `^${process.version.replaceAll('.', '\\.')}-${process.arch}-[0-9a-f]{8}-${process.getuid!()}$`,
      ),
    );
  });

  it('runs exactly like the bundle itself: output and exit code, with and without a cache', () => {
    for (const args of [LIST, ['--json', 'list'], ['no-such-command'], ['--help', '--json'], ['--version']]) {
      const direct = run(args, quiet, BUNDLE);
      for (const cached of [false, true]) {
        rmSync(dir, { recursive: true, force: true });
        if (cached) run(LIST);
        const r = run(args, quiet);
        expect(r).toMatchObject({ status: direct.status, stdout: direct.stdout, stderr: direct.stderr });
        expect(run(args).hit).toBe(true);
      }
    }
    expect(run(LIST, quiet, BUNDLE).status).toBe(0);
    expect(run(['no-such-command'], quiet, BUNDLE).status).toBe(2);
  });

  it("--help to a pipe: the bundle's own, saved by the build, printed without the bundle or a cache", () => {
    const saved = '# compile cache: not used: --help is printed from dist/help.txt';
    const direct = run(['--help'], quiet, BUNDLE);
    expect(direct).toMatchObject({ status: 0, stderr: '' });
    expect(direct.stdout).toContain('Usage: vm-state [options] [command]');
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = run(args);
      expect(r).toMatchObject({
        status: 0,
        stdout: direct.stdout,
        stderr: '',
        trace: [saved],
        looked: false,
      });
      expect(existsSync(dir)).toBe(false);
    }
    // The help of a command, or with other options, is the bundle's to print.
    expect(run(['send', '--help']).trace).toEqual([`# compile cache: in ${dir}`]);
    expect(run(['--help', '--no-color']).trace).toEqual([`# compile cache: in ${dir}`]);
    // Without the saved text (an install that lacks it) the bundle prints the same.
    const copy = installCopy(readFileSync(BUNDLE, 'utf8'));
    rmSync(join(dirname(copy.bundle), 'help.txt'));
    expect(run(['--help'], {}, copy.launcher)).toMatchObject({
      status: 0,
      stdout: direct.stdout,
      trace: [`# compile cache: in ${dir}`],
    });
  });

  it("--help on a terminal is the bundle's, wrapped to its width; to a closed pipe it is no error", () => {
    const env = Object.entries({ VM_STATE_CACHE_DIR: dir, VM_STATE_TRACE: '1', NO_COLOR: '1' })
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    // util-linux's script(1) gives the launcher a terminal of 150 columns.
    const tty = spawnSync(
      'script',
      ['-qec', `stty cols 150; env ${env} ${process.execPath} ${LAUNCHER} --help`, '/dev/null'],
      { encoding: 'utf8' },
    );
    expect(tty.status).toBe(0);
    expect(tty.stdout).toContain(`# compile cache: in ${dir}`);
    const widest = Math.max(...tty.stdout.split(/\r?\n/).map((l) => l.length));
    expect(widest).toBeGreaterThan(100);
    const piped = run(['--help'], quiet);
    expect(Math.max(...piped.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
    const head = spawnSync('sh', ['-c', `${process.execPath} ${LAUNCHER} --help | head -c 10`], {
      encoding: 'utf8',
      env: { VM_STATE_CACHE_DIR: '' },
    });
    expect(head).toMatchObject({ status: 0, stdout: 'Usage: vm-', stderr: '' });
  });

  it('a damaged cache file (bytes flipped, torn, empty, garbage, 3 GB) is not taken: the run is right, the file rewritten', () => {
    const direct = run(LIST, quiet, BUNDLE);
    run(LIST);
    const files = cacheFiles();
    const goods = files.map((file) => readFileSync(file));
    const damaged = (good: Buffer) => {
      const flipped = Buffer.from(good);
      for (let i = 0; i < 64; i++) flipped[Math.floor(good.length / 2) + i]! ^= 0xff;
      return [flipped, good.subarray(0, good.length / 2), Buffer.alloc(0), good.subarray(0, 20)];
    };
    const garbage = (good: Buffer) => Buffer.alloc(good.length, 0x5a);
    // 3 GB once (Node reads it all before it sees the length is wrong): the other file garbage then.
    const kinds = goods.map((good, i) => [...damaged(good), garbage(good), i === 0 ? 'huge' : garbage(good)]);
    for (let k = 0; k < kinds[0]!.length; k++) {
      files.forEach((file, i) => {
        const bad = kinds[i]![k]!;
        if (bad === 'huge')
          truncateSync(file, 3 * 1024 ** 3); // sparse: 3 GB past the real cache
        else writeFileSync(file, bad, { mode: 0o600 });
      });
      const r = run(LIST);
      expect(r).toMatchObject({
        status: 0,
        signal: null,
        stdout: direct.stdout,
        stderr: direct.stderr,
        hit: false,
        wrote: true,
      });
      expect(r.node).not.toContain('was accepted');
      for (const file of files) expect(statSync(file).size).toBeLessThan(4 * 1024 ** 2);
      expect(run(LIST)).toMatchObject({ status: 0, hit: true });
    }
  });

  it('a bundle edited in place, even keeping its length, is compiled afresh: never stale code', () => {
    const source = readFileSync(BUNDLE, 'utf8');
    const edited = source.replace('States and assignments', 'STATES AND ASSIGNMENTS');
    expect(edited.length).toBe(source.length);
    const copy = installCopy(source);
    expect(run(LIST, {}, copy.launcher)).toMatchObject({ status: 0, wrote: true });
    expect(run(LIST, {}, copy.launcher).hit).toBe(true);
    writeFileSync(copy.bundle, edited);
    const r = run(LIST, {}, copy.launcher);
    expect(r).toMatchObject({ status: 0, hit: false, wrote: true });
    expect(r.node).toContain('code hash mismatch');
    expect(r.stdout).toContain('STATES AND ASSIGNMENTS');
    expect(run(LIST, {}, copy.launcher)).toMatchObject({ hit: true, stdout: r.stdout });
  });

  it('a cache directory other users can write (0770, 0777, 0702) is neither read nor written', () => {
    run(LIST);
    const before = snapshotOf(dir);
    for (const mode of [0o770, 0o777, 0o702]) {
      chmodSync(dir, mode);
      const r = run(LIST);
      expect(r).toMatchObject({ status: 0, looked: false, wrote: false });
      expect(r.trace).toEqual([`# compile cache: not used: ${dir} is writable by another user`]);
      expect(snapshotOf(dir)).toEqual(before);
    }
  });

  it("Node's own directory in it, writable by others or a symbolic link, makes the cache unused too", () => {
    run(LIST);
    const version = versionDir();
    chmodSync(version, 0o777);
    const r = run(LIST);
    expect(r).toMatchObject({ status: 0, looked: false, wrote: false });
    expect(r.trace).toEqual([`# compile cache: not used: ${version} is writable by another user`]);

    const elsewhere = join(sandbox, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    rmSync(version, { recursive: true });
    symlinkSync(elsewhere, version);
    const s = run(LIST);
    expect(s).toMatchObject({ status: 0, looked: false, wrote: false });
    expect(s.trace).toEqual([`# compile cache: not used: ${version} is a symbolic link`]);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('a cache directory that is a symbolic link is neither read nor written through', () => {
    const real = join(sandbox, 'elsewhere');
    mkdirSync(real, { mode: 0o700 });
    writeFileSync(join(real, 'precious'), 'not to be touched');
    symlinkSync(real, dir);
    const r = run(LIST);
    expect(r).toMatchObject({ status: 0, looked: false, wrote: false });
    expect(r.trace).toEqual([`# compile cache: not used: ${dir} is a symbolic link`]);
    expect(readdirSync(real)).toEqual(['precious']);
  });

  it.runIf(isRoot)(
    'a cache directory, or the one in it, owned by another user is not used: they could plant code',
    () => {
      run(LIST);
      chownSync(dir, 65534, 65534);
      expect(run(LIST)).toMatchObject({
        status: 0,
        looked: false,
        trace: [`# compile cache: not used: ${dir} is owned by uid 65534`],
      });
      chownSync(dir, 0, 0);
      chownSync(versionDir(), 65534, 65534);
      expect(run(LIST)).toMatchObject({
        status: 0,
        looked: false,
        trace: [`# compile cache: not used: ${versionDir()} is owned by uid 65534`],
      });
    },
  );

  it('a cache place that cannot be used at all (under a file, a file) changes nothing about the run', () => {
    writeFileSync(join(sandbox, 'afile'), '');
    const direct = run(LIST, quiet, BUNDLE);
    for (const place of [join(sandbox, 'afile', 'cache'), join(sandbox, 'afile')]) {
      const r = run(LIST, { ...quiet, VM_STATE_CACHE_DIR: place });
      expect(r).toMatchObject({ status: 0, stdout: direct.stdout, stderr: direct.stderr });
      const traced = run(LIST, { VM_STATE_CACHE_DIR: place });
      expect(traced).toMatchObject({ status: 0, looked: false });
      expect(traced.trace).toHaveLength(1);
      expect(traced.trace[0]).toMatch(/^# compile cache: not used: /);
    }
  });

  it('VM_STATE_CACHE_DIR= (empty) turns the cache off', () => {
    const r = run(LIST, { VM_STATE_CACHE_DIR: '' });
    expect(r).toMatchObject({ status: 0, trace: [], looked: false, wrote: false });
    expect(existsSync(dir)).toBe(false);
  });

  it('NODE_COMPILE_CACHE set by the caller is Node’s, taken before the launcher runs: said, and our place left alone', () => {
    const theirs = join(sandbox, 'theirs');
    const r = run(LIST, { NODE_COMPILE_CACHE: theirs });
    expect(r).toMatchObject({
      status: 0,
      trace: [`# compile cache: NODE_COMPILE_CACHE=${theirs}, not checked by vm-state`],
    });
    expect(existsSync(dir)).toBe(false);
  });

  it.runIf(isRoot)(
    "other users' default: $XDG_CACHE_HOME/vm-state, else ~/.cache/vm-state, made 0700",
    () => {
      chmodSync(sandbox, 0o755);
      chmodSync(dirname(dirname(LAUNCHER)), 0o755);
      const home = join(sandbox, 'home');
      mkdirSync(home);
      chownSync(home, 65534, 65534);
      const unset = { VM_STATE_CACHE_DIR: undefined as unknown as string };
      const r = run(['--version'], unset, LAUNCHER, 65534);
      expect(r).toMatchObject({
        status: 0,
        wrote: true,
        trace: [`# compile cache: in ${home}/.cache/vm-state`],
      });
      expect(statSync(join(home, '.cache', 'vm-state')).mode & 0o777).toBe(0o700);
      const xdg = join(home, 'xdg');
      const s = run(['--version'], { ...unset, XDG_CACHE_HOME: xdg }, LAUNCHER, 65534);
      expect(s).toMatchObject({ status: 0, wrote: true, trace: [`# compile cache: in ${xdg}/vm-state`] });
      const t = run(['--version'], { ...unset, XDG_CACHE_HOME: 'relative' }, LAUNCHER, 65534);
      expect(t).toMatchObject({
        status: 0,
        hit: true,
        trace: [`# compile cache: in ${home}/.cache/vm-state`],
      });
    },
  );
});
