// bin/vm-state, the launcher that runs the bundle through V8's code cache:
// real node processes, a real cache directory, every way the cache can be off.
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
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const LAUNCHER = join(ROOT, 'bin', 'vm-state');
const BUNDLE = join(ROOT, 'dist', 'vm-state.cjs');
const CACHE_FILE = /^vm-state-[0-9a-f]{16}-[0-9a-f]{8}\.v8$/;
// `list` against stand-in zfs and systemctl: a run that reads the system, the kind whose code is cached.
const LIST = ['list'];

let sandbox: string;
let dir: string;
beforeEach(() => {
  sandbox = mkdtempSync(join(tmpdir(), 'vm-state-launcher-'));
  dir = join(sandbox, 'cache');
  mkdirSync(join(sandbox, 'bin'));
  writeFileSync(join(sandbox, 'bin', 'zfs'), '#!/bin/sh\necho "cannot open \'$9\': dataset does not exist" >&2\nexit 1\n', { mode: 0o755 });
  writeFileSync(join(sandbox, 'bin', 'systemctl'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  writeFileSync(join(sandbox, 'config.json'), '{}');
});
afterEach(() => rmSync(sandbox, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}, file = LAUNCHER) {
  const r = spawnSync(process.execPath, [file, ...args], {
    encoding: 'utf8',
    env: {
      PATH: `${sandbox}/bin:${process.env.PATH}`,
      VM_STATE_CONFIG: join(sandbox, 'config.json'),
      VM_STATE_STATES_DIR: join(sandbox, 'states'),
      VM_STATE_SLOTS_DIR: join(sandbox, 'slots'),
      VM_STATE_ASSIGNMENTS_FILE: join(sandbox, 'assignments.json'),
      VM_STATE_RUN_DIR: join(sandbox, 'run'),
      VM_STATE_CACHE_DIR: dir,
      VM_STATE_TRACE: '1',
      NO_COLOR: '1',
      ...env,
    },
  });
  const trace = r.stderr.split('\n').filter((l) => l.startsWith('# code cache: '));
  const cache = trace.map((l) => l.slice('# code cache: '.length).split(' ')[0]);
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, trace, cache };
}
const files = () => (existsSync(dir) ? readdirSync(dir).sort() : []);
const cacheFiles = () => files().filter((f) => CACHE_FILE.test(f));

/** A copy of the launcher with its own bundle: what an edited or broken bundle does. */
function installCopy(bundleText: string): string {
  const root = mkdtempSync(join(sandbox, 'install-'));
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'dist'));
  copyFileSync(LAUNCHER, join(root, 'bin', 'vm-state'));
  copyFileSync(join(ROOT, 'bin', 'package.json'), join(root, 'bin', 'package.json'));
  writeFileSync(join(root, 'dist', 'vm-state.cjs'), bundleText);
  return join(root, 'bin', 'vm-state');
}

describe('bin/vm-state code cache', () => {
  it('the first run that reads the system compiles and writes the cache, the next takes it back; the output is the same', () => {
    const first = run(LIST);
    expect(first).toMatchObject({ status: 0, cache: ['miss', 'wrote'] });
    expect(first.stdout).toContain('States and assignments');
    expect(files()).toEqual([expect.stringMatching(CACHE_FILE)]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, files()[0]!)).mode & 0o777).toBe(0o600);

    const second = run(LIST);
    expect(second).toMatchObject({ status: 0, stdout: first.stdout, cache: ['hit'] });
  });

  it('a run that reads nothing (--help, --version, a usage error) writes no cache: it would hold a third of the code', () => {
    for (const args of [['--help'], ['--version'], ['no-such-command']]) {
      expect(run(args).cache).toEqual(['miss', 'not']);
    }
    expect(files()).toEqual([]);
    expect(run(LIST).cache).toEqual(['miss', 'wrote']);
    expect(run(['--version']).cache).toEqual(['hit']);
  });

  it('runs exactly like the bundle itself: output and exit code, with and without a cache', () => {
    for (const args of [LIST, ['no-such-command'], ['--json', 'list']]) {
      const direct = run(args, { VM_STATE_TRACE: '0' }, BUNDLE);
      for (const cached of [false, true]) {
        rmSync(dir, { recursive: true, force: true });
        if (cached) {
          run(LIST);
          expect(run(['--version']).cache).toEqual(['hit']);
        }
        const r = run(args, { VM_STATE_TRACE: '0' });
        expect(r).toMatchObject({ status: direct.status, stdout: direct.stdout, stderr: direct.stderr });
      }
    }
    expect(run(LIST, { VM_STATE_TRACE: '0' }, BUNDLE).status).toBe(0);
    expect(run(['no-such-command'], {}, BUNDLE).status).toBe(2);
  });

  it('a damaged cache (torn, or bytes flipped mid-file, which V8 itself would crash on) is compiled around and rewritten', () => {
    run(LIST);
    const file = join(dir, files()[0]!);
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    for (let i = 0; i < 64; i++) flipped[Math.floor(good.length / 2) + i]! ^= 0xff;
    for (const bad of [flipped, good.subarray(0, good.length / 2), Buffer.alloc(0)]) {
      writeFileSync(file, bad, { mode: 0o600 });
      const r = run(LIST);
      expect(r).toMatchObject({ status: 0, signal: null, cache: ['damaged', 'wrote'] });
      expect(run(LIST).cache).toEqual(['hit']);
    }
  });

  it('a cache V8 rejects (intact, but compiled from another source) is compiled around and rewritten', () => {
    run(LIST);
    const fileOf = (r: { trace: string[] }) => r.trace[0]!.split(' ').at(-1)!;
    const mine = fileOf(run(['--version']));
    const copy = installCopy(`${readFileSync(BUNDLE, 'utf8')}\n// another build`);
    const theirs = fileOf(run(['--version'], {}, copy));
    expect(theirs).not.toBe(mine);
    copyFileSync(mine, theirs); // this build's code under the other build's name: the hash is intact, V8 sees another source
    expect(run(LIST, {}, copy)).toMatchObject({ status: 0, cache: ['rejected', 'wrote'] });
    expect(run(LIST, {}, copy).cache).toEqual(['hit']);
  });

  it('an edit that keeps the bundle the same length is a new build, not a stale hit', () => {
    const source = readFileSync(BUNDLE, 'utf8');
    const edited = source.replace('States and assignments', 'STATES AND ASSIGNMENTS');
    expect(edited.length).toBe(source.length);
    run(LIST);
    const copy = installCopy(edited);
    const r = run(LIST, {}, copy);
    expect(r.cache).toEqual(['miss', 'wrote']);
    expect(r.stdout).toContain('STATES AND ASSIGNMENTS');
    expect(cacheFiles()).toHaveLength(2);
  });

  it('a bundle that dies at its top level writes no cache', () => {
    const copy = installCopy("throw new Error('broken bundle');\n");
    const r = run(LIST, {}, copy);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('broken bundle');
    expect(r.cache).toEqual(['miss', 'not']);
    expect(files()).toEqual([]);
  });

  it('a cache place that cannot be used at all (under a file, out of reach) changes nothing about the run', () => {
    writeFileSync(join(sandbox, 'afile'), '');
    const direct = run(LIST, { VM_STATE_TRACE: '0' }, BUNDLE);
    for (const place of [join(sandbox, 'afile', 'cache'), join(sandbox, 'afile')]) {
      const r = run(LIST, { VM_STATE_CACHE_DIR: place, VM_STATE_TRACE: '0' });
      expect(r).toMatchObject({ status: 0, stdout: direct.stdout, stderr: direct.stderr });
      expect(run(LIST, { VM_STATE_CACHE_DIR: place }).cache).toEqual(['not']);
    }
  });

  it("a huge file in the cache's place is damage: not read, replaced", () => {
    run(LIST);
    const file = join(dir, files()[0]!);
    truncateSync(file, 3 * 1024 ** 3); // sparse: 3 GB that would not even fit a Buffer
    expect(run(LIST)).toMatchObject({ status: 0, cache: ['damaged', 'wrote'] });
    expect(statSync(file).size).toBeLessThan(4 * 1024 ** 2);
  });

  it('a directory other users can write (0770 or 0777) is neither read nor written', () => {
    run(LIST);
    chmodSync(dir, 0o770);
    expect(run(LIST).trace).toEqual([`# code cache: not used: ${dir} is writable by another user`]);
    chmodSync(dir, 0o777);
    const [name] = files();
    const before = readFileSync(join(dir, name!));
    const r = run(LIST);
    expect(r).toMatchObject({ status: 0, cache: ['not'] });
    expect(r.trace).toEqual([`# code cache: not used: ${dir} is writable by another user`]);
    expect(files()).toEqual([name]);
    expect(readFileSync(join(dir, name!)).equals(before)).toBe(true); // Buffer.equals: toEqual walks 700 KB byte by byte
  });

  it('a cache directory that is a symbolic link is neither read nor written, nor is anything removed behind it', () => {
    const real = join(sandbox, 'elsewhere');
    mkdirSync(real, { mode: 0o700 });
    for (const f of ['vm-state-assignments.json', 'vm-state-assignments.json.bak', 'vm-state-0123456789abcdef-00000000.v8']) {
      writeFileSync(join(real, f), 'precious');
    }
    symlinkSync(real, dir);
    const r = run(LIST);
    expect(r).toMatchObject({ status: 0, cache: ['not'] });
    expect(r.trace[0]).toBe(`# code cache: not used: ${dir} is a symbolic link`);
    expect(readdirSync(real).sort()).toEqual([
      'vm-state-0123456789abcdef-00000000.v8',
      'vm-state-assignments.json',
      'vm-state-assignments.json.bak',
    ]);
  });

  it('a cache file that is a symbolic link is not followed', () => {
    run(LIST);
    const [name] = files();
    const target = join(sandbox, 'target.v8');
    copyFileSync(join(dir, name!), target);
    rmSync(join(dir, name!));
    symlinkSync(target, join(dir, name!));
    const r = run(LIST);
    expect(r).toMatchObject({ status: 0, cache: ['not'] });
    expect(r.trace[0]).toBe(`# code cache: not used: ${join(dir, name!)} is a symbolic link`);
  });

  it.runIf(process.getuid?.() === 0)('a cache directory owned by another user is not used: they could plant code', () => {
    run(LIST);
    chownSync(dir, 65534, 65534);
    expect(run(LIST)).toMatchObject({ status: 0, trace: [`# code cache: not used: ${dir} is owned by uid 65534`] });
  });

  it.runIf(process.getuid?.() === 0)('a cache file owned by another user is not used', () => {
    run(LIST);
    const file = join(dir, files()[0]!);
    chownSync(file, 65534, 65534);
    const r = run(LIST);
    expect(r).toMatchObject({ status: 0, cache: ['not'] });
    expect(r.trace[0]).toContain('is owned by uid 65534');
    expect(statSync(file).uid).toBe(65534);
  });

  it('VM_STATE_CACHE_DIR= (empty) turns the cache off', () => {
    const r = run(LIST, { VM_STATE_CACHE_DIR: '' });
    expect(r).toMatchObject({ status: 0, cache: [] });
    expect(existsSync(dir)).toBe(false);
  });

  it('other Node flags get their own file; tidying removes only our own stale files: old builds beyond three, dead half-writes', () => {
    mkdirSync(dir, { mode: 0o700 });
    const keep = [
      'vm-state-assignments.json',
      'vm-state-assignments.json.bak',
      'notes.txt',
      `vm-state-0000000000000000-00000000.v8.${process.pid}.tmp`,
    ];
    for (const f of keep) writeFileSync(join(dir, f), 'not to be removed');
    mkdirSync(join(dir, 'vm-state-1111111111111111-00000000.v8')); // not a file: left alone, no error
    const builds = ['a', 'b', 'c', 'd'].map((c) => `vm-state-${c.repeat(16)}-00000000.v8`);
    builds.forEach((f, i) => {
      writeFileSync(join(dir, f), 'an older build');
      utimesSync(join(dir, f), 1000 + i, 1000 + i); // a is the oldest
    });
    writeFileSync(join(dir, 'vm-state-0000000000000000-00000000.v8.999999999.tmp'), 'a killed write');

    const nameIn = (r: { trace: string[] }) => r.trace[0]!.split('/').at(-1)!;
    const first = run(LIST);
    expect(first.cache).toEqual(['miss', 'wrote']);
    const other = run(LIST, { NODE_OPTIONS: '--no-warnings' });
    expect(other.cache).toEqual(['miss', 'wrote']);
    const [mine, theirs] = [nameIn(first), nameIn(other)];
    expect(theirs).not.toBe(mine);
    // Gone: the oldest other build (a) and the killed write; everything else stays.
    expect(files()).toEqual([...keep, 'vm-state-1111111111111111-00000000.v8', ...builds.slice(1), mine, theirs].sort());
    expect(run(LIST).cache).toEqual(['hit']);
    expect(run(LIST, { NODE_OPTIONS: '--no-warnings' }).cache).toEqual(['hit']);
  });
});
