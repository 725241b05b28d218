import { mkdirSync, writeFileSync, existsSync, utimesSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withLock } from '../../src/io/lock.js';
import { runCli } from '../support/cli.js';
import { makeWorld } from '../support/world.js';

describe('the lock', () => {
  it('a second mutating run waits, then fails with exit 6 naming the holder', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    let release!: () => void;
    const held = withLock(w.config.lockFile, 0, 'vm-state migrate (test)', () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 50));
    const r = await runCli(['--wait', '0.3', 'create', 'x'], w);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`pid ${process.pid}`);
    expect(r.stderr).toContain('vm-state migrate (test)');
    expect(w.runner.mutatingCalls).toEqual([]);
    // read-only commands do not take it
    expect((await runCli(['list'], w)).code).toBe(0);
    release();
    await held;
    expect((await runCli(['create', 'x'], w)).code).toBe(0);
  });

  it("a dead holder's lock is broken at once", async () => {
    const w = makeWorld();
    mkdirSync(w.config.lockFile, { recursive: true });
    writeFileSync(`${w.config.lockFile}/owner.json`, JSON.stringify({ pid: 2 ** 22 + 7, command: 'vm-state assign', since: 'then' }));
    // --wait 1 is far shorter than the 15 s after which a lock goes stale: success means it was broken.
    const r = await runCli(['--wait', '1', 'create', 'x'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(w.config.lockFile)).toBe(false); // released afterwards
  });

  it('a lock whose holder stopped refreshing it goes stale, owner file and all (no ENOTEMPTY dead end)', async () => {
    const w = makeWorld();
    mkdirSync(w.config.lockFile, { recursive: true });
    // A live pid (this process) that stopped refreshing the lock: only staleness can free it.
    writeFileSync(`${w.config.lockFile}/owner.json`, JSON.stringify({ pid: process.pid, command: 'vm-state hung', since: 'then' }));
    const old = new Date(Date.now() - 60_000);
    utimesSync(w.config.lockFile, old, old);
    const r = await runCli(['--wait', '1', 'create', 'x'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(w.config.lockFile)).toBe(false);
  });
});
