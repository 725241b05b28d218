import type { z } from 'zod';
import type { Config } from '../schemas/config.js';
import type { TrashOut } from '../schemas/output.js';
import { columns } from '../cli/columns.js';
import type { Output } from '../cli/output.js';
import { humanBytes } from '../core/bytes.js';
import { parseDuration } from '../core/clock.js';
import type { Facts } from '../core/facts.js';
import { trashOf } from '../core/trash.js';
import { defineView } from './spec.js';
import { when } from './snapshots.js';

type TrashDoc = z.input<typeof TrashOut>;

/** The trash as the `trash list --json` document: each entry, when it expires, what was cloned from it. */
export function trashDocument(c: Config, facts: Facts): TrashDoc {
  const trash = trashOf(facts);
  const keep = parseDuration(c.trash.keep);
  return {
    dataset: trash.dataset,
    keep: c.trash.keep,
    used: trash.used,
    entries: trash.entries.map((e) => ({
      id: e.name,
      name: e.original,
      dataset: e.dataset,
      trashedAt: e.trashedAt?.toISOString() ?? null,
      trashedBy: e.trashedBy,
      expires: e.trashedAt ? new Date(e.trashedAt.getTime() + keep).toISOString() : null,
      used: e.used,
      referenced: e.referenced,
      origin: e.origin,
      snapshots: e.snapshots.map((s) => s.name),
      clones: e.snapshots.flatMap((s) => s.clones),
    })),
  };
}

function renderTrash(out: Output, doc: TrashDoc): void {
  const c = out.c;
  if (doc.entries.length === 0) {
    out.text('The trash is empty');
    return;
  }
  const short = (d: string) => d.split('/').at(-1)!;
  const rows = doc.entries.map((e) => [
    e.id,
    e.name,
    e.trashedAt ? when(e.trashedAt) : '-',
    e.trashedBy ?? '-',
    humanBytes(e.used),
    String(e.snapshots.length),
    e.expires ? when(e.expires) : '-',
    e.clones.map(short).join(',') || '-',
  ]);
  out.text(
    columns(
      ['ID', 'STATE', 'DELETED', 'BY', 'USED', 'SNAPSHOTS', 'EXPIRES', 'CLONES'].map((h) => c.bold(h)),
      rows,
    ),
  );
  out.text(
    `  ${doc.entries.length} deleted state(s), ${humanBytes(doc.used)} in all; kept ${doc.keep} ` +
      '(vm-state undelete <name>, vm-state trash purge)',
  );
}

export const trashList = defineView<TrashDoc>({
  kind: 'view',
  name: 'trash list',
  args: [],
  description: 'the deleted states in the trash: when, by whom, their space, when they expire',
  readme: [
    {
      usage: '`vm-state trash list`',
      text: 'each deleted state in the trash: its id, name, when and by whom it was deleted, its space and snapshots, when it expires, what was cloned from it',
    },
  ],
  scope: () => ({ names: [], clones: true, trash: true }),
  view: (c) => (facts) => trashDocument(c, facts),
  output: 'trash',
  render: renderTrash,
});
