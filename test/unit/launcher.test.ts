// bin/vm-state, the launcher that runs the bundle through V8's code cache:
// real node processes, a real cache directory, every way the cache can be off.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const LAUNCHER = join(ROOT, 'bin', 'vm-state');
const BUNDLE = join(ROOT, 'dist', 'vm-state.cjs');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
const BUILD = /^\/\/ vm-state build ([0-9a-f]{16})\n/.exec(readFileSync(BUNDLE, 'utf8'))?.[1];

// `list` against stand-in zfs and systemctl: a run that reads the system, the kind whose code is cached.
const LIST = ['list'];
let dir: string;
let sandbox: string;
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
  const cache = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('# code cache: '))
    .map((l) => l.slice('# code cache: '.length).split(' ')[0]);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, cache };
}
const files = () => (existsSync(dir) ? readdirSync(dir).sort() : []);

describe('bin/vm-state code cache', () => {
  it('the bundle carries its build key on the first line', () => {
    expect(BUILD).toMatch(/^[0-9a-f]{16}$/);
  });

  it('the first run that reads the system compiles and writes the cache, the next takes it back; the output is the same', () => {
    const first = run(LIST);
    expect(first).toMatchObject({ status: 0, cache: ['miss', 'wrote'] });
    expect(first.stdout).toContain('States and assignments');
    expect(files()).toEqual([expect.stringMatching(new RegExp(`^vm-state-${BUILD}-[0-9a-f]{8}\\.v8$`))]);
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
      rmSync(dir, { recursive: true, force: true });
      for (const cached of [false, true]) {
        if (cached) run(LIST);
        const r = run(args, { VM_STATE_TRACE: '0' });
        expect(r).toMatchObject({ status: direct.status, stdout: direct.stdout, stderr: direct.stderr });
      }
    }
    expect(run(LIST, { VM_STATE_TRACE: '0' }, BUNDLE).status).toBe(0);
    expect(run(['no-such-command'], {}, BUNDLE).status).toBe(2);
  });

  it('a cache V8 rejects (here: garbage) is compiled around and rewritten', () => {
    run(LIST);
    const file = join(dir, files()[0]!);
    writeFileSync(file, 'not compiled code', { mode: 0o600 });
    expect(run(LIST)).toMatchObject({ status: 0, cache: ['rejected', 'wrote'] });
    expect(readFileSync(file, 'utf8')).not.toBe('not compiled code');
    expect(run(['--version']).cache).toEqual(['hit']);
  });

  it('a directory other users can write is neither read nor written', () => {
    run(LIST);
    chmodSync(dir, 0o777);
    const [name] = files();
    const before = readFileSync(join(dir, name!));
    const r = run(LIST);
    expect(r).toMatchObject({ status: 0, cache: ['not'] });
    expect(r.stderr).toContain(`${dir} is writable by another user`);
    expect(files()).toEqual([name]);
    expect(readFileSync(join(dir, name!)).equals(before)).toBe(true); // Buffer.equals: toEqual walks 700 KB byte by byte
  });

  it.runIf(process.getuid?.() === 0)('a cache file owned by another user is not used', () => {
    run(LIST);
    const file = join(dir, files()[0]!);
    chownSync(file, 65534, 65534);
    const r = run(['--version']);
    expect(r).toMatchObject({ status: 0, stdout: `${VERSION}\n`, cache: ['not'] });
    expect(statSync(file).uid).toBe(65534);
  });

  it('VM_STATE_CACHE_DIR= (empty) turns the cache off', () => {
    const r = run(LIST, { VM_STATE_CACHE_DIR: '' });
    expect(r).toMatchObject({ status: 0, cache: [] });
    expect(existsSync(dir)).toBe(false);
  });

  it('other Node flags get their own file; writing removes other builds and half-written files only', () => {
    run(LIST);
    const mine = files()[0]!;
    writeFileSync(join(dir, 'vm-state-0123456789abcdef-00000000.v8'), 'an older build');
    writeFileSync(join(dir, `${mine}.999999.tmp`), 'a killed write');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    const r = run(LIST, { NODE_OPTIONS: '--no-warnings' });
    expect(r.cache).toEqual(['miss', 'wrote']);
    const other = files().filter((f) => f !== mine && f !== 'notes.txt');
    expect(files()).toEqual([mine, 'notes.txt', ...other].sort());
    expect(other).toEqual([expect.stringMatching(new RegExp(`^vm-state-${BUILD}-[0-9a-f]{8}\\.v8$`))]);
    expect(run(['--version']).cache).toEqual(['hit']);
    expect(run(['--version'], { NODE_OPTIONS: '--no-warnings' }).cache).toEqual(['hit']);
  });
});
