import { afterEach, describe, expect, it } from 'vitest';
import { judge, periodOf } from '../../../src/core/retention.js';
import type { SnapshotFact } from '../../../src/core/facts.js';
import { PolicySchema } from '../../../src/schemas/config.js';

/** Retention as tables: snapshots in, the kept set out (Proxmox Backup Server's semantics, UTC). */

const HOUR = 3_600_000;
const snap = (iso: string, more: Partial<SnapshotFact> = {}): SnapshotFact => ({
  name: `auto-${iso}`,
  state: 'web',
  fullName: `tank/states/web@auto-${iso}`,
  created: new Date(iso),
  used: 1,
  referenced: 1,
  clones: [],
  guid: iso,
  holds: 0,
  ...more,
});
/** Hourly snapshots, oldest first, ending at `end`. */
const hourly = (count: number, end: string) =>
  Array.from({ length: count }, (_, i) =>
    snap(new Date(Date.parse(end) - (count - 1 - i) * HOUR).toISOString()),
  );
const kept = (policy: object, snaps: SnapshotFact[]) =>
  judge(PolicySchema.parse(policy), snaps)
    .filter((j) => j.verdict.keep)
    .map((j) => j.snapshot.created.toISOString());

describe('retention: the buckets', () => {
  it('a year of hourly snapshots, 24 hourly + 7 daily + 4 weekly + 12 monthly: the counts add up', () => {
    const year = hourly(365 * 24, '2026-12-01T12:00:00.000Z');
    const keep = kept({ latest: 1, hourly: 24, daily: 7, weekly: 4, monthly: 12 }, year);
    // latest 1 (12:00) + 24 more hours (back to 2026-11-30T12:00), then 7 days the hours did not
    // cover (29th back to 23rd), 4 weeks they did not (ISO weeks 47 to 44), and the months not
    // covered yet: October 2026 back to December 2025, where the data starts (11 of the 12).
    expect(keep.length).toBe(1 + 24 + 7 + 4 + 11);
    expect(keep.at(-1)).toBe('2026-12-01T12:00:00.000Z');
    expect(keep).toContain('2026-11-30T12:00:00.000Z'); // the 24th hour before the latest
    expect(keep).not.toContain('2026-11-30T11:00:00.000Z');
    expect(keep).toContain('2026-11-29T23:00:00.000Z'); // daily: the newest of the 29th
    expect(keep).toContain('2026-11-23T23:00:00.000Z'); // the 7th day
    expect(keep).not.toContain('2026-11-22T22:00:00.000Z');
    expect(keep).toContain('2026-11-22T23:00:00.000Z'); // weekly: Sunday 23:00, the newest of ISO week 47
    expect(keep).toContain('2026-11-01T23:00:00.000Z'); // the 4th week (44)
    expect(keep).not.toContain('2026-10-25T23:00:00.000Z'); // week 43: past the weekly count
    expect(keep).toContain('2026-10-31T23:00:00.000Z'); // monthly: the newest of October
    expect(keep[0]).toBe('2025-12-31T23:00:00.000Z'); // the 12th month back
  });

  it('the newest of each period is kept, never an older one of the same period', () => {
    const snaps = [snap('2026-05-01T10:05:00Z'), snap('2026-05-01T10:50:00Z'), snap('2026-05-01T11:10:00Z')];
    expect(kept({ latest: 0, hourly: 5 }, snaps)).toEqual([
      '2026-05-01T10:50:00.000Z',
      '2026-05-01T11:10:00.000Z',
    ]);
    const why = judge(PolicySchema.parse({ latest: 0, hourly: 5 }), snaps)[0]!.verdict;
    expect(why).toEqual({ keep: false, why: 'auto-2026-05-01T10:50:00Z is kept for hourly 2026-05-01T10' });
  });

  it('only its own snapshots: another name is never judged, and a clone source or a hold is never dropped', () => {
    const snaps = [
      snap('2026-01-01T00:00:00Z', { clones: ['tank/states/copy'] }),
      snap('2026-01-02T00:00:00Z', { holds: 1 }),
      { ...snap('2026-01-03T00:00:00Z'), name: 'before-upgrade' },
      snap('2026-01-04T00:00:00Z'),
    ];
    const out = judge(PolicySchema.parse({ latest: 1 }), snaps).map((j) => [
      j.snapshot.name,
      j.verdict.keep,
      j.verdict.why,
    ]);
    expect(out).toEqual([
      ['auto-2026-01-01T00:00:00Z', true, 'states were cloned from it'],
      ['auto-2026-01-02T00:00:00Z', true, 'held: the base of the next send'],
      ['auto-2026-01-04T00:00:00Z', true, 'latest 1 of 1'],
    ]);
  });

  it('nothing kept past the counts: everything else goes, and says so', () => {
    const out = judge(PolicySchema.parse({ latest: 1, daily: 1 }), hourly(72, '2026-06-03T23:00:00.000Z'));
    expect(out.filter((j) => j.verdict.keep)).toHaveLength(2);
    expect(out[0]!.verdict.why).toBe('older than what the policy keeps (latest 1, daily 1)');
  });
});

describe('retention: time is UTC', () => {
  const tz = process.env.TZ;
  afterEach(() => {
    process.env.TZ = tz;
  });

  it('a DST change in the local zone moves no period (Europe/Berlin, 2026-03-29 and 2026-10-25)', () => {
    process.env.TZ = 'Europe/Berlin';
    // 00:30Z and 01:30Z: local 01:30 CET and 03:30 CEST, two local hours apart, one UTC hour.
    expect(periodOf('hourly', new Date('2026-03-29T00:30:00Z'))).toBe('2026-03-29T00');
    expect(periodOf('hourly', new Date('2026-03-29T01:30:00Z'))).toBe('2026-03-29T01');
    // The local 02:30 that happens twice in October is two UTC hours.
    expect(periodOf('hourly', new Date('2026-10-25T00:30:00Z'))).not.toBe(
      periodOf('hourly', new Date('2026-10-25T01:30:00Z')),
    );
    // 23:30Z is the next local day in Berlin, the same UTC day.
    expect(periodOf('daily', new Date('2026-07-01T23:30:00Z'))).toBe('2026-07-01');
  });

  it('ISO weeks: Monday to Sunday, week 1 holds the first Thursday', () => {
    expect(periodOf('weekly', new Date('2026-12-28T00:00:00Z'))).toBe('2026-W53');
    expect(periodOf('weekly', new Date('2027-01-03T23:00:00Z'))).toBe('2026-W53');
    expect(periodOf('weekly', new Date('2027-01-04T00:00:00Z'))).toBe('2027-W01');
    expect(periodOf('weekly', new Date('2025-12-29T00:00:00Z'))).toBe('2026-W01');
  });
});

describe('retention: a snapshot stands for the time in its name', () => {
  it('auto-<UTC> names give the period, whatever the creation time says', () => {
    const made = new Date('2026-12-01T00:00:00Z'); // all made at once (a restore, a clock jump, a test)
    const snaps = ['auto-20261128T120000Z', 'auto-20261129T120000Z', 'auto-20261130T120000Z'].map((name) => ({
      ...snap('2026-12-01T00:00:00Z'),
      name,
      created: made,
    }));
    expect(judge(PolicySchema.parse({ latest: 0, daily: 2 }), snaps).map((j) => j.verdict.keep)).toEqual([
      false,
      true,
      true,
    ]);
  });
});

describe('retention: what is pinned covers no period', () => {
  it('a snapshot kept for its clones does not use up its week: the week still keeps its newest', () => {
    const snaps = [
      snap('2026-01-05T00:00:00Z', { clones: ['tank/states/fork'] }),
      snap('2026-01-11T18:00:00Z'),
      snap('2026-01-18T18:00:00Z'),
    ];
    expect(kept({ latest: 1, weekly: 1 }, snaps)).toEqual([
      '2026-01-05T00:00:00.000Z',
      '2026-01-11T18:00:00.000Z',
      '2026-01-18T18:00:00.000Z',
    ]);
  });
});
