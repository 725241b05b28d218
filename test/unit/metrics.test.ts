import { mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  escapeHelp,
  escapeLabelValue,
  exposition,
  metricFamilies,
  type Family,
  type JobStatus,
} from '../../src/core/metrics.js';
import { readJobStatuses } from '../../src/io/replication-records.js';
import { ConfigSchema } from '../../src/schemas/config.js';
import { MetricsOut } from '../../src/schemas/output.js';
import { runCli } from '../support/cli.js';
import { facts } from '../support/facts.js';
import { readExposition, samplesIn, valueOf } from '../support/prometheus.js';
import { makeWorld } from '../support/world.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const T = (iso: string) => Date.parse(iso) / 1000;

/** A hypervisor as an operator would describe it: every kind of state and slot the metrics tell apart. */
function hypervisor() {
  const f = facts({
    states: [
      {
        name: 'web',
        snapshots: [
          { name: 'a', created: '2026-02-28T10:00:00Z' },
          { name: 'b', created: '2026-03-01T11:00:00Z' },
        ],
      },
      { name: 'db', snapshots: [{ name: 'x', created: '2026-01-01T00:00:00Z' }] },
      { name: 'copy', replicaOf: 'hv1:copy', mounted: false },
      { name: 'idle' },
      { name: 'slot5', directory: true },
    ],
    running: ['slot1', 'slot3'],
    assignments: { slot1: 'web', slot2: 'web', slot3: 'db' },
    startedOn: { slot3: 'idle' },
  });
  f.states.get('copy')!.syncedAt = '2026-03-01T11:30:00Z';
  f.states.get('web')!.sentTo = [{ remote: 'hv2', name: 'web', at: '2026-03-01T11:05:00Z' }];
  return f;
}

const JOBS: JobStatus[] = [
  { job: 'nightly', remote: 'hv2', interval: '1d', record: null },
  {
    job: 'hourly',
    remote: 'hv2',
    interval: '1h',
    record: {
      job: 'hourly',
      remote: 'hv2',
      lastAttempt: '2026-03-01T11:00:00Z',
      lastSuccess: '2026-03-01T10:00:00Z',
      result: 'failed',
      error: 'ssh: connect to host hv2 port 22: Connection refused',
      bytes: 0,
      states: [{ state: 'web', ok: false, error: 'ssh failed' }],
    },
  },
  {
    job: 'offsite',
    remote: 'hv3',
    interval: '6h',
    record: {
      job: 'offsite',
      remote: 'hv3',
      lastAttempt: '2026-03-01T06:00:00Z',
      lastSuccess: '2026-03-01T06:00:00Z',
      result: 'ok',
      bytes: 123_456_789,
      states: [{ state: 'web', ok: true }],
    },
  },
  { job: 'broken', remote: 'hv2', interval: '1h', record: null, unreadable: 'not JSON' },
];

const text = () => exposition(metricFamilies(hypervisor(), JOBS, NOW));

describe('the metrics renderer', () => {
  it('writes text a Prometheus parser reads back sample for sample', () => {
    const families = metricFamilies(hypervisor(), JOBS, NOW);
    const read = readExposition(exposition(families));
    expect(read.map((f) => f.name)).toEqual(families.map((f) => f.name));
    for (const [i, f] of families.entries()) {
      expect(read[i]!.type).toBe(f.type);
      expect(read[i]!.help).toBe(f.help);
      expect(read[i]!.samples).toEqual(f.samples.map((s) => ({ name: f.name, ...s })));
    }
  });

  it("follows Prometheus' naming: the prefix, base units, no _total on a gauge, HELP on every family", () => {
    for (const f of readExposition(text())) {
      expect(f.name).toMatch(/^vm_state_[a-z_]+$/);
      expect(f.help.length, f.name).toBeGreaterThan(10);
      expect(f.type).toBe('gauge');
      expect(f.name).not.toMatch(/_total$|_count$|_sum$|_bucket$|_ms$|_milliseconds$|_kb$|_mb$/);
      if (/bytes/.test(f.name)) expect(f.name).toMatch(/_bytes$/);
      if (/time/.test(f.name)) expect(f.name).toMatch(/_timestamp_seconds$/);
    }
  });

  it('per state: space, mounted, snapshots, the newest one, slots, running, replica, sync, sends', () => {
    const s = samplesIn(text());
    expect(valueOf(s, 'vm_state_used_bytes', { state: 'web' })).toBe(2048);
    expect(valueOf(s, 'vm_state_referenced_bytes', { state: 'web' })).toBe(1024);
    expect(valueOf(s, 'vm_state_available_bytes', { state: 'web' })).toBe(9000);
    expect(valueOf(s, 'vm_state_mounted', { state: 'copy' })).toBe(0);
    expect(valueOf(s, 'vm_state_mounted', { state: 'web' })).toBe(1);
    expect(valueOf(s, 'vm_state_snapshots', { state: 'web' })).toBe(2);
    expect(valueOf(s, 'vm_state_snapshots', { state: 'idle' })).toBe(0);
    expect(valueOf(s, 'vm_state_newest_snapshot_timestamp_seconds', { state: 'web' })).toBe(
      T('2026-03-01T11:00:00Z'),
    );
    // None yet reads as "at the epoch": `time() - x > 7200` fires for it too.
    expect(valueOf(s, 'vm_state_newest_snapshot_timestamp_seconds', { state: 'idle' })).toBe(0);
    expect(valueOf(s, 'vm_state_assigned', { state: 'web', slot: 'slot1' })).toBe(1);
    expect(valueOf(s, 'vm_state_assigned', { state: 'web', slot: 'slot2' })).toBe(1);
    expect(valueOf(s, 'vm_state_assigned', { state: 'idle' })).toBe(0);
    expect(s.find((x) => x.name === 'vm_state_assigned' && x.labels.state === 'idle')!.labels.slot).toBe('');
    expect(valueOf(s, 'vm_state_running', { state: 'web' })).toBe(1);
    // slot3 is assigned db but its VM started on idle and has not restarted: idle runs, db does not.
    expect(valueOf(s, 'vm_state_running', { state: 'idle' })).toBe(1);
    expect(valueOf(s, 'vm_state_running', { state: 'db' })).toBe(0);
    expect(valueOf(s, 'vm_state_replica', { state: 'copy', source: 'hv1:copy' })).toBe(1);
    expect(valueOf(s, 'vm_state_replica', { state: 'web', source: '' })).toBe(0);
    expect(valueOf(s, 'vm_state_replica_synced_timestamp_seconds', { state: 'copy' })).toBe(
      T('2026-03-01T11:30:00Z'),
    );
    expect(s.filter((x) => x.name === 'vm_state_replica_synced_timestamp_seconds')).toHaveLength(1);
    expect(
      valueOf(s, 'vm_state_sent_timestamp_seconds', { state: 'web', remote: 'hv2', target: 'web' }),
    ).toBe(T('2026-03-01T11:05:00Z'));
  });

  it('a plain-directory state has no space samples (ZFS knows none) but everything else', () => {
    const s = samplesIn(text());
    for (const name of ['vm_state_used_bytes', 'vm_state_referenced_bytes', 'vm_state_available_bytes'])
      expect(s.filter((x) => x.name === name && x.labels.state === 'slot5')).toEqual([]);
    expect(valueOf(s, 'vm_state_snapshots', { state: 'slot5' })).toBe(0);
    expect(valueOf(s, 'vm_state_assigned', { state: 'slot5', slot: 'slot5' })).toBe(1);
  });

  it('per slot: running and its state; the pool: mounted and free bytes; when they were generated', () => {
    const s = samplesIn(text());
    expect(
      ['slot1', 'slot2', 'slot3', 'slot4', 'slot5'].map((slot) =>
        valueOf(s, 'vm_state_slot_running', { slot }),
      ),
    ).toEqual([1, 0, 1, 0, 0]);
    expect(
      valueOf(s, 'vm_state_slot_info', { slot: 'slot3', state: 'db', unit: 'microvm@slot3.service' }),
    ).toBe(1);
    expect(valueOf(s, 'vm_state_pool_mounted', { dataset: 'tank/states' })).toBe(1);
    expect(valueOf(s, 'vm_state_pool_available_bytes', { dataset: 'tank/states' })).toBe(9000);
    expect(valueOf(s, 'vm_state_metrics_generated_timestamp_seconds')).toBe(T('2026-03-01T12:00:00Z'));
  });

  it('no parent dataset: the pool reads unmounted, with no free bytes and no states', () => {
    const s = samplesIn(exposition(metricFamilies(facts({ parentExists: false }), [], NOW)));
    expect(valueOf(s, 'vm_state_pool_mounted')).toBe(0);
    expect(s.filter((x) => x.name === 'vm_state_pool_available_bytes')).toEqual([]);
    expect(s.filter((x) => x.labels.state !== undefined && x.name !== 'vm_state_slot_info')).toEqual([]);
  });

  it('per job: last success, last attempt, the result as one sample per value, bytes, interval', () => {
    const s = samplesIn(text());
    const result = (job: string) =>
      Object.fromEntries(
        s
          .filter((x) => x.name === 'vm_state_replication_last_result' && x.labels.job === job)
          .map((x) => [x.labels.result, x.value]),
      );
    expect(result('nightly')).toEqual({ ok: 0, failed: 0, never: 1, unknown: 0 });
    expect(result('hourly')).toEqual({ ok: 0, failed: 1, never: 0, unknown: 0 });
    expect(result('offsite')).toEqual({ ok: 1, failed: 0, never: 0, unknown: 0 });
    expect(result('broken')).toEqual({ ok: 0, failed: 0, never: 0, unknown: 1 });
    const at = (name: string, job: string) => valueOf(s, `vm_state_replication_${name}`, { job });
    expect(at('last_success_timestamp_seconds', 'hourly')).toBe(T('2026-03-01T10:00:00Z'));
    expect(at('last_attempt_timestamp_seconds', 'hourly')).toBe(T('2026-03-01T11:00:00Z'));
    expect(at('last_success_timestamp_seconds', 'nightly')).toBe(0);
    expect(at('last_attempt_timestamp_seconds', 'nightly')).toBe(0);
    expect(at('last_sent_bytes', 'offsite')).toBe(123_456_789);
    expect(at('interval_seconds', 'nightly')).toBe(86_400);
    expect(valueOf(s, 'vm_state_replication_interval_seconds', { job: 'offsite', remote: 'hv3' })).toBe(
      21_600,
    );
    // Jobs in name order, whatever order they came in.
    expect([...new Set(s.filter((x) => x.labels.job).map((x) => x.labels.job))]).toEqual([
      'broken',
      'hourly',
      'nightly',
      'offsite',
    ]);
  });

  it('no jobs, no states: only what is always there, and no family without samples', () => {
    const families = metricFamilies(facts(), [], NOW);
    expect(families.every((f) => f.samples.length > 0)).toBe(true);
    expect(families.map((f) => f.name)).toEqual([
      'vm_state_slot_running',
      'vm_state_slot_info',
      'vm_state_pool_mounted',
      'vm_state_pool_available_bytes',
      'vm_state_trash_entries',
      'vm_state_trash_bytes',
      'vm_state_metrics_generated_timestamp_seconds',
    ]);
  });
});

describe('escaping', () => {
  const family = (help: string, value: string): Family => ({
    name: 'vm_state_test',
    help,
    type: 'gauge',
    samples: [{ labels: { v: value }, value: 1 }],
  });

  it.each([
    ['a backslash', 'C:\\dir\\file'],
    ['a double quote', 'say "hi"'],
    ['a line feed', 'two\nlines'],
    ['all of them and a trailing backslash', '\\"\n\\n"\\'],
    ['braces, commas and equals signs', 'a{b="c"},d=e'],
    ['unicode', 'zürich ☃'],
    ['empty', ''],
  ])('a label value with %s reads back as it was', (_, value) => {
    const [read] = readExposition(exposition([family('x', value)]));
    expect(read!.samples[0]!.labels.v).toBe(value);
  });

  it('a HELP text with a backslash and a line feed reads back as it was; its quotes stay', () => {
    const help = 'path C:\\x\nsecond "line"';
    expect(readExposition(exposition([family(help, 'v')]))[0]!.help).toBe(help);
    expect(escapeHelp(help)).toBe('path C:\\\\x\\nsecond "line"');
  });

  it('the escapes, as the format defines them', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(exposition([family('h', 'a"b')])).toBe(
      '# HELP vm_state_test h\n# TYPE vm_state_test gauge\nvm_state_test{v="a\\"b"} 1\n',
    );
  });

  it('values from ZFS properties anyone can set (a replica source, a sent-to remote) are escaped', () => {
    const f = facts({ states: [{ name: 'web', replicaOf: 'h"o\\st\nx:web' }] });
    f.states.get('web')!.sentTo = [{ remote: 'r"1', name: 'w\\eb', at: 'garbage' }];
    const s = samplesIn(exposition(metricFamilies(f, [], NOW)));
    expect(valueOf(s, 'vm_state_replica', { source: 'h"o\\st\nx:web' })).toBe(1);
    // A time that does not parse is "not known": 0, never NaN.
    expect(valueOf(s, 'vm_state_sent_timestamp_seconds', { remote: 'r"1', target: 'w\\eb' })).toBe(0);
    expect(valueOf(s, 'vm_state_replica_synced_timestamp_seconds', { state: 'web' })).toBe(0);
  });
});

describe("the replication jobs' records", () => {
  const world = () => {
    const w = makeWorld();
    const c = ConfigSchema.parse({
      ...w.config,
      stateDir: join(w.root, 'state'),
      remotes: { hv2: { destination: 'root@hv2' } },
      replication: {
        ok: { remote: 'hv2', states: ['*'] },
        never: { remote: 'hv2', states: ['web'], interval: '15m' },
        garbled: { remote: 'hv2', states: ['*'] },
        wrong: { remote: 'hv2', states: ['*'] },
        folder: { remote: 'hv2', states: ['*'] },
      },
    });
    const dir = join(c.stateDir, 'replication');
    mkdirSync(dir, { recursive: true });
    const record = {
      job: 'ok',
      remote: 'hv2',
      lastAttempt: '2026-03-01T11:00:00.000Z',
      lastSuccess: '2026-03-01T11:00:00.000Z',
      result: 'ok',
      bytes: 4096,
      states: [{ state: 'web', ok: true }],
    };
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(record));
    writeFileSync(join(dir, 'garbled.json'), '{"job": "garbled", "lastAtt');
    writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ ...record, job: 'wrong', result: 'maybe' }));
    mkdirSync(join(dir, 'folder.json'));
    writeFileSync(join(dir, 'gone.json'), JSON.stringify({ ...record, job: 'gone' })); // no longer configured
    return { w, c };
  };

  it('a missing file: never ran; a record: as it says; a broken one: why, never a guess', () => {
    const { c } = world();
    const jobs = Object.fromEntries(readJobStatuses(c).map((j) => [j.job, j]));
    expect(Object.keys(jobs)).toEqual(['folder', 'garbled', 'never', 'ok', 'wrong']);
    expect(jobs.never).toEqual({ job: 'never', remote: 'hv2', interval: '15m', record: null });
    expect(jobs.ok!.record).toMatchObject({ result: 'ok', bytes: 4096 });
    expect(jobs.ok!.unreadable).toBeUndefined();
    expect(jobs.garbled!.unreadable).toMatch(/garbled\.json is not JSON/);
    expect(jobs.wrong!.unreadable).toMatch(/wrong\.json: field result/);
    expect(jobs.folder!.unreadable).toMatch(/folder\.json: .*EISDIR/);
    for (const j of ['garbled', 'wrong', 'folder']) expect(jobs[j]!.record).toBeNull();
  });

  it('vm-state metrics reads them: the broken ones are unknown, with a warning each', async () => {
    const { w, c } = world();
    writeFileSync(w.env.VM_STATE_CONFIG, JSON.stringify(c));
    const r = await runCli(['metrics'], { runner: w.runner, env: w.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/\[WARN\] Replication job/g)).toHaveLength(3);
    const s = samplesIn(r.stdout);
    expect(valueOf(s, 'vm_state_replication_last_result', { job: 'ok', result: 'ok' })).toBe(1);
    expect(valueOf(s, 'vm_state_replication_last_sent_bytes', { job: 'ok' })).toBe(4096);
    expect(valueOf(s, 'vm_state_replication_last_result', { job: 'never', result: 'never' })).toBe(1);
    expect(valueOf(s, 'vm_state_replication_last_result', { job: 'wrong', result: 'unknown' })).toBe(1);
    expect(s.some((x) => x.labels.job === 'gone')).toBe(false);
  });
});

describe('vm-state metrics', () => {
  const world = () =>
    makeWorld({
      states: [{ name: 'web', snapshots: ['s1', 's2'] }, { name: 'db' }],
      running: ['slot1'],
      assignments: { slot1: 'web' },
    });

  it('read-only: exactly the two reads list makes, no lock, not even as root', async () => {
    const w = world();
    const list = await runCli(['list'], { runner: w.runner, env: w.env });
    const listCalls = w.runner.calls.splice(0);
    const r = await runCli(['metrics'], { runner: w.runner, env: w.env, euid: 1000 });
    expect(r.code, r.stderr).toBe(0);
    expect(list.code).toBe(0);
    expect(w.runner.calls).toEqual(listCalls);
    expect(w.runner.calls.map((c) => c.slice(0, 3).join(' '))).toEqual(['zfs get -H', 'systemctl show -p']);
    expect(w.runner.calls[0]).toContain('-r');
    expect(existsSync(w.config.lockFile)).toBe(false);
    const s = samplesIn(r.stdout);
    expect(valueOf(s, 'vm_state_snapshots', { state: 'web' })).toBe(2);
    expect(valueOf(s, 'vm_state_slot_running', { slot: 'slot1' })).toBe(1);
  });

  it('--output FILE: the file, replaced whole, no temp file left, nothing on stdout', async () => {
    const w = world();
    const file = join(w.root, 'vm-state.prom');
    writeFileSync(file, 'old\n');
    const r = await runCli(['metrics', '--output', file], { runner: w.runner, env: w.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const s = samplesIn(readFileSync(file, 'utf8'));
    expect(valueOf(s, 'vm_state_used_bytes', { state: 'db' })).toBe(2048);
    expect(readdirSync(w.root).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it('--output into a directory that does not exist: exit 3, and it says which file', async () => {
    const w = world();
    const r = await runCli(['metrics', '--output', join(w.root, 'nowhere', 'x.prom')], {
      runner: w.runner,
      env: w.env,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Cannot write the metrics file');
  });

  it('--dry-run --output: the text on stdout, the file left as it is', async () => {
    const w = world();
    const file = join(w.root, 'vm-state.prom');
    const r = await runCli(['--dry-run', 'metrics', '--output', file], { runner: w.runner, env: w.env });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(samplesIn(r.stdout.replace(/^\[INFO\].*\n/, '')).length).toBeGreaterThan(10);
  });

  it('--json: the same samples as the text, in the schema', async () => {
    const w = world();
    const file = join(w.root, 'vm-state.prom');
    const r = await runCli(['--json', 'metrics', '--output', file], { runner: w.runner, env: w.env });
    expect(r.code, r.stderr).toBe(0);
    const doc = MetricsOut.parse(JSON.parse(r.stdout));
    const fromText = samplesIn(readFileSync(file, 'utf8')).filter(
      (x) => x.name !== 'vm_state_metrics_generated_timestamp_seconds',
    );
    const fromJson = doc.families
      .flatMap((f) => f.samples.map((s) => ({ name: f.name, ...s })))
      .filter((x) => x.name !== 'vm_state_metrics_generated_timestamp_seconds');
    expect(fromJson).toEqual(fromText);
    expect(Date.parse(doc.generatedAt)).toBeGreaterThan(0);
  });
});

describe('after every mutating command (config metricsFile, env VM_STATE_METRICS_FILE)', () => {
  const world = () => {
    const w = makeWorld({ states: [{ name: 'web' }] });
    const file = join(w.root, 'vm-state.prom');
    return { w, file, env: { ...w.env, VM_STATE_METRICS_FILE: file } };
  };

  it('a change rewrites the file from facts read after it', async () => {
    const { w, file, env } = world();
    const r = await runCli(['create', 'db'], { runner: w.runner, env });
    expect(r.code, r.stderr).toBe(0);
    // The refresh is the last thing read: one zfs get -r and one systemctl show after the create.
    const after = w.runner.calls.slice(w.runner.calls.findIndex((c) => c[1] === 'create'));
    expect(after.filter((c) => c[1] === 'get' && c.includes('-r'))).toHaveLength(1);
    expect(after.filter((c) => c[0] === 'systemctl' && c[1] === 'show')).toHaveLength(1);
    expect(valueOf(samplesIn(readFileSync(file, 'utf8')), 'vm_state_mounted', { state: 'web' })).toBe(1);
  });

  it('a command that failed and was undone rewrites it too', async () => {
    const { w, file, env } = world();
    w.runner.failAt(1);
    const r = await runCli(['create', 'db'], { runner: w.runner, env });
    expect(r.code).toBe(1);
    expect(existsSync(file)).toBe(true);
  });

  it('a refusal before anything ran, and --dry-run, leave it alone', async () => {
    const { w, file, env } = world();
    expect((await runCli(['create', 'web'], { runner: w.runner, env })).code).toBe(4);
    expect((await runCli(['--dry-run', 'create', 'x'], { runner: w.runner, env })).code).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it('a file that cannot be written is a warning; the command still succeeds', async () => {
    const { w, env } = world();
    const bad = { ...env, VM_STATE_METRICS_FILE: join(w.root, 'nowhere', 'x.prom') };
    const r = await runCli(['create', 'db'], { runner: w.runner, env: bad });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[WARN\] The metrics file was not refreshed: Cannot write the metrics file/);
  });

  it('without metricsFile, a change reads nothing more', async () => {
    const w = makeWorld({ states: [{ name: 'web' }] });
    await runCli(['create', 'db'], { runner: w.runner, env: w.env });
    expect(w.runner.calls.filter((c) => c[1] === 'get' && c.includes('-r'))).toHaveLength(0);
  });

  it('a relative path is a config error', async () => {
    const { w, env } = world();
    const r = await runCli(['list'], { runner: w.runner, env: { ...env, VM_STATE_METRICS_FILE: 'x.prom' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('metricsFile');
  });
});

describe('the test parser itself', () => {
  it.each([
    ['a sample before its HELP', 'x 1\n# HELP x h\n# TYPE x gauge\n'],
    [
      'a family split in two',
      '# HELP x h\n# TYPE x gauge\nx{a="1"} 1\n# HELP y h\n# TYPE y gauge\ny 1\nx{a="2"} 1\n',
    ],
    ['one label set twice', '# HELP x h\n# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n'],
    ['a timestamp', '# HELP x h\n# TYPE x gauge\nx 1 1700000000000\n'],
    ['a bad metric name', '# HELP 1x h\n# TYPE 1x gauge\n1x 1\n'],
    ['no final line feed', '# HELP x h\n# TYPE x gauge\nx 1'],
    ['an unterminated label value', '# HELP x h\n# TYPE x gauge\nx{a="1} 1\n'],
  ])('refuses %s', (_, bad) => {
    expect(() => readExposition(bad)).toThrow();
  });
});
