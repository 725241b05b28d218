import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalctlArgv, logQuery, logTail } from '../../src/commands/log.js';
import {
  journalFields,
  MESSAGE_IDS,
  parseJournal,
  subjectOfArgs,
  type ChangeEvent,
  type JournalField,
} from '../../src/core/journal.js';
import { runMutation } from '../../src/cli/run-plan.js';
import { Output } from '../../src/cli/output.js';
import { invoker, LoggerJournal, loggerInput, MemoryJournal } from '../../src/io/journal.js';
import { runCli } from '../support/cli.js';
import { makeWorld } from '../support/world.js';
import { linkSlot, P } from './commands/helpers.js';

/** One entry's fields as name -> values (a name may repeat). */
function fieldsOf(entry: JournalField[] | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of entry ?? []) (out[k] ??= []).push(v);
  return out;
}

const ENV = { SUDO_USER: 'alice', SSH_CONNECTION: '192.0.2.7 50022 192.0.2.1 22' };

describe('the journal entry of a change', () => {
  it('done: identifier, MESSAGE_ID, priority, command, subject, who, steps', async () => {
    const w = makeWorld();
    const r = await runCli(['create', 'dev'], { ...w, env: { ...w.env, ...ENV } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.journal).toHaveLength(1);
    const f = fieldsOf(r.journal[0]);
    expect(f).toMatchObject({
      SYSLOG_IDENTIFIER: ['vm-state'],
      MESSAGE_ID: [MESSAGE_IDS.done],
      PRIORITY: ['5'],
      SYSLOG_PID: [String(process.pid)],
      VMSTATE_COMMAND: ['create'],
      VMSTATE_RESULT: ['done'],
      VMSTATE_SUMMARY: ["Create state 'dev'"],
      VMSTATE_STATE: ['dev'],
      VMSTATE_SUDO_USER: ['alice'],
      VMSTATE_SSH_CONNECTION: [ENV.SSH_CONNECTION],
      VMSTATE_UID: [String(process.getuid!())],
    });
    const steps = [
      `zfs create -o mountpoint=${w.config.statesDir}/dev ${P}/dev`,
      `zfs mount ${P}/dev   (only if not mounted)`,
      `chown root:root ${w.config.statesDir}/dev && chmod 755 ${w.config.statesDir}/dev`,
    ];
    expect(JSON.parse(f.VMSTATE_STEPS![0]!)).toEqual(steps);
    expect(f.MESSAGE).toEqual([
      [`vm-state create: Create state 'dev': done`, ...steps.map((s, i) => `  ${i + 1}. ${s}`)].join('\n'),
    ]);
    expect(f.VMSTATE_SLOT).toBeUndefined();
    expect(f.VMSTATE_ERROR).toBeUndefined();
    // The order of the first fields is fixed (MESSAGE first: what a reader of the raw input sees first).
    expect(r.journal[0]!.slice(0, 4).map(([k]) => k)).toEqual([
      'MESSAGE',
      'MESSAGE_ID',
      'PRIORITY',
      'SYSLOG_IDENTIFIER',
    ]);
  });

  it("a slot's snapshot names the slot, the snapshot, and the state the slot had", async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], assignments: { slot2: 'dev' } });
    const r = await runCli(['snapshot', 'slot2', 'before'], w);
    expect(r.code, r.stderr).toBe(0);
    const f = fieldsOf(r.journal[0]);
    expect(f).toMatchObject({
      VMSTATE_COMMAND: ['snapshot'],
      VMSTATE_SLOT: ['slot2'],
      VMSTATE_SNAPSHOT: ['before'],
      VMSTATE_STATE: ['dev'],
      VMSTATE_STEPS: [JSON.stringify([`zfs snapshot ${P}/dev@before`])],
    });
    // No sudo, no ssh: those fields are left out, not empty.
    expect(f.VMSTATE_SUDO_USER).toBeUndefined();
    expect(f.VMSTATE_SSH_CONNECTION).toBeUndefined();
  });

  it('clone: both states; restore of state@snap: its state, the snapshot and the new state', async () => {
    const w = makeWorld({ states: [{ name: 'src', snapshots: ['s1'] }] });
    const clone = await runCli(['clone', 'src', 'copy'], w);
    expect(clone.code, clone.stderr).toBe(0);
    expect(fieldsOf(clone.journal[0]).VMSTATE_STATE!.sort()).toEqual(['copy', 'src']);
    const restore = await runCli(['restore', 'src@s1', 'back'], w);
    expect(restore.code, restore.stderr).toBe(0);
    const f = fieldsOf(restore.journal[0]);
    expect(f.VMSTATE_STATE!.sort()).toEqual(['back', 'src']);
    expect(f.VMSTATE_SNAPSHOT).toEqual(['s1']);
  });

  it('a migrate names the state it stopped as well as the one it started', async () => {
    const w = makeWorld({
      states: [{ name: 'old' }, { name: 'new' }],
      running: ['slot1'],
      assignments: { slot1: 'old' },
    });
    linkSlot(w, 'slot1', 'old');
    const r = await runCli(['migrate', 'new', 'slot1'], w);
    expect(r.code, r.stderr).toBe(0);
    const f = fieldsOf(r.journal[0]);
    expect(f.VMSTATE_STATE!.sort()).toEqual(['new', 'old']);
    expect(f.VMSTATE_SLOT).toEqual(['slot1']);
    expect(f.VMSTATE_RESULT).toEqual(['done']);
  });

  it('undone: a failed start, all put back: its own MESSAGE_ID, err, the step and the error', async () => {
    const w = makeWorld({
      states: [{ name: 'old' }, { name: 'new' }],
      running: ['slot1'],
      assignments: { slot1: 'old' },
    });
    linkSlot(w, 'slot1', 'old');
    // The new state's start fails once; the undo's start of the old one works.
    let starts = 0;
    w.runner.respond((a) =>
      a[1] === 'start' && starts++ === 0 ? { exitCode: 1, stderr: 'Job failed' } : undefined,
    );
    const r = await runCli(['migrate', 'new', 'slot1'], w);
    expect(r.code).toBe(1);
    expect(r.journal).toHaveLength(1);
    const f = fieldsOf(r.journal[0]);
    expect(f).toMatchObject({
      MESSAGE_ID: [MESSAGE_IDS.undone],
      PRIORITY: ['3'],
      VMSTATE_RESULT: ['undone'],
      VMSTATE_FAILED_STEP: ['systemctl start microvm@slot1.service   (then check it is active)'],
      VMSTATE_ERROR_CODE: ['failed'],
      VMSTATE_EXIT_STATUS: ['1'],
    });
    expect(f.VMSTATE_ERROR![0]).toContain('Rolled back');
    expect(f.MESSAGE![0]!.split('\n')[0]).toMatch(
      /^vm-state migrate: Migrate state 'new' to slot1: failed, and undone: .*Job failed/,
    );
  });

  it('failed: an undo that fails too is not "undone" (crit, its own MESSAGE_ID)', async () => {
    const w = makeWorld({
      states: [{ name: 'old' }, { name: 'new' }],
      running: ['slot1'],
      assignments: { slot1: 'old' },
    });
    linkSlot(w, 'slot1', 'old');
    w.runner.on((a) => a[1] === 'start', { exitCode: 1, stderr: 'Job failed' });
    const r = await runCli(['migrate', 'new', 'slot1'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Could NOT roll back');
    expect(fieldsOf(r.journal[0])).toMatchObject({
      MESSAGE_ID: [MESSAGE_IDS.failed],
      PRIORITY: ['2'],
      VMSTATE_RESULT: ['failed'],
    });
  });

  it('refused: a guard said no after planning: warning, the error, its exit status, no steps', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const r = await runCli(['create', 'dev'], { ...w, env: { ...w.env, SUDO_USER: 'bob' } });
    expect(r.code).toBe(4);
    expect(r.journal).toHaveLength(1);
    const f = fieldsOf(r.journal[0]);
    expect(f).toMatchObject({
      MESSAGE_ID: [MESSAGE_IDS.refused],
      PRIORITY: ['4'],
      VMSTATE_COMMAND: ['create'],
      VMSTATE_RESULT: ['refused'],
      VMSTATE_STATE: ['dev'],
      VMSTATE_ERROR_CODE: ['exists'],
      VMSTATE_EXIT_STATUS: ['4'],
      VMSTATE_STEPS: ['[]'],
      VMSTATE_SUDO_USER: ['bob'],
    });
    expect(f.VMSTATE_ERROR![0]).toContain("State 'dev' already exists");
    expect(f.VMSTATE_SUMMARY).toBeUndefined();
    expect(f.MESSAGE).toEqual([`vm-state create: refused: ${f.VMSTATE_ERROR![0]}`]);
  });

  it('refused: no confirmation typed, with the plan it would have run', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }] });
    const r = await runCli(['delete', 'dev'], { ...w, stdin: 'no\n' });
    expect(r.code).toBe(2);
    const f = fieldsOf(r.journal[0]);
    expect(f.VMSTATE_RESULT).toEqual(['refused']);
    expect(f.VMSTATE_SUMMARY![0]).toContain('dev');
    expect(JSON.parse(f.VMSTATE_STEPS![0]!).length).toBeGreaterThan(0);
  });

  it('nothing for a bad argument, a non-root run, --dry-run, or a plan with nothing to do', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['a'] }] });
    for (const [argv, euid, code] of [
      [['create', '../x'], 0, 2],
      [['create', 'x'], 1000, 7],
      [['--dry-run', 'create', 'x'], 0, 0],
      [['prune', 'dev', '--keep', '5'], 0, 0],
    ] as const) {
      const r = await runCli([...argv], { ...w, euid });
      expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(code);
      expect(r.journal, argv.join(' ')).toEqual([]);
    }
  });

  it('nothing for the read-only commands (list, show, snapshots, log)', async () => {
    const w = makeWorld({ states: [{ name: 'dev', snapshots: ['a'] }] });
    w.runner.on((a) => a[0] === 'journalctl', { stdout: '' });
    for (const argv of [['list'], [], ['show', 'dev'], ['snapshots'], ['snapshots', 'dev'], ['log']]) {
      const r = await runCli(argv, w);
      expect(r.code, r.stderr).toBe(0);
      expect(r.journal, argv.join(' ')).toEqual([]);
    }
  });
});

describe('a command with its own run (send, migrate to a remote)', () => {
  it('says its subject in MutationOptions; the plan widens it with what it stops and starts', async () => {
    const w = makeWorld({ states: [{ name: 'dev' }], running: ['slot3'], assignments: { slot3: 'dev' } });
    const journal = new MemoryJournal();
    const quiet = { write: () => true };
    const ctx = {
      config: w.config,
      configFile: w.env.VM_STATE_CONFIG,
      runner: w.runner,
      out: new Output({ json: false, quiet: true }, { stdout: quiet, stderr: quiet }, {}),
      dryRun: false,
      yes: true,
      waitSeconds: 1,
      euid: 0,
      journal,
      invoker: invoker({ SUDO_USER: 'carol' }, 0),
    };
    await runMutation(
      ctx,
      'migrate',
      () => ({
        summary: "Migrate state 'dev' to hv2:slot1",
        steps: [{ kind: 'stop', unit: 'microvm@slot3.service', slot: 'slot3', state: 'dev' }],
        warnings: [],
        notes: [],
      }),
      { subject: { state: 'dev', remote: 'hv2' } },
    );
    const f = fieldsOf(journal.entries[0]);
    expect(f).toMatchObject({
      VMSTATE_COMMAND: ['migrate'],
      VMSTATE_STATE: ['dev'],
      VMSTATE_REMOTE: ['hv2'],
      VMSTATE_SLOT: ['slot3'],
      VMSTATE_SUDO_USER: ['carol'],
    });
  });
});

describe('the subject from the arguments', () => {
  it("each argument's kind says the field it fills", () => {
    expect(
      subjectOfArgs([
        { kind: 'slot', value: 'slot2' },
        { kind: 'snapshot-ref', value: 'dev@before' },
        { kind: 'snapshot-ref', value: 'bare' },
        { kind: 'new-state', value: 'fresh' },
        { kind: 'state', value: ['a', 'b'] },
        { kind: 'word', value: 'ignored' },
        { kind: 'state', value: undefined },
      ]),
    ).toEqual({
      slots: ['slot2'],
      states: ['dev', 'fresh', 'a', 'b'],
      snapshots: ['before', 'bare'],
      remotes: [],
    });
    expect(subjectOfArgs([], { state: 'dev', remote: 'hv2' })).toEqual({
      states: ['dev'],
      slots: [],
      snapshots: [],
      remotes: ['hv2'],
    });
  });
});

const EVENT: ChangeEvent = {
  command: 'migrate',
  result: 'undone',
  subject: { states: ['dev'], slots: ['slot2'], snapshots: [], remotes: [] },
  invoker: { uid: 0, user: 'root', sudoUser: 'alice', sshConnection: null },
  summary: "Migrate state 'dev' to slot2",
  steps: ['systemctl stop x', 'write /etc/a.json {"slot2":"dev"}'],
  error: { message: 'systemctl start x: Job failed\nsee journalctl', code: 'failed', exitCode: 1 },
  pid: 42,
  version: '1.2.3',
};

describe('what logger --journald reads', () => {
  it('one field a line; MESSAGE split into MESSAGE= lines (logger joins them); no empty line', () => {
    const text = loggerInput(journalFields(EVENT));
    const lines = text.split('\n');
    expect(lines.at(-1)).toBe(''); // ends with a newline, and has no empty line before
    expect(lines.slice(0, -1).every((l) => /^[A-Z][A-Z0-9_]*=/.test(l))).toBe(true);
    expect(lines.filter((l) => l.startsWith('MESSAGE='))).toEqual([
      "MESSAGE=vm-state migrate: Migrate state 'dev' to slot2: failed, and undone: " +
        'systemctl start x: Job failed see journalctl',
      'MESSAGE=  1. systemctl stop x',
      'MESSAGE=  2. write /etc/a.json {"slot2":"dev"}',
    ]);
    // A newline in any other field's value would start a bogus field: made a space.
    expect(lines).toContain('VMSTATE_ERROR=systemctl start x: Job failed see journalctl');
    expect(lines).toContain('VMSTATE_STEPS=["systemctl stop x","write /etc/a.json {\\"slot2\\":\\"dev\\"}"]');
  });

  it('MESSAGE lists at most 50 steps; VMSTATE_STEPS has them all', () => {
    const steps = Array.from({ length: 60 }, (_, i) => `zfs destroy p/s@a${i}`);
    const f = fieldsOf([...journalFields({ ...EVENT, result: 'done', error: undefined, steps })]);
    expect(f.MESSAGE![0]!.split('\n')).toHaveLength(52);
    expect(f.MESSAGE![0]!.split('\n').at(-1)).toBe('  ... and 10 more steps');
    expect(JSON.parse(f.VMSTATE_STEPS![0]!)).toHaveLength(60);
  });
});

describe('LoggerJournal', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'vm-state-journal-'));

  it('no journald (its socket missing): no process, and the trace says so', async () => {
    const d = dir();
    const traced: string[] = [];
    const marker = join(d, 'ran');
    const logger = join(d, 'logger');
    writeFileSync(logger, `#!/bin/sh\ntouch ${marker}\n`);
    chmodSync(logger, 0o755);
    await new LoggerJournal((m) => traced.push(m), join(d, 'no-socket'), logger).write(journalFields(EVENT));
    expect(traced).toEqual([
      `no journald here (${join(d, 'no-socket')} is missing): this change is not logged`,
    ]);
    expect(() => readFileSync(marker)).toThrow();
  });

  it('hands logger --journald exactly the entry on standard input', async () => {
    const d = dir();
    const socket = join(d, 'socket');
    writeFileSync(socket, '');
    const logger = join(d, 'logger');
    writeFileSync(logger, `#!/bin/sh\necho "$@" > ${d}/args\ncat > ${d}/input\n`);
    chmodSync(logger, 0o755);
    const traced: string[] = [];
    await new LoggerJournal((m) => traced.push(m), socket, logger).write(journalFields(EVENT));
    expect(readFileSync(join(d, 'args'), 'utf8')).toBe('--journald\n');
    expect(readFileSync(join(d, 'input'), 'utf8')).toBe(loggerInput(journalFields(EVENT)));
    expect(traced[0]).toMatch(/^logged \(.*logger, [\d.]+ ms\)$/);
  });

  it('a logger that fails, hangs or is missing never fails the write: the trace says why', async () => {
    const d = dir();
    const socket = join(d, 'socket');
    writeFileSync(socket, '');
    const failing = join(d, 'failing');
    writeFileSync(failing, '#!/bin/sh\necho "logger: --journald is not supported" >&2\nexit 1\n');
    chmodSync(failing, 0o755);
    const hanging = join(d, 'hanging');
    writeFileSync(hanging, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(hanging, 0o755);
    const traced: string[] = [];
    const trace = (m: string) => traced.push(m);
    await new LoggerJournal(trace, socket, failing).write(journalFields(EVENT));
    await new LoggerJournal(trace, socket, join(d, 'missing')).write(journalFields(EVENT));
    await new LoggerJournal(trace, socket, hanging, 200).write(journalFields(EVENT));
    expect(traced[0]).toBe(
      `${failing} --journald exited 1: logger: --journald is not supported: this change is not logged`,
    );
    expect(traced[1]).toMatch(/^could not run .*missing: .*ENOENT.*: this change is not logged$/);
    expect(traced[2]).toMatch(/--journald was killed by SIGTERM: this change is not logged$/);
  });
});

describe('who ran it', () => {
  it('sudo and ssh from the environment, empty values as none', () => {
    expect(invoker({ SUDO_USER: 'alice', SSH_CONNECTION: '' }, 0)).toMatchObject({
      uid: 0,
      sudoUser: 'alice',
      sshConnection: null,
    });
    expect(invoker({}, 1000)).toMatchObject({ uid: 1000, sudoUser: null, sshConnection: null });
  });
});

/** Real `journalctl -o json` output of the fuse lab (test/fixtures/journal/capture.sh made it). */
const SAMPLE = readFileSync(new URL('../fixtures/journal/journalctl-o-json.txt', import.meta.url), 'utf8');

describe('vm-state log: reading journalctl -o json', () => {
  it('parses the lab sample: done, undone, refused; repeated fields; who; steps in order', () => {
    const entries = parseJournal(SAMPLE);
    expect(entries.map((e) => [e.command, e.result])).toEqual([
      ['create', 'done'],
      ['create', 'done'],
      ['assign', 'done'],
      ['snapshot', 'done'],
      ['migrate', 'undone'],
      ['create', 'refused'],
      [null, null],
    ]);
    const [create, , assign, snapshot, migrate, refused, foreign] = entries;
    expect(create).toMatchObject({
      priority: 5,
      messageId: MESSAGE_IDS.done,
      summary: "Create state 'jdev'",
      subject: { states: ['jdev'], slots: [], snapshots: [], remotes: [] },
      who: { uid: 0, user: 'root', sudoUser: null, sshConnection: null },
      error: null,
      host: 'vmstate-lab',
    });
    expect(create!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(create!.steps[0]).toMatch(/^zfs create -o mountpoint=\/var\/lib\/microvms\/states\/jdev /);
    expect(create!.steps).toHaveLength(3);
    expect(assign!.who).toMatchObject({ sudoUser: 'alice', sshConnection: '192.0.2.7 50022 192.0.2.1 22' });
    expect(assign!.subject).toMatchObject({ states: ['jdev2'], slots: ['slot1'] });
    expect(snapshot!.subject).toMatchObject({ slots: ['slot1'], snapshots: ['s1'], states: ['jdev2'] });
    expect(migrate).toMatchObject({ priority: 3, messageId: MESSAGE_IDS.undone });
    expect(migrate!.subject).toMatchObject({ states: ['jdev'], slots: ['slot2'] });
    expect(migrate!.error).toMatchObject({
      code: 'failed',
      exitCode: 1,
      failedStep: expect.stringMatching(/^systemctl start microvm@slot2.service/),
    });
    expect(refused).toMatchObject({
      priority: 4,
      messageId: MESSAGE_IDS.refused,
      summary: null,
      steps: [],
      error: { code: 'exists', exitCode: 4 },
    });
    // Another program logging as vm-state: read as far as it goes.
    expect(foreign).toMatchObject({ command: null, result: null, message: 'hello from logger -t vm-state' });
  });

  it('bytes for a field that is not printable text, null for one too long, lines not JSON', () => {
    const [e] = parseJournal(
      [
        'not json',
        JSON.stringify({
          __REALTIME_TIMESTAMP: '1700000000123456',
          MESSAGE: [104, 105, 7],
          VMSTATE_COMMAND: 'create',
          VMSTATE_STATE: ['a', [98]],
          VMSTATE_STEPS: null,
        }),
      ].join('\n'),
    );
    expect(e).toMatchObject({
      time: '2023-11-14T22:13:20.123Z',
      message: 'hi\u0007',
      subject: { states: ['a', 'b'] },
      steps: [],
    });
  });

  it('journalctl matches; -n only without a time range (else journalctl counts from the oldest)', () => {
    const q = logQuery({ state: 'dev', slot: 'slot2', since: 'yesterday', lines: '3' });
    expect(journalctlArgv(q)).toEqual([
      'journalctl',
      '--output=json',
      '--all',
      '--no-pager',
      expect.stringMatching(/^--output-fields=MESSAGE,MESSAGE_ID,.*,VMSTATE_STEPS,/),
      '--since=yesterday',
      'SYSLOG_IDENTIFIER=vm-state',
      'VMSTATE_STATE=dev',
      'VMSTATE_SLOT=slot2',
    ]);
    expect(journalctlArgv(logQuery({ lines: '3' }))).toContain('--lines=3');
    const entries = parseJournal(SAMPLE);
    expect(logTail(entries, q)).toEqual(entries.slice(-3));
    expect(() => logQuery({ lines: '0' })).toThrow(/--lines must be a whole number above 0/);
    expect(() => logQuery({ state: '../x' })).toThrow(/Invalid state name/);
  });
});

describe('vm-state log on the command line', () => {
  it('prints each entry: time, command, result, subject, who, the steps; --json by its schema', async () => {
    const w = makeWorld();
    w.runner.on((a) => a[0] === 'journalctl', { stdout: SAMPLE });
    const r = await runCli(['log', '--slot', 'slot1'], w);
    expect(r.code, r.stderr).toBe(0);
    expect(w.runner.calls.find((c) => c[0] === 'journalctl')).toContain('VMSTATE_SLOT=slot1');
    expect(r.stdout).toMatch(/create {2}done {2}state jdev {2}by root \(uid 0\)\n/);
    expect(r.stdout).toContain(
      'assign  done  state jdev2, slot slot1  by alice (sudo to root, uid 0) from 192.0.2.7',
    );
    expect(r.stdout).toMatch(/migrate {2}undone/);
    expect(r.stdout).toContain('      1. zfs create -o mountpoint=/var/lib/microvms/states/jdev');
    const j = await runCli(['--json', 'log', '--lines', '2'], w);
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout);
    expect(doc.filters).toEqual({ state: null, slot: null, since: null, until: null, lines: 2 });
    expect(doc.entries.map((e: { command: string | null }) => e.command)).toEqual(['create', null]);
    expect(doc.entries[0].result).toBe('refused');
  });

  it('journalctl missing: exit 1 and what to do; a time it cannot read: exit 2', async () => {
    const w = makeWorld();
    w.runner.on((a) => a[0] === 'journalctl', { exitCode: 127, stderr: 'spawn journalctl ENOENT' });
    const r = await runCli(['log'], w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('journalctl is not available: spawn journalctl ENOENT');
    expect(r.stderr).toContain('vm-state log reads the systemd journal');
    const w2 = makeWorld();
    w2.runner.on((a) => a[0] === 'journalctl', { exitCode: 1, stderr: 'Failed to parse timestamp: soon\n' });
    const bad = await runCli(['log', '--since', 'soon'], w2);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('journalctl: Failed to parse timestamp: soon');
  });

  it("passes on journalctl's hint to a user who cannot read the system journal", async () => {
    const w = makeWorld();
    w.runner.on((a) => a[0] === 'journalctl', {
      stdout: '',
      stderr: 'Hint: You are currently not seeing messages from other users and the system.\n',
    });
    const r = await runCli(['log'], { ...w, euid: 1000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(no entries)');
    expect(r.stderr).toContain('[WARN] journalctl: Hint: You are currently not seeing messages');
  });
});
