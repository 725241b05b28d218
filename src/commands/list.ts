import type { z } from 'zod';
import type { ListOut } from '../schemas/output.js';
import { columns } from '../cli/columns.js';
import type { Output } from '../cli/output.js';
import { humanBytes } from '../core/bytes.js';
import { isRunning, stateFields, statesByName, type Facts } from '../core/facts.js';
import { defineView } from './spec.js';
import { when } from './snapshots.js';

/** Facts as the `list --json` document. */
export function listDocument(facts: Facts): z.input<typeof ListOut> {
  const assigned = new Map<string, string[]>();
  for (const s of facts.slots) assigned.set(s.state, [...(assigned.get(s.state) ?? []), s.name]);
  const states = statesByName(facts);
  return {
    parent: facts.parent,
    parentExists: facts.parentExists,
    slots: facts.slots.map((s) => ({
      name: s.name,
      state: s.state,
      explicit: s.explicit,
      unit: s.unit.unit,
      loadState: s.unit.loadState,
      activeState: s.unit.activeState,
      subState: s.unit.subState,
      running: isRunning(s.unit),
      runningState: isRunning(s.unit) ? (s.startedOn ?? s.state) : null,
      disk: s.link,
    })),
    states: states.map((s) => ({
      ...stateFields(s),
      snapshots: s.snapshots.length,
      assignedTo: assigned.get(s.name) ?? [],
      shared: (assigned.get(s.name) ?? []).length > 1,
    })),
    snapshots: states.flatMap((s) =>
      s.snapshots.map((x) => ({
        name: x.name,
        state: x.state,
        fullName: x.fullName,
        created: x.created.toISOString(),
        used: x.used,
        referenced: x.referenced,
        clones: x.clones,
      })),
    ),
    trash: { entries: facts.trash?.entries.length ?? 0, used: facts.trash?.used ?? 0 },
  };
}

/** How a slot's data.img looks to an operator. */
function diskText(
  disk: { kind: string; resolves: boolean; targetKind?: string },
  stateMounted: boolean,
  c: Output['c'],
): string {
  if (disk.kind === 'missing') return c.dim('no data.img');
  if (disk.targetKind === 'symlink')
    return c.yellow("the state's data.img is itself a link (run vm-state doctor)");
  if (disk.targetKind === 'directory') return c.yellow("the state's data.img is a directory");
  if (disk.kind === 'file') return c.yellow('a regular file, not the state (run vm-state doctor)');
  if (disk.resolves) return 'ok';
  if (disk.kind !== 'symlink') return c.yellow(disk.kind);
  // A new state has no image until the VM first starts; a link into an unmounted state is the danger.
  return stateMounted ? c.dim('linked, no image yet') : c.yellow('dangling link (state not mounted)');
}

function renderList(out: Output, doc: z.input<typeof ListOut>): void {
  const c = out.c;
  // Names under the parent dataset read as state names: microvms/storage/states/dev@s1 -> dev@s1.
  const short = (name: string | null) =>
    name?.startsWith(`${doc.parent}/`) ? name.slice(doc.parent.length + 1) : name;
  out.info('States and assignments:');
  out.text('');
  const slotRows: string[][] = [];
  for (const s of doc.slots) {
    const state = doc.states.find((x) => x.name === s.state);
    const expected = state ? `${state.mountpoint}/data.img` : null;
    const disk =
      s.disk.kind === 'symlink' && expected && s.disk.target !== expected
        ? c.yellow(`points at ${s.disk.target} (run vm-state doctor)`)
        : diskText(s.disk, state?.mounted ?? false, c);
    const shared = state?.shared ? c.yellow(' (shared!)') : '';
    const pending =
      s.runningState && s.runningState !== s.state
        ? c.yellow(` (runs ${s.runningState} until restarted)`)
        : '';
    slotRows.push([
      s.name,
      `${s.state}${shared}${pending}`,
      s.running ? c.green('yes') : s.loadState === 'loaded' ? 'no' : c.dim(s.loadState),
      `${doc.parent}/${s.state}`,
      disk,
    ]);
  }
  out.text(
    columns(
      ['SLOT', 'STATE', 'RUNNING', 'ZFS DATASET', 'DISK'].map((h) => c.bold(h)),
      slotRows,
    ),
  );
  out.text('');

  out.info('Available states (ZFS datasets):');
  if (!doc.parentExists) out.text(`  (parent dataset ${doc.parent} does not exist)`);
  if (doc.states.length === 0) out.text('  (no states created yet)');
  else {
    const rows: string[][] = [];
    for (const s of doc.states) {
      const kind =
        s.kind === 'directory'
          ? c.yellow(' (directory: adopt before snapshotting)')
          : s.replicaOf
            ? c.cyan(` (replica of ${s.replicaOf})`)
            : s.mounted
              ? ''
              : c.yellow(' (not mounted)');
      rows.push([
        `${s.name}${kind}`,
        humanBytes(s.used),
        humanBytes(s.available),
        humanBytes(s.referenced),
        String(s.snapshots),
        short(s.origin) ?? '-',
        s.assignedTo.join(',') || '-',
      ]);
    }
    out.text(
      columns(
        ['STATE', 'USED', 'AVAIL', 'REFER', 'SNAPSHOTS', 'ORIGIN', 'SLOTS'].map((h) => c.bold(h)),
        rows,
      ),
    );
  }
  out.text('');

  out.info('Snapshots:');
  if (doc.snapshots.length === 0) out.text('  (no snapshots)');
  else {
    const rows = doc.snapshots.map((s) => [
      `${s.state}@${s.name}`,
      when(s.created),
      humanBytes(s.used),
      humanBytes(s.referenced),
      s.clones.map((x) => short(x)).join(',') || '-',
    ]);
    out.text(
      columns(
        ['SNAPSHOT', 'CREATED', 'USED', 'REFER', 'CLONES'].map((h) => c.bold(h)),
        rows,
      ),
    );
    out.text(`  ${doc.snapshots.length} snapshot(s)`);
  }
  if (doc.trash.entries > 0) {
    out.text('');
    out.info(
      `Trash: ${doc.trash.entries} deleted state(s), ${humanBytes(doc.trash.used)} (vm-state trash list)`,
    );
  }
}

export const list = defineView<z.input<typeof ListOut>>({
  kind: 'view',
  name: 'list',
  isDefault: true,
  args: [],
  description: 'list slots, states and snapshots (the default command)',
  readme: [
    {
      usage: '`vm-state list` (or no arguments)',
      text: 'slots (state, running, dataset, disk link), states (used/avail/refer, snapshots, origin, slots), every snapshot',
    },
  ],
  view: () => listDocument,
  output: 'list',
  render: renderList,
});
