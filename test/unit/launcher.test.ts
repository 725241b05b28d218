// bin/vm-state, the launcher that runs the bundle through V8's code cache:
// real node processes, a real cache directory, every way the cache can be off.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const LAUNCHER = join(ROOT, 'bin', 'vm-state');
const BUNDLE = join(ROOT, 'dist', 'vm-state.cjs');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
const BUILD = /^\/\/ vm-state build ([0-9a-f]{16})\n/.exec(readFileSync(BUNDLE, 'utf8'))?.[1];

let dir: string;
beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'vm-state-launcher-')), 'cache');
});
afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}, file = LAUNCHER) {
  const r = spawnSync(process.execPath, [file, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, VM_STATE_CACHE_DIR: dir, VM_STATE_TRACE: '1', NO_COLOR: '1', ...env },
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

  it('first run compiles and writes the cache, the next takes it back; the output is the same', () => {
    const first = run(['--version']);
    expect(first).toMatchObject({ status: 0, stdout: `${VERSION}\n`, cache: ['miss', 'wrote'] });
    expect(files()).toEqual([expect.stringMatching(new RegExp(`^vm-state-${BUILD}-[0-9a-f]{8}\\.v8$`))]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, files()[0]!)).mode & 0o777).toBe(0o600);

    const second = run(['--version']);
    expect(second).toMatchObject({ status: 0, stdout: first.stdout, cache: ['hit'] });
  });

  it('runs exactly like the bundle itself: output and exit code, with and without a cache', () => {
    const direct = run(['no-such-command'], { VM_STATE_TRACE: '0' }, BUNDLE);
    expect(direct.status).toBe(2);
    for (const expected of [['miss', 'wrote'], ['hit']]) {
      const r = run(['no-such-command']);
      expect(r).toMatchObject({ status: 2, stdout: direct.stdout, cache: expected });
      expect(r.stderr.replace(/^# code cache: .*\n/gm, '')).toBe(direct.stderr);
    }
  });

  it('a cache V8 rejects (here: garbage) is compiled around and rewritten', () => {
    run(['--version']);
    const file = join(dir, files()[0]!);
    writeFileSync(file, 'not compiled code', { mode: 0o600 });
    expect(run(['--version'])).toMatchObject({ status: 0, stdout: `${VERSION}\n`, cache: ['rejected', 'wrote'] });
    expect(readFileSync(file, 'utf8')).not.toBe('not compiled code');
    expect(run(['--version']).cache).toEqual(['hit']);
  });

  it('a directory other users can write is neither read nor written', () => {
    run(['--version']);
    chmodSync(dir, 0o777);
    const before = files().map((f) => readFileSync(join(dir, f)));
    const r = run(['--version']);
    expect(r).toMatchObject({ status: 0, stdout: `${VERSION}\n`, cache: ['not'] });
    expect(r.stderr).toContain(`${dir} is writable by another user`);
    expect(files().map((f) => readFileSync(join(dir, f)))).toEqual(before);
  });

  it.runIf(process.getuid?.() === 0)('a cache file owned by another user is not used', () => {
    run(['--version']);
    const file = join(dir, files()[0]!);
    chownSync(file, 65534, 65534);
    const r = run(['--version']);
    expect(r).toMatchObject({ status: 0, stdout: `${VERSION}\n`, cache: ['not'] });
    expect(statSync(file).uid).toBe(65534);
  });

  it('VM_STATE_CACHE_DIR= (empty) turns the cache off', () => {
    const r = run(['--version'], { VM_STATE_CACHE_DIR: '' });
    expect(r).toMatchObject({ status: 0, stdout: `${VERSION}\n`, cache: [] });
    expect(existsSync(dir)).toBe(false);
  });

  it('other Node flags get their own file; writing removes other builds and half-written files only', () => {
    run(['--version']);
    const mine = files()[0]!;
    writeFileSync(join(dir, 'vm-state-0123456789abcdef-00000000.v8'), 'an older build');
    writeFileSync(join(dir, `${mine}.999999.tmp`), 'a killed write');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    const r = run(['--version'], { NODE_OPTIONS: '--no-warnings' });
    expect(r.cache).toEqual(['miss', 'wrote']);
    const other = files().filter((f) => f !== mine && f !== 'notes.txt');
    expect(files()).toEqual([mine, 'notes.txt', ...other].sort());
    expect(other).toEqual([expect.stringMatching(new RegExp(`^vm-state-${BUILD}-[0-9a-f]{8}\\.v8$`))]);
    expect(run(['--version']).cache).toEqual(['hit']);
    expect(run(['--version'], { NODE_OPTIONS: '--no-warnings' }).cache).toEqual(['hit']);
  });
});
