// vm-state metrics against the real zfs and systemd: its numbers are zfs get's and systemctl
// show's, its file parses as Prometheus text, a change rewrites it, and the read takes no lock.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsOut } from '../../src/schemas/output.js';
import { readExposition, samplesIn, valueOf, type ReadSample } from '../support/prometheus.js';
import { P, costly, ok, resetLab, sh, vm, withDropIn } from './lab.js';

const FILE = '/tmp/x.prom';

// The lab's runs return stdout without its final line feed (execa's default): put it back.
const exp = (stdout: string) => `${stdout}\n`;
const cat = async (path: string) => exp(await ok(['cat', path]));
const SLOTS = ['slot1', 'slot2', 'slot3', 'slot4', 'slot5'];

/** `zfs get -Hp` of used, referenced, available: the numbers metrics must give. */
async function space(dataset: string): Promise<number[]> {
  const out = await ok(['zfs', 'get', '-Hp', '-o', 'value', 'used,referenced,available', dataset]);
  return out.trim().split('\n').map(Number);
}

/** Space, then metrics, then space again, until the two reads agree (zfs-fuse counts late). */
async function metricsWhileStill(
  states: string[],
): Promise<{ samples: ReadSample[]; zfs: Map<string, number[]> }> {
  for (let round = 0; ; round++) {
    const before = await Promise.all([...states, ''].map((s) => space(s ? `${P}/${s}` : P)));
    const r = await vm(['metrics', '--output', FILE]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const text = await cat(FILE);
    const after = await Promise.all([...states, ''].map((s) => space(s ? `${P}/${s}` : P)));
    if (JSON.stringify(before) === JSON.stringify(after) || round === 10) {
      expect(after).toEqual(before);
      return { samples: samplesIn(text), zfs: new Map([...states, ''].map((s, i) => [s, after[i]!])) };
    }
    await sleep(500);
  }
}

/** The child processes a run started, as VM_STATE_TRACE=1 prints them (without their times). */
async function children(args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const r = await sh(['vm-state', ...args], { env: { VM_STATE_TRACE: '1', ...env } });
  expect(r.code, r.stderr).toBe(0);
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('+ '))
    .map((l) => l.replace(/ {2}\[\d+ ms\]$/, ''));
}

describe('vm-state metrics, for real', () => {
  beforeAll(async () => {
    await resetLab();
    for (const s of ['web', 'db']) await ok(['vm-state', 'create', s]);
    await ok(['vm-state', 'assign', 'slot1', 'web']);
    await ok(['vm-state', 'snapshot', 'slot1', 'first']);
    await ok(['sh', '-c', `head -c 3000000 /dev/urandom > /var/lib/microvms/states/web/data.bin`]);
    await ok(['vm-state', 'snapshot', 'slot1', 'second']);
    await ok(['systemctl', 'start', 'microvm@slot1.service']);
  });
  afterAll(resetLab);

  it("its numbers are zfs get's and systemctl show's, and the file parses as Prometheus text", async () => {
    const { samples, zfs } = await metricsWhileStill(['web', 'db']);
    for (const state of ['web', 'db']) {
      const [used, referenced, available] = zfs.get(state)!;
      expect(valueOf(samples, 'vm_state_used_bytes', { state }), state).toBe(used);
      expect(valueOf(samples, 'vm_state_referenced_bytes', { state }), state).toBe(referenced);
      expect(valueOf(samples, 'vm_state_available_bytes', { state }), state).toBe(available);
      expect(valueOf(samples, 'vm_state_mounted', { state })).toBe(1);
    }
    expect(valueOf(samples, 'vm_state_pool_available_bytes', { dataset: P })).toBe(zfs.get('')![2]);
    expect(valueOf(samples, 'vm_state_pool_mounted', { dataset: P })).toBe(1);

    const snaps = (await ok(['zfs', 'list', '-H', '-t', 'snapshot', '-o', 'name', '-r', `${P}/web`])).trim();
    expect(valueOf(samples, 'vm_state_snapshots', { state: 'web' })).toBe(snaps.split('\n').length);
    expect(valueOf(samples, 'vm_state_snapshots', { state: 'db' })).toBe(0);
    const created = await ok(['zfs', 'get', '-Hp', '-o', 'value', 'creation', `${P}/web@second`]);
    expect(valueOf(samples, 'vm_state_newest_snapshot_timestamp_seconds', { state: 'web' })).toBe(
      Number(created.trim()),
    );

    for (const slot of SLOTS) {
      const unit = `microvm@${slot}.service`;
      const active = (await ok(['systemctl', 'show', '-p', 'ActiveState', '--value', unit])).trim();
      expect(valueOf(samples, 'vm_state_slot_running', { slot }), slot).toBe(active === 'active' ? 1 : 0);
    }
    expect(valueOf(samples, 'vm_state_slot_running', { slot: 'slot1' })).toBe(1);
    expect(valueOf(samples, 'vm_state_running', { state: 'web' })).toBe(1);
    expect(valueOf(samples, 'vm_state_running', { state: 'db' })).toBe(0);
    expect(valueOf(samples, 'vm_state_assigned', { state: 'web', slot: 'slot1' })).toBe(1);
    expect(valueOf(samples, 'vm_state_assigned', { state: 'db', slot: '' })).toBe(0);
    expect(valueOf(samples, 'vm_state_slot_info', { slot: 'slot1', state: 'web' })).toBe(1);

    const now = Date.now() / 1000;
    const generated = valueOf(samples, 'vm_state_metrics_generated_timestamp_seconds');
    expect(Math.abs(now - generated)).toBeLessThan(60);
    // Readable by node_exporter's own user, and no temp file left beside it.
    expect((await ok(['stat', '-c', '%a', FILE])).trim()).toBe('644');
    expect((await sh(['sh', '-c', 'ls -a /tmp | grep -c "^\\.x\\.prom\\."'])).stdout.trim()).toBe('0');
  });

  costly('the renderer and the lock; the numbers against zfs are checked above')(
    '--json gives the same samples as the text',
    async () => {
      const r = await vm(['--json', 'metrics']);
      expect(r.code, r.stderr).toBe(0);
      const doc = MetricsOut.parse(JSON.parse(r.stdout));
      const text = exp((await vm(['metrics'])).stdout);
      const names = (xs: { name: string }[]) => [...new Set(xs.map((x) => x.name))];
      expect(doc.families.map((f) => f.name)).toEqual(names(readExposition(text)));
      expect(valueOf(samplesIn(text), 'vm_state_snapshots', { state: 'web' })).toBe(
        doc.families
          .find((f) => f.name === 'vm_state_snapshots')!
          .samples.find((s) => s.labels.state === 'web')!.value,
      );
    },
  );

  costly('the renderer and the lock; the numbers against zfs are checked above')(
    'a mutating command with VM_STATE_METRICS_FILE set rewrites the file',
    async () => {
      const env = { VM_STATE_METRICS_FILE: '/tmp/m.prom' };
      await ok(['vm-state', 'metrics', '--output', '/tmp/m.prom']);
      const before = await cat('/tmp/m.prom');
      expect(valueOf(samplesIn(before), 'vm_state_snapshots', { state: 'web' })).toBe(2);
      const r = await sh(['vm-state', 'snapshot', 'slot1', 'third'], { env });
      expect(r.code, r.stderr).toBe(0);
      const after = await cat('/tmp/m.prom');
      expect(after).not.toBe(before);
      expect(valueOf(samplesIn(after), 'vm_state_snapshots', { state: 'web' })).toBe(3);
      const created = await ok(['zfs', 'get', '-Hp', '-o', 'value', 'creation', `${P}/web@third`]);
      expect(valueOf(samplesIn(after), 'vm_state_newest_snapshot_timestamp_seconds', { state: 'web' })).toBe(
        Number(created.trim()),
      );
      // A command refused before it ran anything leaves the file as it was.
      expect((await sh(['vm-state', 'create', 'web'], { env })).code).toBe(4);
      const refused = await cat('/tmp/m.prom');
      expect(valueOf(samplesIn(refused), 'vm_state_metrics_generated_timestamp_seconds')).toBe(
        valueOf(samplesIn(after), 'vm_state_metrics_generated_timestamp_seconds'),
      );
    },
  );

  costly('the renderer and the lock; the numbers against zfs are checked above')(
    'read-only: the processes list spawns, exactly; no lock, not even a lock directory',
    async () => {
      const list = await children(['list']);
      const metrics = await children(['metrics']);
      expect(metrics).toEqual(list);
      expect(metrics).toHaveLength(2);
      expect(metrics[0]).toMatch(new RegExp(`^\\+ zfs get -H -p -o name,property,value \\S+ -r ${P}$`));
      expect(metrics[1]).toMatch(
        /^\+ systemctl show -p \S+ -- microvm@slot1\.service .*microvm@slot5\.service$/,
      );
      // Where a change cannot even take the lock, metrics runs: it never tries.
      const noLock = { VM_STATE_LOCK_FILE: '/run/nowhere/vm-state.lock' };
      expect((await sh(['vm-state', 'metrics'], { env: noLock })).code).toBe(0);
      expect((await sh(['vm-state', 'create', 'x'], { env: noLock })).code).toBe(3);
    },
  );

  costly('the renderer and the lock; the numbers against zfs are checked above')(
    'while a change holds the lock, metrics answers at once (--wait 0) with what is there',
    async () => {
      await withDropIn('microvm@slot1', 'ExecStop=/bin/sleep 4', async () => {
        const holder = 'vm-state migrate db slot1 >/tmp/holder.out 2>&1 & echo $!';
        const pid = (await ok(['sh', '-c', holder])).trim();
        try {
          for (let i = 0; (await sh(['grep', '-q', `"pid":${pid},`, '/run/vm-state.lock'])).code !== 0; i++) {
            if (i > 100) throw new Error('the holder never took the lock');
            await sleep(50);
          }
          const t0 = Date.now();
          const r = await vm(['--wait', '0', 'metrics']);
          expect(r.code, r.stderr).toBe(0);
          expect(Date.now() - t0).toBeLessThan(3000);
          const s = samplesIn(exp(r.stdout));
          expect(valueOf(s, 'vm_state_assigned', { state: 'web', slot: 'slot1' })).toBe(1);
          // A change in its place is refused at once: the lock is held.
          expect((await vm(['--wait', '0', 'assign', 'slot2', 'web'])).code).toBe(6);
        } finally {
          // The holder finishes before the drop-in goes (and before lab/reset destroys what it uses).
          for (let i = 0; (await sh(['kill', '-0', pid])).code === 0; i++) {
            if (i > 300) throw new Error('the holder did not finish');
            await sleep(100);
          }
        }
      });
      const s = samplesIn(exp((await vm(['metrics'])).stdout));
      expect(valueOf(s, 'vm_state_assigned', { state: 'db', slot: 'slot1' })).toBe(1);
      expect(valueOf(s, 'vm_state_running', { state: 'db' })).toBe(1);
    },
  );
});
