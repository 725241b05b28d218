import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VmStateError } from '../../../src/core/errors.js';
import { parseRequest, requestText, Server } from '../../../src/remote/serve.js';
import { serveCommand } from '../../../src/remote/serve-command.js';
import type { Context } from '../../../src/cli/context.js';
import { MemoryJournal } from '../../../src/io/journal.js';
import { ConfigSchema } from '../../../src/schemas/config.js';
import { encodeRequest, type Request } from '../../../src/schemas/protocol.js';
import { RecordingRunner } from '../../support/recording-runner.js';

const dir = mkdtempSync(join(tmpdir(), 'vm-state-serve-'));
const config = ConfigSchema.parse({
  pool: 'tank',
  dataset: 'states',
  lockFile: join(dir, 'lock'),
  runDir: join(dir, 'run'),
  assignmentsFile: join(dir, 'assignments.json'),
});
const D = 'tank/states/web';
const SRC = { host: 'hv1', state: 'web' };
const body = (r: object) => encodeRequest({ protocol: 1, ...r } as never);

const thrown = (f: () => unknown): VmStateError => {
  try {
    f();
  } catch (e) {
    return e as VmStateError;
  }
  throw new Error('did not throw');
};

describe('serve: what a request may be', () => {
  it('reads the request from --request, or from a forced command`s SSH_ORIGINAL_COMMAND only in its one form', () => {
    expect(requestText('abc', {})).toBe('abc');
    const b = body({ op: 'hello' });
    expect(requestText(undefined, { SSH_ORIGINAL_COMMAND: `vm-state serve --request ${b}` })).toBe(b);
    expect(
      requestText(undefined, {
        SSH_ORIGINAL_COMMAND: `/run/current-system/sw/bin/vm-state serve --request ${b}`,
      }),
    ).toBe(b);
    for (const other of [
      'sh -c id',
      'vm-state delete web --yes',
      `vm-state serve --request ${b}; id`,
      'zfs destroy -r tank',
    ])
      expect(thrown(() => requestText('ignored', { SSH_ORIGINAL_COMMAND: other })).code).toBe('usage');
  });

  it('refuses another protocol version (exit 8), a bad op, and a bad name before anything runs', () => {
    const other = Buffer.from(JSON.stringify({ protocol: 2, op: 'hello' })).toString('base64url');
    expect(thrown(() => parseRequest(other)).code).toBe('remote');
    expect(thrown(() => parseRequest(body({ op: 'destroy', name: 'web' }))).code).toBe('usage');
    expect(thrown(() => parseRequest(body({ op: 'state', name: '../etc', source: SRC }))).code).toMatch(
      /usage|invalid-name/,
    );
    expect(thrown(() => parseRequest(body({ op: 'state', name: '-rf', source: SRC }))).code).toMatch(
      /usage|invalid-name/,
    );
    expect(thrown(() => parseRequest('%%%')).code).toBe('usage');
  });
});

/** `zfs get` of the target, as zfs answers it: `snaps` are name:guid:holds. */
const targetText = (props: Record<string, string>, snaps: string[]) =>
  [
    ...Object.entries({
      type: 'filesystem',
      guid: '1',
      userrefs: '-',
      readonly: 'on',
      creation: '100',
      available: '5000',
      ...props,
    }).map(([k, v]) => `${D}\t${k}\t${v}`),
    ...snaps.flatMap((s, i) => {
      const [name, guid, holds] = s.split(':');
      return [
        `${D}@${name}\tguid\t${guid}`,
        `${D}@${name}\tuserrefs\t${holds ?? '0'}`,
        `${D}@${name}\tcreation\t${200 + i}`,
      ];
    }),
  ].join('\n') + '\n';

describe('serve: receive', () => {
  let runner: RecordingRunner;
  afterEach(() => delete process.env.VM_STATE_ZFS_FLAVOUR);

  const receive = (r: Partial<Extract<Request, { op: 'receive' }>>) =>
    new Server(runner, config, 1).handle({
      protocol: 1,
      op: 'receive',
      name: 'web',
      source: SRC,
      base: null,
      resume: false,
      snapshot: 's2',
      ...r,
    });

  it('on zfs-fuse: receive, then make it a replica (read-only, unmounted), hold the new base, let the old go', async () => {
    process.env.VM_STATE_ZFS_FLAVOUR = 'zfs-fuse';
    let received = false;
    runner = new RecordingRunner().respond((argv) => {
      if (argv[1] === 'receive') return ((received = true), {});
      if (argv[1] === 'get' && argv.includes(D))
        return {
          stdout: targetText(
            { 'vm-state:replica-of': 'hv1:web' },
            received ? ['s1:11:1', 's2:22'] : ['s1:11:1'],
          ),
        };
      return undefined;
    });
    const result = await receive({ base: '11' });
    expect(result).toEqual({ dataset: D, snapshots: ['s2'] });
    expect(runner.mutatingCalls.map((c) => c.join(' '))).toEqual([
      `zfs receive ${D}`,
      `zfs set readonly=on ${D}`,
      `zfs unmount ${D}`,
      expect.stringMatching(new RegExp(`^zfs set vm-state:synced=\\d{4}-.*Z ${D}$`)),
      `zfs hold vm-state:replica ${D}@s2`,
      `zfs release vm-state:replica ${D}@s1`,
    ]);
  });

  it('on OpenZFS: one receive, unmounted (-u), resumable (-s), a replica from its first byte (-o)', async () => {
    process.env.VM_STATE_ZFS_FLAVOUR = 'openzfs';
    let received = false;
    runner = new RecordingRunner().respond((argv) => {
      if (argv[1] === 'receive') return ((received = true), {});
      if (argv[1] === 'get' && argv.includes(D))
        return received
          ? { stdout: targetText({ 'vm-state:replica-of': 'hv1:web' }, ['s2:22']) }
          : { exitCode: 1, stderr: `cannot open '${D}': dataset does not exist` };
      return undefined;
    });
    await receive({});
    expect(runner.mutatingCalls[0]).toEqual([
      'zfs',
      'receive',
      '-u',
      '-s',
      '-o',
      'readonly=on',
      '-o',
      'canmount=noauto',
      '-o',
      'vm-state:replica-of=hv1:web',
      D,
    ]);
  });

  it('never receives into a state of its own, a replica of another, or a target that moved since the plan', async () => {
    process.env.VM_STATE_ZFS_FLAVOUR = 'zfs-fuse';
    const cases: [Record<string, string>, string[], Partial<Extract<Request, { op: 'receive' }>>, string][] =
      [
        [{}, ['s1:11'], { base: '11' }, 'exists'],
        [{ 'vm-state:replica-of': 'hv2:web' }, ['s1:11'], { base: '11' }, 'conflict'],
        [{ 'vm-state:replica-of': 'hv1:web' }, ['s1:11', 'x:99'], { base: '11' }, 'conflict'],
        [{ 'vm-state:replica-of': 'hv1:web' }, ['s1:11'], { base: null }, 'exists'],
      ];
    for (const [props, snaps, r, code] of cases) {
      runner = new RecordingRunner().respond((argv) =>
        argv[1] === 'get' && argv.includes(D) ? { stdout: targetText(props, snaps) } : undefined,
      );
      await expect(receive(r)).rejects.toMatchObject({ code });
      expect(runner.mutatingCalls).toEqual([]);
    }
  });
});

describe('serve: the journal of the receiving host', () => {
  afterEach(() => delete process.env.VM_STATE_ZFS_FLAVOUR);
  /** Runs one request as `vm-state serve` does; the journal's entries, each as an object of its fields. */
  const served = async (r: object, runner: RecordingRunner) => {
    const journal = new MemoryJournal();
    const ctx = { config, runner, journal, waitSeconds: 1 } as unknown as Context;
    const request = encodeRequest({ protocol: 1, ...r } as never);
    let reply = '';
    const code = await serveCommand(
      () => ctx,
      { request },
      (t) => void (reply += t),
    ).then(
      () => 0,
      (e: VmStateError) => e.exitCode,
    );
    return { code, reply, entries: journal.entries.map((e) => Object.fromEntries(e)) };
  };
  const receive = { op: 'receive', name: 'web', source: SRC, base: '11', resume: false, snapshot: 's2' };

  it('a receive: one entry, done, with the state, the snapshot, where from and what it ran', async () => {
    process.env.VM_STATE_ZFS_FLAVOUR = 'zfs-fuse';
    let received = false;
    const runner = new RecordingRunner().respond((argv) => {
      if (argv[1] === 'receive') return ((received = true), {});
      if (argv[1] === 'get' && argv.includes(D)) {
        const snaps = received ? ['s1:11:1', 's2:22'] : ['s1:11:1'];
        return { stdout: targetText({ 'vm-state:replica-of': 'hv1:web' }, snaps) };
      }
      return undefined;
    });
    const { code, entries } = await served(receive, runner);
    expect(code).toBe(0);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      VMSTATE_COMMAND: 'serve receive',
      VMSTATE_RESULT: 'done',
      VMSTATE_STATE: 'web',
      VMSTATE_SNAPSHOT: 's2',
      VMSTATE_SUMMARY: "Receive 'web' up to s2 from hv1:web",
    });
    const steps = JSON.parse(entries[0]!.VMSTATE_STEPS!) as string[];
    expect(steps).toEqual(runner.mutatingCalls.map((c) => c.join(' ')));
    expect(steps[0]).toBe(`zfs receive ${D}`);
  });

  it('refused before any change: an entry saying so, with the error and no steps', async () => {
    process.env.VM_STATE_ZFS_FLAVOUR = 'zfs-fuse';
    const runner = new RecordingRunner().respond((argv) =>
      argv[1] === 'get' && argv.includes(D) ? { stdout: targetText({}, ['s1:11']) } : undefined,
    );
    const { code, reply, entries } = await served(receive, runner);
    expect(code).toBe(4);
    expect(JSON.parse(reply)).toMatchObject({ ok: false, error: { code: 'exists' } });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ VMSTATE_RESULT: 'refused', VMSTATE_ERROR_CODE: 'exists' });
    expect(JSON.parse(entries[0]!.VMSTATE_STEPS!)).toEqual([]);
  });

  it('reads log nothing; neither does an abort with no cut receive to drop', async () => {
    process.env.VM_STATE_ZFS_FLAVOUR = 'openzfs';
    const runner = new RecordingRunner().respond((argv) =>
      argv[1] === 'get' && argv.includes(D)
        ? { stdout: targetText({ 'vm-state:replica-of': 'hv1:web' }, ['s1:11']) }
        : undefined,
    );
    for (const r of [
      { op: 'hello' },
      { op: 'state', name: 'web', source: SRC },
      { op: 'abort', name: 'web', source: SRC },
    ]) {
      const { code, entries } = await served(r, runner);
      expect(code).toBe(0);
      expect(entries).toEqual([]);
    }
  });
});
