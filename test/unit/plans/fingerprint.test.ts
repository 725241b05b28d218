import { describe, expect, it } from 'vitest';
import { changeText, diffParts, factParts, FINGERPRINT_COVERAGE } from '../../../src/core/fingerprint.js';
import { canonicalJson, planToken, tokenTime, type Reviewed } from '../../../src/core/plan-token.js';
import { VmStateError } from '../../../src/core/errors.js';
import { facts } from '../../support/facts.js';

// A getter: a case that changes the facts changes its own copy.
const BASE = {
  states: [{ name: 'dev', snapshots: ['a'] }],
  get assignments() {
    return { slot1: 'dev' };
  },
};

describe('the facts a plan reads, as parts', () => {
  it('names the parent, the assignments, each state, snapshot and slot', () => {
    const parts = factParts(facts(BASE));
    // (Where the facts hold the trash, it is a part of its own too.)
    expect(Object.keys(parts).filter((k) => k !== 'trash')).toEqual([
      'parent',
      'assignments',
      'state dev',
      'snapshot dev@a',
      'slot slot1',
      'slot slot2',
      'slot slot3',
      'slot slot4',
      'slot slot5',
    ]);
    expect(parts['state dev']).toMatch(/^guid=\d+ created=2026-01-01T00:02:00.000Z origin=- /);
    expect(parts['snapshot dev@a']).toMatch(/^guid=\d+ created=\S+ holds=0 clones=-$/);
    expect(parts['slot slot1']).toBe(
      'state=dev unit=loaded/inactive/dead pid=0 started=0 started-on=- link=missing',
    );
    expect(parts.assignments).toBe('{"slot1":"dev"}');
  });

  it('two reads of the same system give the same parts', () => {
    expect(factParts(facts(BASE))).toEqual(factParts(facts(BASE)));
  });

  // What changes while nothing happens must not make every plan stale.
  it('bytes used and free space are not facts a plan is decided on', () => {
    const f = facts(BASE);
    const g = facts(BASE);
    const dev = g.states.get('dev')!;
    Object.assign(dev, { used: 1 << 30, referenced: 1 << 29, available: 5 });
    dev.snapshots[0]!.used = 777;
    g.parentAvailable = 1;
    expect(factParts(g)).toEqual(factParts(f));
  });

  const cases: [string, (f: ReturnType<typeof facts>) => void, string][] = [
    ['a state made again under its name', (f) => void (f.states.get('dev')!.guid = '99'), 'state dev: guid='],
    ['a snapshot held', (f) => void (f.states.get('dev')!.snapshots[0]!.holds = 1), 'holds=0 → holds=1'],
    ['a slot started', (f) => void (f.slots[0]!.unit.activeState = 'active'), 'unit=loaded/inactive/dead →'],
    ['a VM restarted (new pid)', (f) => void (f.slots[0]!.unit.mainPid = 7), 'pid=0 → pid=7'],
    ['an assignment changed', (f) => void (f.assignments.slot2 = 'dev'), 'assignments: {"slot1":"dev"} →'],
    ['the parent unmounted', (f) => void (f.parentMounted = false), 'mounted=yes → mounted=no'],
  ];
  for (const [what, change, text] of cases)
    it(`${what} is a changed part`, () => {
      const was = factParts(facts(BASE));
      const f = facts(BASE);
      change(f);
      const changes = diffParts(was, factParts(f));
      expect(changes).toHaveLength(1);
      expect(changeText(changes[0]!)).toContain(text);
    });

  it('a snapshot taken is an added part, a state gone a removed one', () => {
    const snap = (name: string) => ({ name, created: '2026-01-01T00:00:00Z' });
    const was = factParts(facts({ ...BASE, states: [{ name: 'dev', snapshots: [snap('a')] }] }));
    const now = factParts(facts({ ...BASE, states: [{ name: 'dev', snapshots: [snap('a'), snap('b')] }] }));
    expect(diffParts(was, now).map(changeText)).toEqual([
      expect.stringMatching(/^snapshot dev@b: added \(guid=\d+ created=2026-01-01T00:00:00.000Z holds=0/),
    ]);
    const gone = diffParts(was, factParts(facts({ assignments: { slot1: 'dev' } })));
    expect(gone.map(changeText)).toEqual([
      expect.stringMatching(/^state dev: gone \(was guid=/),
      expect.stringMatching(/^snapshot dev@a: gone/),
    ]);
  });
});

const REVIEWED: Reviewed = {
  version: '1.0.0',
  host: { name: 'hv1', id: 'abc' },
  command: 'delete',
  input: { state: 'dev' },
  facts: { parent: 'p exists=yes mounted=yes' },
  decidedAt: new Date('2026-06-01T12:00:00.123Z'),
  steps: [{ kind: 'zfs', argv: ['zfs', 'destroy', 'p/dev'] }],
};

describe('the plan token', () => {
  it('is vsp1, the time in ms, a sha-256; the same for the same review', () => {
    const t = planToken(REVIEWED);
    expect(t).toMatch(/^vsp1\.1780315200123\.[0-9a-f]{64}$/);
    expect(planToken({ ...REVIEWED, input: { state: 'dev', yes: undefined } })).toBe(t);
    expect(tokenTime(t).toISOString()).toBe('2026-06-01T12:00:00.123Z');
  });

  const changed: [string, Partial<Reviewed>][] = [
    ['another version', { version: '1.0.1' }],
    ['another host', { host: { name: 'hv2', id: 'abc' } }],
    ['another machine of the same name', { host: { name: 'hv1', id: 'abd' } }],
    ['another command', { command: 'rename' }],
    ['another input', { input: { state: 'qa' } }],
    ['another fact', { facts: { parent: 'p exists=yes mounted=no' } }],
    ['another time', { decidedAt: new Date('2026-06-01T12:00:00.124Z') }],
    ['another step', { steps: [{ kind: 'zfs', argv: ['zfs', 'destroy', '-r', 'p/dev'] }] }],
  ];
  for (const [what, change] of changed)
    it(`${what}: another token`, () =>
      expect(planToken({ ...REVIEWED, ...change })).not.toBe(planToken(REVIEWED)));

  // The bytes a destroy frees grow as the state is written: they decide nothing.
  it('the bytes a destroy frees are not part of it', () => {
    const steps = [{ kind: 'zfs' as const, argv: ['zfs', 'destroy', 'p/dev@a'], frees: 10 }];
    const more = [{ ...steps[0]!, frees: 20 }];
    expect(planToken({ ...REVIEWED, steps })).toBe(planToken({ ...REVIEWED, steps: more }));
  });

  it('canonical JSON: keys in order at every depth, no undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: undefined }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"f":1}]},"b":1}',
    );
  });

  for (const bad of [
    '',
    'vsp1',
    'vsp2.1.' + 'a'.repeat(64),
    'vsp1.x.' + 'a'.repeat(64),
    'vsp1.1.' + 'A'.repeat(64),
    'vsp1.1.' + 'a'.repeat(63),
    `vsp1.1.${'a'.repeat(64)} `,
  ])
    it(`${JSON.stringify(bad)} is no token: a usage error`, () => {
      try {
        tokenTime(bad);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(VmStateError);
        expect((e as VmStateError).exitCode).toBe(2);
        expect((e as VmStateError).message).toContain('Not a plan token');
      }
    });
});

/** Another value of the same kind: what a field holds when the fact changed. */
function changed(v: unknown): unknown {
  if (typeof v === 'string') return `${v}x`;
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'number') return v + 1;
  if (v instanceof Date) return new Date(v.getTime() + 1000);
  if (v === null) return 'x';
  if (Array.isArray(v)) return v.length ? v.slice(1) : [{ remote: 'r', name: 'n', at: 't' }];
  if (v === undefined) return 'file';
  return v;
}

describe('every field of the facts: a part, or left out and why', () => {
  const base = () =>
    facts({
      states: [
        { name: 'dev', snapshots: ['a'] },
        { name: 'kid', origin: 'dev@a' },
      ],
      assignments: { slot1: 'dev' },
      links: { slot1: 'dev' },
    });
  const where: Record<string, (f: ReturnType<typeof facts>) => Record<string, unknown>> = {
    state: (f) => f.states.get('dev') as never,
    snapshot: (f) => f.states.get('dev')!.snapshots[0] as never,
    slot: (f) => f.slots[0] as never,
    unit: (f) => f.slots[0]!.unit as never,
    link: (f) => f.slots[0]!.link as never,
  };
  for (const [kind, fields] of Object.entries(FINGERPRINT_COVERAGE)) {
    for (const [field, says] of Object.entries(fields)) {
      const part = says === 'a part';
      it(`${kind}.${field}: ${says}`, () => {
        expect(part || says.startsWith('left out: ')).toBe(true);
        if (kind === 'facts') return; // each kind of its fields is checked below
        const f = base();
        const rec = where[kind]!(f);
        if (
          typeof rec[field] === 'object' &&
          rec[field] !== null &&
          !Array.isArray(rec[field]) &&
          !(rec[field] instanceof Date)
        )
          return; // a record of its own (unit, link): its fields are rows of their own
        rec[field] = changed(rec[field]);
        expect(diffParts(factParts(base()), factParts(f)).length > 0, `${kind}.${field}`).toBe(part);
      });
    }
  }
});
