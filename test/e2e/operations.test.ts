// Operations in the lab: auto-snapshot over two simulated weeks (VM_STATE_NOW), its policy
// pruning what it owns and sparing what it must, and scheduled replication to the peer lab.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { costly, hasPeer, ok, P, peer, resetLab, resetPeer, sh, slow, vm } from './lab.js';

/** Dozens of vm-state runs: a few seconds each under TCG (OpenZFS), more on a loaded machine. */
const LONG = slow ? 1_800_000 : 300_000;

const CONFIG = '/etc/vm-state/config.json';
const writeConfig = (json: object) =>
  ok(['sh', '-c', `mkdir -p /etc/vm-state && cat > ${CONFIG}`], { input: JSON.stringify(json) });
const snapshots = async (state: string) =>
  (await ok(['zfs', 'list', '-H', '-t', 'snapshot', '-o', 'name', '-r', `${P}/${state}`]))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((n) => n.split('@')[1]!);
const at = (iso: string, args: string[]) => sh(['env', `VM_STATE_NOW=${iso}`, 'vm-state', ...args]);

describe('auto-snapshot', () => {
  beforeEach(resetLab);
  afterAll(resetLab);

  it(
    'two weeks every 6 hours: the policy keeps the latest, 3 days and 1 week, and spares clones and other names',
    async () => {
      await writeConfig({
        policies: { default: { latest: 1, daily: 3, weekly: 1 } },
        autoSnapshot: { interval: '6h' },
      });
      await ok(['vm-state', 'create', 'web']);
      await ok(['zfs', 'snapshot', `${P}/web@mine`]);
      const start = Date.parse('2026-01-05T00:00:00Z'); // a Monday
      // Under TCG the runs whose snapshots are kept (the first, week 2's newest, each of the last 4 days'),
      // and two the policy prunes (00:00 of the 15th and the 16th, each day's newest taken after them).
      const underTcg = [0, 27, 40, 43, 44, 47, 51, 55];
      const steps = [...Array(56).keys()].filter((i) => !slow || underTcg.includes(i));
      for (const i of steps) {
        const t = new Date(start + i * 6 * 3_600_000).toISOString();
        const r = await at(t, ['auto-snapshot']);
        expect(r.code, `${t}: ${r.stderr}`).toBe(0);
        // A state cloned from its first auto snapshot: that one is never pruned.
        if (i === 0) await ok(['vm-state', 'clone', 'web', 'fork']);
        if (i === 0) await ok(['zfs', 'clone', `${P}/web@auto-20260105T000000Z`, `${P}/fork2`]);
      }
      // A second run in the same period takes none.
      const again = await at('2026-01-18T19:00:00Z', ['--json', 'auto-snapshot', 'web']);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).steps).toEqual([]);
      expect((await snapshots('web')).filter((n) => n.startsWith('auto-'))).toEqual([
        'auto-20260105T000000Z', // fork2 was cloned from it
        'auto-20260111T180000Z', // weekly: the newest of ISO week 2
        'auto-20260115T180000Z', // daily x3
        'auto-20260116T180000Z',
        'auto-20260117T180000Z',
        'auto-20260118T180000Z', // latest
      ]);
      expect(await snapshots('web')).toContain('mine');
      expect(await snapshots('web')).toContain('clone-for-fork');
    },
    LONG,
  );

  costly("the policy's logic and the config; the simulated weeks run its snapshots and prunes on OpenZFS")(
    'prune --policy --dry-run says what each snapshot is kept for and why each goes, and changes nothing',
    async () => {
      await writeConfig({ policies: { default: { latest: 10 }, two: { latest: 2 } } });
      await ok(['vm-state', 'create', 'db']);
      for (const t of ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z'])
        expect((await at(t, ['auto-snapshot', 'db'])).code).toBe(0);
      const r = await vm(['--dry-run', '--json', 'prune', 'db', '--policy', 'two']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).details).toEqual([
        'drop db@auto-20260101T000000Z: older than what the policy keeps (latest 2)',
        'keep db@auto-20260102T000000Z: latest 2 of 2',
        'keep db@auto-20260103T000000Z: latest 1 of 2',
      ]);
      expect(await snapshots('db')).toHaveLength(3);
      const bad = await vm(['prune', 'db', '--policy', 'nope']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("No policy 'nope'");
    },
  );

  costly("the policy's logic and the config; the simulated weeks run its snapshots and prunes on OpenZFS")(
    'a config naming an unknown policy is exit 2 at load, for every command',
    async () => {
      await writeConfig({ autoSnapshot: { policy: 'missing' } });
      const r = await vm(['auto-snapshot']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/autoSnapshot\.policy: names no policy 'missing'/);
      await ok(['rm', CONFIG]);
    },
  );
});

describe.skipIf(!hasPeer)('replicate', () => {
  beforeEach(async () => {
    await Promise.all([resetLab(), resetPeer()]);
    await ok(['rm', '-rf', '/var/lib/vm-state/replication']);
  });
  afterAll(async () => {
    await Promise.all([resetLab(), resetPeer()]);
  });

  costly('due jobs and their records; each send is the one the replication tests check')(
    'runs the jobs that are due, records each result, and a failing job does not stop the others',
    async () => {
      await writeConfig({
        remotes: {
          peer: { destination: 'vmstate-peer' },
          gone: { destination: 'gone.invalid', sshOptions: { ConnectTimeout: '2' } },
        },
        replication: {
          backup: { remote: 'peer', states: ['*'], interval: '1h' },
          offsite: { remote: 'gone', states: ['web'] },
        },
      });
      await ok(['vm-state', 'create', 'web']);
      await ok(['vm-state', 'create', 'db']);
      const first = await at('2026-02-01T10:00:00Z', ['--json', 'replicate']);
      expect(first.code).toBe(1);
      const jobs = JSON.parse(first.stdout).jobs as {
        job: string;
        result: string;
        states: { state: string }[];
      }[];
      expect(jobs.map((j) => [j.job, j.result])).toEqual([
        ['backup', 'ok'],
        ['offsite', 'failed'],
      ]);
      expect(jobs[0]!.states.map((s) => s.state)).toEqual(['db', 'web']);
      expect(await peer.datasetExists(`${peer.P}/web`)).toBe(true);
      const record = JSON.parse(await ok(['cat', '/var/lib/vm-state/replication/backup.json']));
      expect(record).toMatchObject({ job: 'backup', result: 'ok', lastSuccess: '2026-02-01T10:00:00.000Z' });
      const failed = JSON.parse(await ok(['cat', '/var/lib/vm-state/replication/offsite.json']));
      expect(failed).toMatchObject({ result: 'failed', lastSuccess: null });

      // Within the hour: backup is not due; offsite failed, so it is tried again.
      const second = await at('2026-02-01T10:30:00Z', ['--json', 'replicate']);
      const again = JSON.parse(second.stdout).jobs as { job: string; result: string; why?: string }[];
      expect(again.map((j) => [j.job, j.result, j.why])).toEqual([
        ['backup', 'skipped', 'not due'],
        ['offsite', 'failed', undefined],
      ]);
      // Named, it runs whenever asked; an hour later it is due by itself.
      expect((await at('2026-02-01T10:31:00Z', ['replicate', 'backup'])).code).toBe(0);
      const third = await at('2026-02-01T11:40:00Z', ['--json', 'replicate', 'backup']);
      expect(JSON.parse(third.stdout).jobs[0].result).toBe('ok');
      expect((await vm(['replicate', 'nosuch'])).code).toBe(2);
    },
    LONG,
  );
});
