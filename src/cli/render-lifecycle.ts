import type { z } from 'zod';
import type { ShowOut, SnapshotEntryOut, SnapshotsOut } from '../schemas/output.js';
import { columns } from './columns.js';
import type { Output } from './output.js';
import { humanBytes } from '../core/bytes.js';

/** Tables of the read-only lifecycle commands: `snapshots` and `show`. */

const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

function snapshotRows(out: Output, snaps: z.output<typeof SnapshotEntryOut>[]): string {
  const c = out.c;
  const rows = snaps.map((s) => [
    `${s.state}@${s.name}`,
    when(s.created),
    humanBytes(s.used),
    humanBytes(s.referenced),
    s.clones.length === 0
      ? '-'
      : c.yellow(
          s.clones.map((d) => (s.clonedStates.includes(d.slice(d.lastIndexOf('/') + 1)) ? d.slice(d.lastIndexOf('/') + 1) : d)).join(','),
        ),
  ]);
  return columns(
    ['SNAPSHOT', 'CREATED', 'USED', 'REFER', 'CLONED TO'].map((h) => c.bold(h)),
    rows,
  );
}

export function renderSnapshots(out: Output, doc: z.output<typeof SnapshotsOut>): void {
  if (doc.snapshots.length === 0) {
    out.text(doc.state ? `  (no snapshots of '${doc.state}')` : '  (no snapshots)');
    return;
  }
  out.text(snapshotRows(out, doc.snapshots));
  out.text(`  ${doc.snapshots.length} snapshot(s); USED is what deleting that one snapshot alone reclaims`);
}

export function renderShow(out: Output, d: z.output<typeof ShowOut>): void {
  const c = out.c;
  const yesNo = (b: boolean) => (b ? c.green('yes') : c.yellow('no'));
  const lines: [string, string][] = [
    ['state', d.kind === 'directory' ? `${d.name} ${c.yellow('(plain directory, not a dataset: adopt it to snapshot)')}` : d.name],
    ['dataset', d.kind === 'dataset' ? d.dataset : '-'],
    ['mountpoint', d.kind === 'dataset' ? `${d.mountpoint} (mounted: ${yesNo(d.mounted)})` : d.mountpoint],
    ['used', humanBytes(d.used)],
    ['available', humanBytes(d.available)],
    ['referenced', humanBytes(d.referenced)],
    ['created', d.created ? when(d.created) : '-'],
    ['origin', d.origin ? `${d.origin}${d.originState ? ` (cloned from state '${d.originState}')` : ''}` : '-'],
    ['clones', d.clones.length ? d.clones.map((x) => `${x.state ?? x.dataset} (from @${x.snapshot})`).join(', ') : '-'],
    [
      'slots',
      d.slots.length
        ? d.slots
            .map(
              (s) =>
                `${s.name}${s.explicit ? '' : ' (by name)'} ${s.running ? c.green('running') : 'stopped'}${s.disk.pointsHere ? '' : c.yellow(` (data.img link: ${s.disk.kind === 'symlink' ? `-> ${s.disk.target}` : s.disk.kind})`)}`,
            )
            .join(', ')
        : '-',
    ],
    [
      'data.img',
      d.image.exists
        ? `${d.image.path} (${humanBytes(d.image.size)}, ${humanBytes(d.image.allocated)} on disk)`
        : `${d.image.path} ${c.yellow('(missing)')}`,
    ],
  ];
  const w = Math.max(...lines.map(([k]) => k.length));
  for (const [k, v] of lines) out.text(`  ${c.bold(k.padEnd(w))}  ${v}`);
  out.text('');
  out.info(`Snapshots of '${d.name}':`);
  if (d.snapshots.length === 0) out.text('  (no snapshots)');
  else out.text(snapshotRows(out, d.snapshots));
}
