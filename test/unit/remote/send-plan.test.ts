import { describe, expect, it } from 'vitest';
import { decideSend, type SendFacts, type SendRequest } from '../../../src/core/replication.js';
import { describeStep } from '../../../src/core/plan.js';
import { encodeRequest, type ResultOf } from '../../../src/schemas/protocol.js';
import { config, facts, guidOf, PARENT, refusal } from '../../support/facts.js';

/** The send planner as a table: the two sides' snapshots in, the steps (and refusals) out. */

const NOW = new Date('2026-12-01T13:15:00.000Z');
const REPL = 'vmstate-repl-20261201T131500Z';
const request: SendRequest = {
  state: 'web',
  remote: 'peer',
  target: 'web',
  host: 'hv1',
  force: false,
  now: NOW,
};

/** The source `web` with these snapshots; guids follow the names (same name, same snapshot). */
const source = (snaps: (string | { name: string; holds?: number; guid?: string })[]) =>
  facts({ states: [{ name: 'web', snapshots: snaps }] }).states.get('web')!;

type Target = ResultOf<'state'>;
const there = (snaps: (string | { name: string; guid: string })[], more: Partial<Target> = {}): Target => ({
  dataset: `${PARENT}/web`,
  exists: true,
  replicaOf: 'hv1:web',
  readonly: true,
  snapshots: snaps.map((s) => {
    const x = typeof s === 'string' ? { name: s, guid: guidOf(`${PARENT}/web@${s}`) } : s;
    return { ...x, created: '2026-01-01T00:00:00.000Z', holds: 0 };
  }),
  resumeToken: null,
  written: 0,
  available: 10_000_000,
  assignedTo: [],
  receive: [['zfs', 'receive', `${PARENT}/web`]],
  ...more,
});
const absent: Target = { ...there([]), exists: false, replicaOf: null, readonly: false };

/** ssh to the remote's serve, as RemoteLink makes it; describeStep shows the request decoded. */
const call = (r: object) => [
  'ssh',
  'peer',
  'vm-state',
  'serve',
  '--request',
  encodeRequest({ protocol: 1, ...r } as never),
];
const shown = (r: object) => `ssh peer vm-state serve --request '${JSON.stringify({ protocol: 1, ...r })}'`;
const SRC = { host: 'hv1', state: 'web' };
const sendFacts = (
  src: ReturnType<typeof source>,
  target: Target,
  more: Partial<SendFacts> = {},
): SendFacts => ({
  source: src,
  target,
  call: call as SendFacts['call'],
  estimate: 1000,
  ...more,
});
const steps = (f: SendFacts, r: Partial<SendRequest> = {}) =>
  decideSend(config, { ...request, ...r }, f).plan.steps.map(describeStep);

describe('send: which snapshots go, from which base', () => {
  it('a first send carries every snapshot: the oldest in full, then -I up to the new one', () => {
    const d = decideSend(config, request, sendFacts(source(['a', 'b']), absent));
    expect(d.plan.steps.map(describeStep)).toEqual([
      `zfs snapshot ${PARENT}/web@${REPL}`,
      `check that zfs send ${PARENT}/web@${REPL} fits in 10000000 bytes free on peer`,
      `zfs send ${PARENT}/web@a | ${shown({ op: 'receive', name: 'web', source: SRC, base: null, resume: false, snapshot: 'a' })}`,
      `zfs send -I ${PARENT}/web@a ${PARENT}/web@${REPL} | ${shown({ op: 'receive', name: 'web', source: SRC, base: guidOf(`${PARENT}/web@a`), resume: false, snapshot: REPL })}`,
      `zfs hold vm-state:sent-to:peer ${PARENT}/web@${REPL}`,
      `zfs set vm-state:sent=peer=web@2026-12-01T13:15:00.000Z ${PARENT}/web`,
    ]);
    expect(d.summary).toMatchObject({ base: null, snapshots: ['a', 'b', REPL], resumed: false });
  });

  it('a state with no snapshot yet goes in one full stream of the new one', () => {
    expect(steps(sendFacts(source([]), absent))[2]).toMatch(
      new RegExp(`^zfs send ${PARENT}/web@${REPL} \\|`),
    );
  });

  it('the base is the newest snapshot both have, by guid, and its hold moves on', () => {
    const d = decideSend(
      config,
      request,
      sendFacts(source(['a', { name: 'b', holds: 1 }, 'c']), there(['a', 'b'])),
    );
    const lines = d.plan.steps.map(describeStep);
    expect(lines[1]).toBe(
      `check that zfs send -I ${PARENT}/web@b ${PARENT}/web@${REPL} fits in 10000000 bytes free on peer`,
    );
    expect(lines[2]).toContain(`zfs send -I ${PARENT}/web@b ${PARENT}/web@${REPL} |`);
    expect(lines[2]).toContain(`"base":"${guidOf(`${PARENT}/web@b`)}"`);
    expect(lines).toContain(`zfs release vm-state:sent-to:peer ${PARENT}/web@b`);
    expect(d.summary).toMatchObject({ base: 'b', snapshots: ['c', REPL] });
  });

  it('a second send in the same second names its snapshot -2, and sends from the first', () => {
    const d = decideSend(config, request, sendFacts(source(['a', REPL]), there(['a', REPL])));
    const lines = d.plan.steps.map(describeStep);
    expect(lines[0]).toBe(`zfs snapshot ${PARENT}/web@${REPL}-2`);
    expect(lines[2]).toContain(`zfs send -I ${PARENT}/web@${REPL} ${PARENT}/web@${REPL}-2 |`);
    expect(d.summary).toMatchObject({ base: REPL, snapshots: [`${REPL}-2`] });
  });

  it('a name is not a match: a target snapshot of the same name but another guid is not a base', () => {
    const target = there(['a', { name: 'b', guid: '999' }]);
    const e = refusal(() => decideSend(config, request, sendFacts(source(['a', 'b']), target)));
    expect(e.code).toBe('conflict');
    expect(e.message).toContain('last shared snapshot a');
    expect(e.message).toContain('snapshots only it has: b');
  });

  it('a snapshot renamed on the target is still the base (its guid is the same)', () => {
    const target = there([{ name: 'renamed', guid: guidOf(`${PARENT}/web@b`) }]);
    expect(steps(sendFacts(source(['a', 'b']), target))[2]).toContain(`-I ${PARENT}/web@b `);
  });
});

describe('send: the bookmark of the last snapshot sent (OpenZFS)', () => {
  const CURSOR = `${PARENT}/web#vmstate-to-peer`;
  const mark = (snap: string) => ({
    name: 'vmstate-to-peer',
    fullName: CURSOR,
    guid: guidOf(`${PARENT}/web@${snap}`),
  });

  it('each send moves the cursor on to its new snapshot; none where the ZFS has no bookmarks', () => {
    const first = steps(sendFacts(source(['a']), absent, { bookmarks: [] }));
    expect(first.slice(-1)).toEqual([`zfs bookmark ${PARENT}/web@${REPL} ${CURSOR}`]);
    const next = steps(sendFacts(source(['a', 'b']), there(['a']), { bookmarks: [mark('a')] }));
    expect(next.slice(-2)).toEqual([`zfs destroy ${CURSOR}`, `zfs bookmark ${PARENT}/web@${REPL} ${CURSOR}`]);
    const fuse = steps(sendFacts(source(['a', 'b']), there(['a']), { bookmarks: null }));
    expect(fuse.filter((l) => l.includes('#'))).toEqual([]);
  });

  it('the base snapshot gone here: -i from its bookmark, with a warning; the snapshots since stay here', () => {
    // `b` was sent, then destroyed here (its hold released by hand); `c` came after.
    const f = sendFacts(source(['a', 'c']), there(['a', 'b']), { bookmarks: [mark('b')] });
    const d = decideSend(config, request, f);
    const lines = d.plan.steps.map(describeStep);
    expect(lines[1]).toBe(
      `check that zfs send -i ${CURSOR} ${PARENT}/web@${REPL} fits in 10000000 bytes free on peer`,
    );
    expect(lines[2]).toContain(`zfs send -i ${CURSOR} ${PARENT}/web@${REPL} |`);
    expect(lines[2]).toContain(`"base":"${guidOf(`${PARENT}/web@b`)}"`);
    expect(lines.some((l) => l.startsWith('zfs release'))).toBe(false);
    expect(d.plan.warnings.join('\n')).toContain(
      `b, the last snapshot 'peer:web' has from here, is gone here`,
    );
    expect(d.summary).toMatchObject({ base: '#vmstate-to-peer', snapshots: [REPL] });
  });

  it('a bookmark of a newer target snapshot wins over an older shared snapshot: not a divergence', () => {
    const f = sendFacts(source(['a']), there(['a', 'b']), { bookmarks: [mark('b')] });
    expect(steps(f)[2]).toContain(`zfs send -i ${CURSOR} `);
    const without = sendFacts(source(['a']), there(['a', 'b']), { bookmarks: [] });
    expect(refusal(() => decideSend(config, request, without)).code).toBe('conflict');
  });
});

describe('send: a target that is not ours to write, or has diverged', () => {
  it('a state of its own there is never overwritten (exit 4), even with --force', () => {
    const e = refusal(() =>
      decideSend(
        config,
        { ...request, force: true },
        sendFacts(source(['a']), there(['a'], { replicaOf: null })),
      ),
    );
    expect(e.code).toBe('exists');
    expect(e.hint).toContain('vm-state send web peer:<new-name>');
  });

  it('a replica of another state is refused', () => {
    const e = refusal(() =>
      decideSend(config, request, sendFacts(source(['a']), there(['a'], { replicaOf: 'hv2:web' }))),
    );
    expect(e.code).toBe('conflict');
    expect(e.message).toContain('replica of hv2:web');
  });

  it('an assigned target is a live state there', () => {
    const e = refusal(() =>
      decideSend(config, request, sendFacts(source(['a']), there(['a'], { assignedTo: ['slot2'] }))),
    );
    expect(e.message).toContain('assigned to slot2');
  });

  it('changed since its newest snapshot: refused, with the bytes written', () => {
    const e = refusal(() =>
      decideSend(config, request, sendFacts(source(['a']), there(['a'], { written: 4096 }))),
    );
    expect(e.code).toBe('conflict');
    expect(e.message).toContain('4.00K written since a');
  });

  it('--force sets the target-only snapshots aside there first, then sends from the shared one', () => {
    const lines = steps(sendFacts(source(['a', 'b']), there(['a', 'x'])), { force: true });
    expect(lines[0]).toContain(
      `"op":"set-aside","name":"web","source":{"host":"hv1","state":"web"},"base":"${guidOf(`${PARENT}/web@a`)}"`,
    );
    expect(lines[3]).toContain(`zfs send -I ${PARENT}/web@a `);
  });

  it('sharing no snapshot at all is refused: nothing to send from', () => {
    const e = refusal(() =>
      decideSend(config, request, sendFacts(source(['a']), there([{ name: 'z', guid: '1' }]))),
    );
    expect(e.message).toContain('shares no snapshot');
  });

  it('too little room there is refused before anything runs', () => {
    const e = refusal(() =>
      decideSend(config, request, sendFacts(source(['a']), absent, { estimate: 20_000_000 })),
    );
    expect(e.message).toMatch(/has 9.54M free, and the send needs about 19.1M/);
  });
});

describe('send: a cut stream', () => {
  it('a token that still fits is resumed (zfs send -t), and the rest follows in another round', () => {
    const d = decideSend(
      config,
      request,
      sendFacts(source(['a']), there([], { resumeToken: '1-abc' }), { resume: { snapshot: 'a' } }),
    );
    expect(d.plan.steps.map(describeStep)).toEqual([
      `zfs send -t 1-abc | ${shown({ op: 'receive', name: 'web', source: SRC, base: null, resume: true, snapshot: 'a' })}`,
    ]);
    expect(d.thenSendAgain).toBe(true);
    expect(d.summary.resumed).toBe(true);
  });

  it('a stale token is dropped there (receive -A) with a warning, then a normal send', () => {
    const d = decideSend(
      config,
      request,
      sendFacts(source(['a']), there([], { resumeToken: '1-abc' }), {
        resume: { stale: 'no such snapshot' },
      }),
    );
    const lines = d.plan.steps.map(describeStep);
    expect(lines[0]).toContain('"op":"abort"');
    expect(lines[3]).toMatch(new RegExp(`^zfs send ${PARENT}/web@a \\|`));
    expect(d.plan.warnings[0]).toContain('cannot be resumed (no such snapshot)');
  });
});
