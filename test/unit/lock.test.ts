import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  rmSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { withLock } from '../../src/io/lock.js';
import { startTimeOf } from '../../src/io/process.js';
import { runCli } from '../support/cli.js';
import { makeWorld } from '../support/world.js';

const BUNDLE = fileURLToPath(new URL('../../dist/vm-state.cjs', import.meta.url));

/**
 * A real vm-state run in another process that holds the lock: its `zfs get`
 * (read under the lock) is a stand-in that never answers.
 */
async function holdInChild(lockFile: string): Promise<{ pid: number; kill: (sig: NodeJS.Signals) => void }> {
  const sandbox = mkdtempSync(join(tmpdir(), 'vm-state-holder-'));
  writeFileSync(join(sandbox, 'zfs'), '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
  writeFileSync(join(sandbox, 'config.json'), '{}');
  const child = spawn(process.execPath, [BUNDLE, 'create', 'held'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      PATH: `${sandbox}:${process.env.PATH}`,
      VM_STATE_LOCK_FILE: lockFile,
      VM_STATE_CONFIG: join(sandbox, 'config.json'),
    },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const pid = child.pid!;
  // A loaded machine (CI runs the unit files two at a time) can take seconds
  // to start Node: wait on the lock itself, or on the holder's own end.
  const deadline = Date.now() + 60_000;
  while (!readIfExists(lockFile).includes(`"pid":${pid}`)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the holder never took the lock (exit ${child.exitCode}): ${stderr}`);
    }
    await sleep(20);
  }
  return {
    pid,
    kill: (sig) => {
      child.kill(sig);
      if (sig === 'SIGKILL') spawnSync('pkill', ['-KILL', '-f', `${sandbox}`]);
    },
  };
}

const readIfExists = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');

describe('the lock', () => {
  it('a second mutating run waits, then fails with exit 6 naming the holder', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    let release!: () => void;
    const held = withLock(
      w.config.lockFile,
      0,
      'vm-state migrate (test)',
      () => new Promise<void>((r) => (release = r)),
    );
    await sleep(50);
    const r = await runCli(['--wait', '0.3', 'create', 'x'], w);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`pid ${process.pid}`);
    expect(r.stderr).toContain('vm-state migrate (test)');
    expect(r.stdout).toContain('Waiting for the lock');
    expect(w.runner.mutatingCalls).toEqual([]);
    // read-only commands do not take it
    expect((await runCli(['list'], w)).code).toBe(0);
    release();
    await held;
    expect((await runCli(['create', 'x'], w)).code).toBe(0);
  });

  it('the lock file appears already holding its owner record, and goes with the release', async () => {
    const w = makeWorld();
    const seen: string[] = [];
    await withLock(w.config.lockFile, 0, 'vm-state test', async () => {
      seen.push(readFileSync(w.config.lockFile, 'utf8'));
      // no half-made file lying about: only the lock itself
      seen.push(readdirSync(dirname(w.config.lockFile)).join(','));
    });
    const record = JSON.parse(seen[0]!);
    expect(record).toMatchObject({
      pid: process.pid,
      command: 'vm-state test',
      start: startTimeOf(process.pid),
    });
    expect(seen[1]).toBe('vm-state.lock');
    expect(existsSync(w.config.lockFile)).toBe(false);
  });

  it("a dead holder's lock is free at once, and a stale record of a reused pid names nobody", async () => {
    const w = makeWorld();
    // A record naming this live process, but with another start time: the pid was reused.
    writeFileSync(
      w.config.lockFile,
      JSON.stringify({ pid: process.pid, start: '1', command: 'vm-state assign', since: 'then' }),
    );
    const r = await runCli(['--wait', '0', 'create', 'x'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(w.config.lockFile)).toBe(false); // released afterwards
  });

  it('a holder killed with SIGKILL frees the lock at once; one paused with SIGSTOP keeps it', async () => {
    const w = makeWorld();
    const holder = await holdInChild(w.config.lockFile);
    holder.kill('SIGSTOP');
    await sleep(200);
    const waiting = await runCli(['--wait', '0.5', 'create', 'x'], w);
    expect(waiting.code).toBe(6);
    expect(waiting.stderr).toContain(`pid ${holder.pid} (vm-state create`);
    holder.kill('SIGKILL');
    await sleep(100);
    const r = await runCli(['--wait', '0', 'create', 'x'], w);
    expect(r.code, r.stderr).toBe(0);
  });

  it('two waiters on one dead holder: each gets the lock in turn, never both at once', async () => {
    const w = makeWorld();
    const holder = await holdInChild(w.config.lockFile);
    let inside = 0;
    let most = 0;
    const waiter = () =>
      withLock(w.config.lockFile, 5, 'vm-state waiter', async () => {
        most = Math.max(most, ++inside);
        await sleep(100);
        inside--;
      });
    const both = Promise.all([waiter(), waiter(), waiter()]);
    await sleep(100);
    holder.kill('SIGKILL');
    await both;
    expect(most).toBe(1);
    expect(existsSync(w.config.lockFile)).toBe(false);
  });

  it('a lock file removed under a holder is a lost lock: the plan stops before its next step and undoes', async () => {
    const w = makeWorld();
    // The first step's zfs create also removes the lock file, as an operator's rm would.
    w.runner.respond((argv) => (argv[1] === 'create' ? (rmSync(w.config.lockFile), {}) : undefined));
    const r = await runCli(['create', 'x'], w);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('Lost the lock');
    expect(r.stderr).toContain('was removed');
    expect(w.runner.mutatingCalls.map((c) => c.slice(0, 2).join(' '))).toEqual(['zfs create', 'zfs destroy']);
  });

  it('a lock directory left by an older vm-state is removed when its holder is dead', async () => {
    const w = makeWorld();
    mkdirSync(w.config.lockFile);
    writeFileSync(
      `${w.config.lockFile}/owner.json`,
      JSON.stringify({ pid: 2 ** 22 + 7, command: 'vm-state assign' }),
    );
    const r = await runCli(['--wait', '1', 'create', 'x'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(w.config.lockFile)).toBe(false);
  });

  it("the lock's own failures are clear errors with an exit code from the table, and change nothing", async () => {
    const w = makeWorld();
    const lockFile = join(dirname(w.config.lockFile), 'nowhere', 'vm-state.lock');
    const r = await runCli(['create', 'x'], { ...w, env: { ...w.env, VM_STATE_LOCK_FILE: lockFile } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`the directory ${dirname(lockFile)} does not exist`);
    expect(w.runner.mutatingCalls).toEqual([]);
  });
});
