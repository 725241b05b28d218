// The journal of changes against the lab's real journald: what each mutating command leaves there,
// read with journalctl itself and through `vm-state log`; nothing from the read-only commands; no
// journald is a quiet skip. The lab is shared: every state here has a name of this run's own, and
// entries are found by it (or by a SUDO_USER of this run's own), never by "the newest entries".
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { addDropIn, costly, ok, removeDropIn, resetLab, sh, vm } from './lab.js';

const RUN = randomBytes(3).toString('hex');
const A = `jr-${RUN}-a`;
const B = `jr-${RUN}-b`;
/** Who ran it, as sudo says: also this run's mark on entries that name no state of ours. */
const ALICE = `alice-${RUN}`;

const IDS = {
  done: 'f46211fc8a554970b195aae4e068e880',
  undone: '46109a39037b48aaba559d72927e0c80',
  refused: '7dd52ab3a7ca48d1b118b2c1b8dae098',
};

type Entry = Record<string, string | string[] | number[] | null>;

/** Entries journalctl itself gives for these matches (every field, in full), oldest first. */
async function journal(...matches: string[]): Promise<Entry[]> {
  // journald reads its socket on its own time: --sync returns once what was sent before is written.
  await ok(['journalctl', '--sync']);
  const out = await ok(['journalctl', '--output=json', '--all', '--no-pager', ...matches]);
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Entry);
}

/** A field's values, whether journalctl gave one or many. */
const all = (e: Entry | undefined, k: string): string[] => {
  const v = e?.[k];
  return v === undefined || v === null ? [] : Array.isArray(v) ? (v as string[]) : [v];
};

/** As the sudo user of this run: `env SUDO_USER=... vm-state ...`. */
const asAlice = (args: string[], input?: string) =>
  sh(['env', `SUDO_USER=${ALICE}`, 'vm-state', ...args], { input });

/** The lab's clock, as journalctl reads --since (local time, to the second). */
const labNow = async () => (await ok(['date', '+%Y-%m-%d %H:%M:%S'])).trim();

describe('the journal: an entry for every change', () => {
  let start = '';

  beforeAll(async () => {
    await resetLab();
    start = await labNow();
    // A second's step: --since is read to the second, and the entries below must come after it.
    await new Promise((r) => setTimeout(r, 1100));
  });
  afterAll(async () => {
    await removeDropIn('microvm@slot2').catch(() => {});
    await resetLab();
  });

  costly('journald and logger, the same whatever the ZFS')(
    'create, snapshot, assign: done, with their fields; SUDO_USER is recorded',
    async () => {
      await ok(['vm-state', 'create', A]);
      expect((await asAlice(['assign', 'slot1', A])).code).toBe(0);
      await ok(['vm-state', 'snapshot', 'slot1', 'before']);

      const entries = await journal('SYSLOG_IDENTIFIER=vm-state', `VMSTATE_STATE=${A}`);
      expect(entries.map((e) => e.VMSTATE_COMMAND)).toEqual(['create', 'assign', 'snapshot']);
      const [create, assign, snapshot] = entries;
      for (const e of entries) {
        expect(e).toMatchObject({
          MESSAGE_ID: IDS.done,
          PRIORITY: '5',
          VMSTATE_RESULT: 'done',
          VMSTATE_UID: '0',
        });
        expect(e._TRANSPORT).toBe('journal'); // the native protocol (logger --journald), not a stream or syslog
      }
      expect(all(create, 'VMSTATE_STATE')).toEqual([A]);
      expect(JSON.parse(create!.VMSTATE_STEPS as string)).toEqual([
        `zfs create -o mountpoint=/var/lib/microvms/states/${A} microvms/storage/states/${A}`,
        `zfs mount microvms/storage/states/${A}   (only if not mounted)`,
        `chown microvm:kvm /var/lib/microvms/states/${A} && chmod 755 /var/lib/microvms/states/${A}`,
      ]);
      expect(create!.MESSAGE).toMatch(
        new RegExp(`^vm-state create: Create state '${A}': done\\n  1\\. zfs create`),
      );
      expect(create!.VMSTATE_SUDO_USER).toBeUndefined();
      expect(assign).toMatchObject({ VMSTATE_SLOT: 'slot1', VMSTATE_SUDO_USER: ALICE, VMSTATE_USER: 'root' });
      expect(snapshot).toMatchObject({ VMSTATE_SLOT: 'slot1', VMSTATE_SNAPSHOT: 'before' });
      expect(all(snapshot, 'VMSTATE_STATE')).toEqual([A]);
      expect(JSON.parse(snapshot!.VMSTATE_STEPS as string)).toEqual([
        `zfs snapshot microvms/storage/states/${A}@before`,
      ]);
    },
  );

  costly('journald and logger, the same whatever the ZFS')(
    'a migrate whose start fails: undone, with the failed step and the error',
    async () => {
      await ok(['vm-state', 'create', B]);
      await addDropIn('microvm@slot2', 'ExecStartPre=/bin/false');
      try {
        const r = await vm(['migrate', B, 'slot2']);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('Rolled back');
      } finally {
        await removeDropIn('microvm@slot2');
      }
      const [e, ...more] = await journal(
        'SYSLOG_IDENTIFIER=vm-state',
        `VMSTATE_STATE=${B}`,
        'VMSTATE_COMMAND=migrate',
      );
      expect(more).toEqual([]);
      expect(e).toMatchObject({
        MESSAGE_ID: IDS.undone,
        PRIORITY: '3',
        VMSTATE_RESULT: 'undone',
        VMSTATE_SLOT: 'slot2',
        VMSTATE_FAILED_STEP: 'systemctl start microvm@slot2.service   (then check it is active)',
        VMSTATE_ERROR_CODE: 'failed',
        VMSTATE_EXIT_STATUS: '1',
      });
      expect(e!.VMSTATE_ERROR).toMatch(/microvm@slot2\.service.*Rolled back/);
      expect(JSON.parse(e!.VMSTATE_STEPS as string).at(-1)).toBe(
        'systemctl start microvm@slot2.service   (then check it is active)',
      );
    },
  );

  costly('journald and logger, the same whatever the ZFS')(
    'a refusal after planning: warning; an argument error: nothing',
    async () => {
      const r = await asAlice(['create', A]);
      expect(r.code).toBe(4);
      expect((await asAlice(['create', '../nope'])).code).toBe(2);
      const entries = await journal('SYSLOG_IDENTIFIER=vm-state', `VMSTATE_SUDO_USER=${ALICE}`);
      expect(entries.map((e) => [e.VMSTATE_COMMAND, e.VMSTATE_RESULT])).toEqual([
        ['assign', 'done'],
        ['create', 'refused'],
      ]);
      expect(entries[1]).toMatchObject({
        MESSAGE_ID: IDS.refused,
        PRIORITY: '4',
        VMSTATE_STATE: A,
        VMSTATE_ERROR_CODE: 'exists',
        VMSTATE_EXIT_STATUS: '4',
        VMSTATE_STEPS: '[]',
      });
    },
  );

  costly('journald and logger, the same whatever the ZFS')(
    'read-only commands and --dry-run write nothing, and start no logger',
    async () => {
      for (const args of [
        ['list'],
        ['show', A],
        ['snapshots'],
        ['snapshots', A],
        ['log'],
        ['--dry-run', 'create', 'x'],
      ]) {
        const r = await sh(['env', `SUDO_USER=${ALICE}`, 'VM_STATE_TRACE=1', 'vm-state', ...args]);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
        expect(r.stderr, args.join(' ')).not.toContain('# journal');
      }
      const entries = await journal('SYSLOG_IDENTIFIER=vm-state', `VMSTATE_SUDO_USER=${ALICE}`);
      expect(entries.map((e) => e.VMSTATE_COMMAND)).toEqual(['assign', 'create']);
    },
  );

  costly('journald and logger, the same whatever the ZFS')(
    'vm-state log: --state, --slot, --since, --until, --lines, --json',
    async () => {
      const byState = JSON.parse(await ok(['vm-state', '--json', 'log', '--state', A])).entries;
      expect(byState.map((e: { command: string }) => e.command)).toEqual([
        'create',
        'assign',
        'snapshot',
        'create',
      ]);
      expect(byState[1]).toMatchObject({
        result: 'done',
        subject: { states: [A], slots: ['slot1'] },
        who: { uid: 0, user: 'root', sudoUser: ALICE },
        host: (await ok(['hostname'])).trim(),
      });
      expect(byState[3]).toMatchObject({ result: 'refused', error: { code: 'exists', exitCode: 4 } });

      // slot2: only our failed migrate since this file began (other runs' entries came before it).
      const bySlot = JSON.parse(
        await ok(['vm-state', '--json', 'log', '--slot', 'slot2', '--since', start]),
      ).entries;
      expect(bySlot.map((e: { command: string; result: string }) => [e.command, e.result])).toEqual([
        ['migrate', 'undone'],
      ]);

      const until = JSON.parse(
        await ok(['vm-state', '--json', 'log', '--state', A, '--until', start]),
      ).entries;
      expect(until).toEqual([]);
      const later = await labNow();
      await new Promise((r) => setTimeout(r, 1100));
      expect(
        JSON.parse(await ok(['vm-state', '--json', 'log', '--state', A, '--since', later])).entries,
      ).toEqual([]);
      const last = JSON.parse(
        await ok(['vm-state', '--json', 'log', '--state', A, '--since', start, '--lines', '2']),
      );
      expect(last.entries.map((e: { command: string }) => e.command)).toEqual(['snapshot', 'create']);

      // The text form: time, command, result, subject, who, the steps.
      const text = await ok(['vm-state', 'log', '--state', A, '--lines', '3']);
      expect(text).toMatch(
        new RegExp(`assign  done  state ${A}, slot slot1  by ${ALICE} \\(sudo to root, uid 0\\)`),
      );
      expect(text).toContain(`      1. zfs snapshot microvms/storage/states/${A}@before`);

      const bad = await vm(['log', '--since', 'not-a-time']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('journalctl: Failed to parse timestamp: not-a-time');
    },
  );

  costly('journald and logger, the same whatever the ZFS')(
    'no journald (its socket hidden): the command works, the trace says it was not logged',
    async () => {
      // A mount namespace of its own, where /run/systemd/journal is an empty tmpfs: journald is untouched.
      // Slave: the pool's unmounts reach it, so it never keeps a zfs-fuse mount alive that zfs let go.
      const r = await sh([
        'unshare',
        '--mount',
        '--propagation',
        'slave',
        'sh',
        '-c',
        `mount -t tmpfs none /run/systemd/journal && VM_STATE_TRACE=1 vm-state snapshot slot1 nojournal`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        '# journal: no journald here (/run/systemd/journal/socket is missing): this change is not logged',
      );
      expect(
        await journal('SYSLOG_IDENTIFIER=vm-state', `VMSTATE_STATE=${A}`, 'VMSTATE_SNAPSHOT=nojournal'),
      ).toEqual([]);
      // Where journald is, the trace says what the entry cost.
      const traced = await sh(['env', 'VM_STATE_TRACE=1', 'vm-state', 'snapshot', 'slot1', 'traced']);
      expect(traced.stderr).toMatch(/# journal: logged \(logger, [\d.]+ ms\)/);
    },
  );
});
