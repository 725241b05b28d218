// The lock under a machine's real conditions: a holder paused or killed, a CPU
// starved by busy loops, the lock's directory missing or read-only. On both
// backends: the defect these guard against was found in the slow OpenZFS guest.
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect } from 'vitest';
import {
  assignments,
  costly,
  datasetExists,
  ok,
  P,
  readLinkIn,
  resetLab,
  sh,
  STATES,
  vm,
  withDropIn,
} from './lab.js';

const LOCK = '/run/vm-state.lock';
const isRunning = async (pid: string) => (await sh(['kill', '-0', pid])).code === 0;

/**
 * Starts `vm-state migrate b slot1` in the lab while slot1 runs `a` with a slow stop, and
 * returns its pid once it holds the lock (it then waits seconds for the stop).
 */
async function holderInSlowStop(): Promise<string> {
  const pid = (await ok(['sh', '-c', 'vm-state migrate b slot1 >/tmp/holder.out 2>&1 & echo $!'])).trim();
  for (let i = 0; (await sh(['grep', '-q', `"pid":${pid},`, LOCK])).code !== 0; i++) {
    if (i > 100) throw new Error('the holder never took the lock');
    await sleep(50);
  }
  return pid;
}

/** Starts a command in the lab in the background; returns its pid and a way to wait for its exit code. */
async function background(argv: string[]) {
  const pid = (await ok(['sh', '-c', `${argv.join(' ')} >/tmp/bg-$$.out 2>&1 & echo $!`])).trim();
  return {
    pid,
    exited: async () => {
      for (let i = 0; await isRunning(pid); i++) {
        if (i > 1200) throw new Error(`${argv.join(' ')} did not finish`);
        await sleep(100);
      }
    },
  };
}

describe('the lock, for real', () => {
  beforeEach(async () => {
    await resetLab();
    for (const s of ['a', 'b', 'c']) await ok(['vm-state', 'create', s]);
    await ok(['vm-state', 'migrate', 'a', 'slot1']);
  });

  costly('the lock is flock and the lock file: the same whatever the ZFS')(
    'a holder paused with SIGSTOP for 20 s keeps the lock; the waiter waits, and both changes land',
    async () => {
      await withDropIn('microvm@slot1', 'ExecStop=/bin/sleep 3', async () => {
        const holder = await holderInSlowStop();
        await ok(['kill', '-STOP', holder]);
        const waiter = await background(['vm-state', '--wait', '120', 'assign', 'slot2', 'c']);
        // Longer than the 15 s after which the old lock was judged stale.
        await sleep(20_000);
        expect(await isRunning(waiter.pid)).toBe(true);
        expect((await assignments())?.slot2).toBeUndefined();
        expect((await ok(['cat', LOCK])).includes(`"pid":${holder},`)).toBe(true);
        await ok(['kill', '-CONT', holder]);
        await waiter.exited();
        for (; await isRunning(holder);) await sleep(100);
      });
      expect(await assignments()).toEqual({ slot1: 'b', slot2: 'c' });
      expect(await readLinkIn('/var/lib/microvms/slot1/data.img')).toBe(`${STATES}/b/data.img`);
      expect(await readLinkIn('/var/lib/microvms/slot2/data.img')).toBe(`${STATES}/c/data.img`);
      expect((await sh(['test', '-e', LOCK])).code).toBe(1); // released
    },
    120_000,
  );

  costly('the lock is flock and the lock file: the same whatever the ZFS')(
    'a holder killed with SIGKILL frees the lock at once',
    async () => {
      await withDropIn('microvm@slot1', 'ExecStop=/bin/sleep 3', async () => {
        const holder = await holderInSlowStop();
        await ok(['kill', '-KILL', holder]);
        // No wait allowed: the kernel released the lock with the process.
        const r = await vm(['--wait', '0', 'assign', 'slot2', 'c']);
        expect(r.code, r.stderr).toBe(0);
      });
      expect((await assignments())?.slot2).toBe('c');
    },
    60_000,
  );

  costly('the lock is flock and the lock file: the same whatever the ZFS')(
    '24 concurrent assigns with the CPU starved by busy loops: all succeed, the file and every link agree',
    async () => {
      for (const s of ['d', 'e']) await ok(['vm-state', 'create', s]);
      const loops = await ok([
        'sh',
        '-c',
        'for i in 1 2 3 4; do (while :; do :; done) >/dev/null 2>&1 & done; jobs -p',
      ]);
      const states = ['a', 'b', 'c', 'd', 'e'];
      try {
        const runs = await Promise.all(
          Array.from({ length: 24 }, (_, i) =>
            vm(['--wait', '600', 'assign', `slot${(i % 5) + 1}`, states[(i * 7) % 5]!]).then((r) => ({
              i,
              ...r,
            })),
          ),
        );
        for (const r of runs) expect(r.code, `assign #${r.i}: ${r.stderr}`).toBe(0);
      } finally {
        await sh(['sh', '-c', `pkill -f 'while :; do :; done' || true`]);
        await sh(['kill', ...loops.split(/\s+/).filter(Boolean)]);
      }
      const file = (await assignments())!;
      expect(Object.keys(file).sort()).toEqual(['slot1', 'slot2', 'slot3', 'slot4', 'slot5']);
      for (const [slot, state] of Object.entries(file)) {
        expect(await readLinkIn(`/var/lib/microvms/${slot}/data.img`), slot).toBe(
          `${STATES}/${state}/data.img`,
        );
      }
      expect((await vm(['doctor'])).code).toBe(0);
    },
    600_000,
  );

  costly('the lock is flock and the lock file: the same whatever the ZFS')(
    "the lock's directory missing or read-only: a clear error, its exit code, nothing changed",
    async () => {
      const missing = await sh(['vm-state', 'create', 'x'], {
        env: { VM_STATE_LOCK_FILE: '/run/nowhere/vm-state.lock' },
      });
      expect(missing.code).toBe(3);
      expect(missing.stderr).toContain('the directory /run/nowhere does not exist');
      await ok(['mkdir', '-p', '/run/rolock']);
      await ok(['mount', '-t', 'tmpfs', '-o', 'ro', 'tmpfs', '/run/rolock']);
      try {
        const ro = await sh(['vm-state', 'create', 'x'], {
          env: { VM_STATE_LOCK_FILE: '/run/rolock/vm-state.lock' },
        });
        expect(ro.code).toBe(1);
        expect(ro.stderr).toContain('read-only file system');
        expect(ro.stderr).not.toContain('Unexpected');
      } finally {
        await sh(['umount', '/run/rolock']);
      }
      expect(await datasetExists(`${P}/x`)).toBe(false);
    },
  );
});
