import type { Config } from '../schemas/config.js';
import type { z } from 'zod';
import type { ShowOut } from '../schemas/output.js';
import type { Output } from '../cli/output.js';
import { humanBytes } from '../core/bytes.js';
import {
  isRunning,
  linkLeadsInto,
  replicationText,
  slotsUsing,
  stateFields,
  stateNameOf,
  type Facts,
} from '../core/facts.js';
import { requireState } from '../core/guards.js';
import { stateImageOf } from '../core/layout.js';
import { MAX_EXISTING, validateName } from '../core/names.js';
import { defineView, type ViewIO } from './spec.js';
import { snapshotEntry, snapshotRows, when } from './snapshots.js';

/** Everything about one state; `readImage` is how its data.img is looked at (the one I/O, injected). */
function viewShow(c: Config, name: string): (facts: Facts, io: ViewIO) => z.input<typeof ShowOut> {
  validateName('state', name, MAX_EXISTING);
  return (facts, io) => {
    const s = requireState(facts, name);
    const image = stateImageOf(c, name, s);
    const clones = s.snapshots.flatMap((snap) =>
      snap.clones.map((d) => ({ dataset: d, state: stateNameOf(facts.parent, d), snapshot: snap.name })),
    );
    const origin = s.origin;
    return {
      ...stateFields(s),
      originState: origin ? stateNameOf(facts.parent, origin.split('@')[0]!) : null,
      clones,
      snapshots: s.snapshots.map((x) => snapshotEntry(facts, x)),
      slots: slotsUsing(facts, name).map((slot) => ({
        name: slot.name,
        unit: slot.unit.unit,
        explicit: slot.explicit,
        running: isRunning(slot.unit),
        activeState: slot.unit.activeState,
        disk: {
          ...slot.link,
          pointsHere: slot.link.kind === 'symlink' && linkLeadsInto(slot.link, s.mountpoint),
        },
      })),
      image: { path: image, ...io.readImage(image) },
    };
  };
}

function renderShow(out: Output, d: z.output<typeof ShowOut>): void {
  const c = out.c;
  const yesNo = (b: boolean) => (b ? c.green('yes') : c.yellow('no'));
  const lines: [string, string][] = [
    [
      'state',
      d.kind === 'directory'
        ? `${d.name} ${c.yellow('(plain directory, not a dataset: adopt it to snapshot)')}`
        : d.name,
    ],
    ['dataset', d.kind === 'dataset' ? d.dataset : '-'],
    ['mountpoint', d.kind === 'dataset' ? `${d.mountpoint} (mounted: ${yesNo(d.mounted)})` : d.mountpoint],
    ['used', humanBytes(d.used)],
    ['available', humanBytes(d.available)],
    ['referenced', humanBytes(d.referenced)],
    ['created', d.created ? when(d.created) : '-'],
    [
      'origin',
      d.origin ? `${d.origin}${d.originState ? ` (cloned from state '${d.originState}')` : ''}` : '-',
    ],
    ['replication', replicationText(d) || '-'],
    [
      'clones',
      d.clones.length ? d.clones.map((x) => `${x.state ?? x.dataset} (from @${x.snapshot})`).join(', ') : '-',
    ],
    [
      'slots',
      d.slots.length
        ? d.slots
            .map((s) => {
              const byName = s.explicit ? '' : ' (by name)';
              const running = s.running ? c.green('running') : 'stopped';
              const link = s.disk.kind === 'symlink' ? `-> ${s.disk.target}` : s.disk.kind;
              const elsewhere = s.disk.pointsHere ? '' : c.yellow(` (data.img link: ${link})`);
              return `${s.name}${byName} ${running}${elsewhere}`;
            })
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

export const show = defineView<z.output<typeof ShowOut>>({
  kind: 'view',
  name: 'show',
  args: [{ name: 'state', kind: 'state' }],
  description: 'one state in full: dataset, mount, space, origin, clones, snapshots, slots, data.img',
  readme: [
    {
      usage: '`vm-state show <state>`',
      text:
        'one state in full: dataset, mount, space, origin, clones, snapshots, slots and whether they run, ' +
        '`data.img` and its size',
    },
  ],
  scope: (input) => ({ names: [String(input.state)], clones: true }),
  view: (c, input) => viewShow(c, String(input.state)),
  output: 'show',
  render: renderShow,
});
