import type { Config } from '../schemas/config.js';
import type { z } from 'zod';
import type { SnapshotEntryOut, SnapshotsOut } from '../schemas/output.js';
import { columns } from '../cli/columns.js';
import type { Output } from '../cli/output.js';
import { humanBytes } from '../core/bytes.js';
import { stateNameOf, statesByName, type Facts, type SnapshotFact } from '../core/facts.js';
import { requireState } from '../core/guards.js';
import { MAX_EXISTING, validateName } from '../core/names.js';
import { defineView } from './spec.js';

export function snapshotEntry(facts: Facts, s: SnapshotFact): z.input<typeof SnapshotEntryOut> {
  return {
    name: s.name,
    state: s.state,
    fullName: s.fullName,
    created: s.created.toISOString(),
    used: s.used,
    referenced: s.referenced,
    clones: s.clones,
    clonedStates: s.clones.map((d) => stateNameOf(facts.parent, d)).filter((x): x is string => x !== null),
  };
}

/**
 * Every snapshot (of one state, or of all), newest last. ZFS lists a state's
 * snapshots in creation order; across states the creation time (whole
 * seconds) decides, ties keep that order.
 */
function viewSnapshots(_c: Config, state?: string): (facts: Facts) => z.input<typeof SnapshotsOut> {
  if (state !== undefined) validateName('state', state, MAX_EXISTING);
  return (facts) => {
    const snaps =
      state === undefined
        ? statesByName(facts).flatMap((s) => s.snapshots)
        : requireState(facts, state).snapshots;
    const ordered = snaps
      .map((s, i) => ({ s, i }))
      .sort((a, b) => a.s.created.getTime() - b.s.created.getTime() || a.i - b.i);
    return { state: state ?? null, snapshots: ordered.map(({ s }) => snapshotEntry(facts, s)) };
  };
}

export const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

export function snapshotRows(out: Output, snaps: z.output<typeof SnapshotEntryOut>[]): string {
  const c = out.c;
  const rows = snaps.map((s) => [
    `${s.state}@${s.name}`,
    when(s.created),
    humanBytes(s.used),
    humanBytes(s.referenced),
    s.clones.length === 0
      ? '-'
      : c.yellow(s.clones.map((d) => s.clonedStates.find((name) => d.endsWith(`/${name}`)) ?? d).join(',')),
  ]);
  return columns(
    ['SNAPSHOT', 'CREATED', 'USED', 'REFER', 'CLONED TO'].map((h) => c.bold(h)),
    rows,
  );
}

function renderSnapshots(out: Output, doc: z.output<typeof SnapshotsOut>): void {
  if (doc.snapshots.length === 0) {
    out.text(doc.state ? `  (no snapshots of '${doc.state}')` : '  (no snapshots)');
    return;
  }
  out.text(snapshotRows(out, doc.snapshots));
  out.text(`  ${doc.snapshots.length} snapshot(s); USED is what deleting that one snapshot alone reclaims`);
}

export const snapshots = defineView<z.output<typeof SnapshotsOut>>({
  kind: 'view',
  name: 'snapshots',
  args: [{ name: 'state', kind: 'state', optional: true }],
  description: 'every snapshot (of one state, or all), newest last, with the states cloned from it',
  readme: [
    {
      usage: '`vm-state snapshots [state]`',
      text: 'every snapshot (newest last) with creation time, used/referenced bytes and the states cloned from it',
    },
  ],
  scope: (input) => (input.state === undefined ? 'all' : { names: [String(input.state)], clones: true }),
  view: (c, input) => viewSnapshots(c, input.state as string | undefined),
  output: 'snapshots',
  render: renderSnapshots,
});
