// Issue 14's proof that the units nix/module.nix defines run under a real systemd: the module is
// evaluated offline (nix/checks/units.nix, nixpkgs' real lib), its units rendered as NixOS renders
// them (./nixos-units.ts) and installed in the lab, then each service is started by systemctl,
// sandbox and all, and must do its work; each timer, once started, must have a next elapse.
// nix-instantiate and the lib are needed: without them this fails (CI installs nix-bin and copies
// shared/ beside the checkout), it never skips.
// On zfs-fuse, zfs speaks to its daemon over a unix socket: the metrics unit's DeviceAllow=/dev/zfs
// is proven by the same test on OpenZFS (LAB_BACKEND=openzfs), where zfs opens /dev/zfs.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { samplesIn, valueOf } from '../support/prometheus.js';
import { costly, ok, P, resetLab, sh, slow } from './lab.js';
import { PACKAGE_DIR, renderUnits, type LabFile, type UnitsExport } from './nixos-units.js';

const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const SNAPSHOT = 'vm-state-auto-snapshot';
const REPLICATE = 'vm-state-replicate';
const METRICS = 'vm-state-metrics';
const STATES = ['web', 'db'];

/** units.nix evaluated as nix/checks/run.sh evaluates the checks: read-only store, a lib warning fails. */
async function exportUnits(): Promise<UnitsExport> {
  const lib = resolve(process.env.NIXPKGS_LIB ?? join(ROOT, '..', 'shared', 'nixpkgs-lib', 'lib'));
  if (!existsSync(join(lib, 'default.nix')))
    throw new Error(
      `no nixpkgs lib at ${lib}: set NIXPKGS_LIB, or put shared/ beside the checkout as CI does`,
    );
  const file = join(ROOT, 'nix', 'checks', 'units.nix');
  const r = await execa(
    'nix-instantiate',
    ['--readonly-mode', '--eval', '--strict', '--json', file, '--argstr', 'root', ROOT],
    { reject: false, env: { NIXPKGS_LIB: lib, NIX_REMOTE: '', NIX_ABORT_ON_WARN: '1' } },
  );
  if ((r as { code?: string }).code === 'ENOENT')
    throw new Error('nix-instantiate is missing: apt-get install nix-bin (CI does)');
  if (r.exitCode !== 0) throw new Error(`nix-instantiate ${file} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as UnitsExport;
}

/** Puts the files in the lab in one run (one lab/exec a file costs seconds under load). */
async function install(files: LabFile[]): Promise<void> {
  const script = `
    const fs = require('node:fs');
    const path = require('node:path');
    for (const f of JSON.parse(fs.readFileSync(0, 'utf8'))) {
      fs.mkdirSync(path.dirname(f.path), { recursive: true });
      fs.rmSync(f.path, { force: true });
      if (f.link !== undefined) fs.symlinkSync(f.link, f.path);
      else fs.writeFileSync(f.path, f.text, { mode: parseInt(f.mode, 8) });
    }`;
  await ok(['node', '-e', script], { input: JSON.stringify(files) });
}

/**
 * Settings systemctl show gives in a form of its own: the command line, the expanded syscall
 * list, the architecture's name, the errno's number, the address list `any` stands for.
 */
const SHOWN_OTHERWISE = [
  'ExecStart',
  'SystemCallFilter',
  'SystemCallArchitectures',
  'SystemCallErrorNumber',
  'IPAddressDeny',
];
/** A unit setting as systemctl show prints it: yes/no, a list space-joined. */
const asShown = (v: unknown): string =>
  v === true ? 'yes' : v === false ? 'no' : Array.isArray(v) ? v.map(asShown).join(' ') : String(v);

/** systemctl show's values of `unit`, by property. */
async function show(unit: string, ...props: string[]): Promise<Record<string, string>> {
  const out = await ok(['systemctl', 'show', ...props.flatMap((p) => ['-p', p]), unit]);
  return Object.fromEntries(
    out.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

type Entry = Record<string, unknown>;

const entries = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Entry);

/**
 * What the journal holds of the unit's last run: systemd's messages about it, its output, and
 * vm-state's own entries. Those are sent by a `logger` that exits at once, often before journald
 * has read its cgroup, so they may lack _SYSTEMD_UNIT: found by SYSLOG_PID, vm-state's pid, one of
 * the run's processes (the main one, the wrapper execs node; and each that wrote to the journal:
 * a oneshot may have several ExecStart=), from the run's first message on.
 */
async function lastRun(unit: string): Promise<Entry[]> {
  const { InvocationID: id, ExecMainPID: pid } = await show(unit, 'InvocationID', 'ExecMainPID');
  await ok(['journalctl', '--sync']);
  const json = ['--output=json', '--all', '--no-pager'];
  const run = entries(await ok(['journalctl', '-u', unit, ...json])).filter(
    (e) => e.INVOCATION_ID === id || e._SYSTEMD_INVOCATION_ID === id,
  );
  const from = Number(run[0]?.__REALTIME_TIMESTAMP ?? Infinity);
  const pids = new Set([pid, ...run.filter((e) => e._SYSTEMD_INVOCATION_ID === id).map((e) => e._PID)]);
  if (!run.length) return [];
  const since = `--since=@${Math.floor(from / 1e6)}`; // the lab's whole journal is long by then
  const own = entries(await ok(['journalctl', 'SYSLOG_IDENTIFIER=vm-state', since, ...json]));
  const logged = own.filter(
    (e) =>
      e.VMSTATE_COMMAND !== undefined && pids.has(e.SYSLOG_PID) && Number(e.__REALTIME_TIMESTAMP) >= from,
  );
  return [...run.filter((e) => e.VMSTATE_COMMAND === undefined), ...logged];
}

/** A oneshot's run as systemctl start runs it: its exit, and how systemd saw it end. */
async function start(unit: string): Promise<{ code: number; stderr: string } & Record<string, string>> {
  const r = await sh(['systemctl', 'start', `${unit}.service`]);
  const s = await show(`${unit}.service`, 'Result', 'ExecMainStatus', 'ActiveState');
  return Object.assign(s, { code: r.code, stderr: r.stderr });
}

/** Journal entries that warn or worse, or stdout lines vm-state marked so. */
const loud = (journal: Entry[]) =>
  journal
    .filter((e) => Number(e.PRIORITY) <= 4 || /^\[(WARN|ERROR)\]/.test(String(e.MESSAGE)))
    .map((e) => e.MESSAGE);

/** systemctl list-timers --all, by timer: `next` in µs since the epoch (null: none). */
async function listTimers(): Promise<Map<string, { next: number | null; activates: string }>> {
  const out = await ok(['systemctl', 'list-timers', '--all', '--output=json']);
  const timers = JSON.parse(out) as { unit: string; next: number | null; activates: string }[];
  return new Map(timers.map((t) => [t.unit, t]));
}

/** `probe`'s first answer not undefined, asked every 100 ms (a vm-state run: 0.5 s; under TCG 10 s). */
async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const seconds = slow ? 120 : 10;
  for (let i = 0; i < seconds * 10; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`waited ${seconds} s for ${what}`);
}

const snapshotsOf = async (state: string) =>
  (await ok(['zfs', 'list', '-H', '-t', 'snapshot', '-o', 'name', '-r', `${P}/${state}`]))
    .split('\n')
    .filter(Boolean);

/** Fuse only: the module's units under systemd are the same whatever the ZFS. */
const unitsOnly = costly("the Nix module's units under systemd: the same whatever the ZFS");

describe("the module's units under the lab's systemd", () => {
  let units: UnitsExport;
  let files: LabFile[];
  let promFile: string;
  let evalMs = 0;

  // Kept, so that every test fails with it: a beforeAll that throws gets its tests counted skipped.
  let missing: unknown;
  const ready = () => {
    if (missing) throw missing;
  };

  beforeAll(async () => {
    const t0 = performance.now();
    try {
      units = await exportUnits();
    } catch (e) {
      missing = e;
      return;
    }
    evalMs = performance.now() - t0;
    files = renderUnits(units);
    promFile = (JSON.parse(units.configJson) as { metricsFile: string }).metricsFile;
    await resetLab();
    await install(files);
    await ok([
      'systemd-tmpfiles',
      '--create',
      ...files.filter((f) => f.path.startsWith('/etc/tmpfiles.d/')).map((f) => f.path),
    ]);
    await ok(['systemctl', 'daemon-reload']);
    for (const s of STATES) await ok(['vm-state', 'create', s]);
  });

  afterAll(async () => {
    const names = [SNAPSHOT, REPLICATE, METRICS];
    await sh(['systemctl', 'stop', ...names.flatMap((n) => [`${n}.timer`, `${n}.service`])]);
    await sh(['rm', '-rf', ...(files ?? []).map((f) => f.path), PACKAGE_DIR]);
    await sh(['rm', '-rf', ...names.map((n) => `/var/lib/systemd/timers/stamp-${n}.timer`)]);
    await sh([
      'rm',
      '-rf',
      '/var/lib/prometheus-node-exporter-text-files',
      '/var/lib/vm-state/replication/offsite.json',
    ]);
    await ok(['systemctl', 'daemon-reload']);
    await sh(['systemctl', 'reset-failed', ...names.map((n) => `${n}.service`)]);
    await resetLab();
  });

  unitsOnly('units.nix evaluates in seconds, and systemd takes every unit as it is written', async () => {
    ready();
    expect(evalMs).toBeLessThan(10_000);
    console.log(`units.nix evaluated in ${Math.round(evalMs)} ms`);
    const unitFiles = files.filter((f) => f.path.startsWith('/etc/systemd/system/') && 'text' in f);
    expect(unitFiles.map((f) => f.path.split('/').pop()).sort()).toEqual(
      [SNAPSHOT, REPLICATE, METRICS].flatMap((n) => [`${n}.service`, `${n}.timer`]).sort(),
    );
    // verify warns of unknown keys, bad values and missing programs; it exits 0 on warnings.
    const r = await sh(['systemd-analyze', 'verify', ...unitFiles.map((f) => f.path)]);
    expect(r.stderr + r.stdout, 'systemd-analyze verify').toBe('');
    expect(r.code).toBe(0);
    for (const n of [SNAPSHOT, REPLICATE, METRICS])
      expect((await show(`${n}.timer`, 'WantedBy')).WantedBy, n).toBe('timers.target');
    // systemd took every sandbox setting at the module's value (none ignored or read otherwise).
    for (const [name, def] of Object.entries(units.services)) {
      const keys = Object.keys(def.serviceConfig).filter((k) => !SHOWN_OTHERWISE.includes(k));
      const want = Object.fromEntries(keys.map((k) => [k, asShown(def.serviceConfig[k])]));
      expect(await show(`${name}.service`, ...keys), name).toEqual(want);
    }
  });

  unitsOnly(
    'auto-snapshot: succeeds, snapshots every state, rewrites the metrics file, journals it',
    async () => {
      ready();
      await ok(['rm', '-f', promFile]);
      const run = await start(SNAPSHOT);
      expect(run, run.stderr).toMatchObject({ code: 0, Result: 'success', ExecMainStatus: '0' });
      expect(run.ActiveState).toBe('inactive');
      for (const s of STATES)
        expect(
          (await snapshotsOf(s)).filter((n) => n.includes('@auto-')),
          s,
        ).toHaveLength(1);

      // settings.metricsFile: every change rewrites it, also the timer's.
      expect((await sh(['test', '-s', promFile])).code, `${promFile} after auto-snapshot`).toBe(0);
      const journal = await lastRun(`${SNAPSHOT}.service`);
      const own = journal.filter((e) => e.VMSTATE_COMMAND !== undefined);
      expect(own, JSON.stringify(journal)).toMatchObject([
        { VMSTATE_COMMAND: 'auto-snapshot', VMSTATE_RESULT: 'done' },
      ]);
      expect(loud(journal)).toEqual([]);
    },
  );

  unitsOnly('replicate: the job fails cleanly (no such host), its record and the unit say so', async () => {
    ready();
    const run = await start(REPLICATE);
    // The exit status says a job failed (README, "Operations"): a oneshot that exits non-zero is
    // a failed unit, as the module means it to be (systemctl --failed, OnFailure=); the timer retries.
    expect(run, run.stderr).toMatchObject({ code: 1, Result: 'exit-code', ExecMainStatus: '1' });
    expect(run.ActiveState).toBe('failed');
    const record = JSON.parse(await ok(['cat', '/var/lib/vm-state/replication/offsite.json']));
    expect(record).toMatchObject({
      job: 'offsite',
      remote: 'offsite',
      result: 'failed',
      lastSuccess: null,
    });
    expect(record.states.map((s: { state: string; ok: boolean }) => [s.state, s.ok]).sort()).toEqual(
      STATES.map((s) => [s, false]).sort(),
    );
    expect(record.error).toBe(
      `2 of 2 state(s) not sent: ${record.states.map((s: { state: string }) => s.state).join(', ')}`,
    );
    const journal = await lastRun(`${REPLICATE}.service`);
    const said = journal.map((e) => String(e.MESSAGE)).join('\n');
    expect(said).toContain('Replication failed: offsite (2 of 2 state(s) not sent');
    // ssh itself ran, under the sandbox, and said why (the lab has no such host and no network).
    for (const st of record.states as { error: string }[])
      expect(st.error).toMatch(
        /^Cannot reach remote 'offsite' .*ssh: Could not resolve hostname vmstate-nowhere/,
      );
    // Only the job's failure is loud: nothing the sandbox refused (a read-only file, a syscall).
    expect(said).not.toMatch(/EROFS|EACCES|EPERM|read-only file system|not refreshed/i);
  });

  unitsOnly(
    'metrics: succeeds, writes a world-readable textfile that parses and says what zfs says',
    async () => {
      ready();
      await ok(['rm', '-f', promFile]);
      const run = await start(METRICS);
      expect(run, run.stderr).toMatchObject({ code: 0, Result: 'success', ExecMainStatus: '0' });
      // UMask=0022: node_exporter, a user of its own, reads it.
      expect((await ok(['stat', '-c', '%a %U', promFile])).trim()).toBe('644 root');
      const samples = samplesIn(`${await ok(['cat', promFile])}\n`);
      for (const state of STATES)
        expect(valueOf(samples, 'vm_state_snapshots', { state }), state).toBe(
          (await snapshotsOf(state)).length,
        );
      expect(valueOf(samples, 'vm_state_pool_mounted', { dataset: P })).toBe(1);
      expect(valueOf(samples, 'vm_state_replication_last_result', { job: 'offsite', result: 'failed' })).toBe(
        1,
      );
      const generated = valueOf(samples, 'vm_state_metrics_generated_timestamp_seconds');
      expect(Math.abs(generated - Date.now() / 1000)).toBeLessThan(120);
      const journal = await lastRun(`${METRICS}.service`);
      expect(journal.map((e) => e.MESSAGE)).toContainEqual(
        expect.stringMatching(/^Finished vm-state-metrics/),
      );
      expect(loud(journal)).toEqual([]);
    },
  );

  unitsOnly(
    'the timers, started, have a next elapse; the metrics timer fires now and in a minute',
    async () => {
      ready();
      const before = (await show(`${METRICS}.service`, 'InvocationID')).InvocationID;
      for (const n of [SNAPSHOT, REPLICATE, METRICS]) await ok(['systemctl', 'start', `${n}.timer`]);
      const now = Date.now() * 1000;
      const timers = await listTimers();
      // OnCalendar every 15 and 5 minutes, plus up to RandomizedDelaySec=2min.
      for (const [n, minutes] of [
        [SNAPSHOT, 17],
        [REPLICATE, 7],
      ] as const) {
        const t = timers.get(`${n}.timer`);
        expect(t, n).toMatchObject({ activates: `${n}.service` });
        expect(t!.next! - now, n).toBeGreaterThan(0);
        expect(t!.next! - now, n).toBeLessThan(minutes * 60e6);
        // systemctl show says the same, as a date (UTC: the lab's time zone).
        const at = (await show(`${n}.timer`, 'NextElapseUSecRealtime')).NextElapseUSecRealtime ?? '';
        const [, day, time] = /^\w+ (\S+) (\S+) UTC$/.exec(at) ?? ['', '?', '?'];
        expect(Date.parse(`${day}T${time}Z`), at).toBe(Math.floor(t!.next! / 1e6) * 1000);
      }
      // OnBootSec=15s is long past: the timer starts the service at once, and once it has run,
      // elapses again OnUnitActiveSec=1min after.
      expect(timers.get(`${METRICS}.timer`), METRICS).toMatchObject({ activates: `${METRICS}.service` });
      const fired = await until(async () => {
        const s = await show(`${METRICS}.service`, 'InvocationID', 'ActiveState', 'Result');
        return s.InvocationID !== before && s.ActiveState === 'inactive' ? s : undefined;
      }, 'the metrics timer to run its service');
      expect(fired.Result).toBe('success');
      const next = await until(
        async () => (await listTimers()).get(`${METRICS}.timer`)?.next ?? undefined,
        'its next elapse',
      );
      expect(next - Date.now() * 1000).toBeGreaterThan(0);
      expect(next - Date.now() * 1000).toBeLessThan(62e6);
      for (const n of [SNAPSHOT, REPLICATE, METRICS])
        expect((await show(`${n}.timer`, 'ActiveState')).ActiveState, n).toBe('active');
    },
  );
});
