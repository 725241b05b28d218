/**
 * Prometheus metrics of the facts, in the text exposition format (version 0.0.4) that node_exporter's
 * textfile collector reads. Pure: facts, the replication jobs' last results and the time in; families
 * of samples, then text, out. Names follow Prometheus' conventions: a `vm_state_` prefix, base units
 * (`_bytes`, `_seconds`), `_timestamp_seconds` for a time, 0/1 gauges for yes/no; samples carry no
 * timestamps (the textfile collector refuses them). README.md, "Metrics", lists every family.
 */
import type { z } from 'zod';
import type { JobRecord } from '../schemas/output.js';
import { parseDuration } from './clock.js';
import { compareNames } from './names.js';
import { isRunning, statesByName, type Facts } from './facts.js';

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: Sample[];
}

/** A replication job of the config and what its last run recorded (null: it never ran). */
export interface JobStatus {
  job: string;
  remote: string;
  /** The job's interval, as the config says it (`1h`). */
  interval: string;
  record: z.infer<typeof JobRecord> | null;
  /** Why its record could not be read (a broken file is not "never ran"). */
  unreadable?: string;
}

/** Every value a job's last result can take: one sample each, 1 for the one that holds. */
export const JOB_RESULTS = ['ok', 'failed', 'never', 'unknown'] as const;

/** An ISO 8601 time as Unix seconds; 0 for none (Prometheus' "never": `time() - x` is then huge). */
const seconds = (iso: string | null | undefined): number => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : t / 1000;
};

const bit = (b: boolean) => (b ? 1 : 0);

/** The families `vm-state metrics` writes, in a stable order; a family without samples is left out. */
export function metricFamilies(facts: Facts, jobs: readonly JobStatus[], now: Date): Family[] {
  const families: Family[] = [];
  const family = (name: string, help: string) => {
    const f: Family = { name: `vm_state_${name}`, help, type: 'gauge', samples: [] };
    families.push(f);
    return (labels: Record<string, string>, value: number) => void f.samples.push({ labels, value });
  };

  const states = statesByName(facts);
  const used = family('used_bytes', "Bytes the state's dataset and its snapshots use (zfs used).");
  const referenced = family('referenced_bytes', "Bytes the state's dataset refers to (zfs referenced).");
  const available = family('available_bytes', 'Bytes the state can still write (zfs available).');
  const mounted = family('mounted', '1 if the state is mounted.');
  const snapshots = family('snapshots', 'Snapshots of the state.');
  const newest = family(
    'newest_snapshot_timestamp_seconds',
    "When the state's newest snapshot was taken (Unix time; 0: it has none).",
  );
  const assigned = family(
    'assigned',
    '1 for each slot the state is assigned to; a state assigned to none has one sample, slot="" and 0.',
  );
  const running = family('running', '1 if a running slot has the state open.');
  const replica = family(
    'replica',
    '1 if the state is a read-only replica vm-state received (source: host:state it copies), else 0.',
  );
  const synced = family(
    'replica_synced_timestamp_seconds',
    'When a replica last received (Unix time; 0: not known). Only replicas have it.',
  );
  const sent = family(
    'sent_timestamp_seconds',
    'When the state was last sent to a remote, as the name there (Unix time).',
  );
  // What runs: a slot's VM has open the state it started on, until it restarts (as list says it).
  const runs = new Set(facts.slots.filter((s) => isRunning(s.unit)).map((s) => s.startedOn ?? s.state));
  for (const s of states) {
    const state = { state: s.name };
    if (s.used !== null) used(state, s.used);
    if (s.referenced !== null) referenced(state, s.referenced);
    if (s.available !== null) available(state, s.available);
    mounted(state, bit(s.mounted));
    snapshots(state, s.snapshots.length);
    const last = s.snapshots.reduce<Date | null>((t, x) => (t && t >= x.created ? t : x.created), null);
    newest(state, last ? last.getTime() / 1000 : 0);
    const slots = facts.slots.filter((x) => x.state === s.name);
    for (const slot of slots) assigned({ ...state, slot: slot.name }, 1);
    if (slots.length === 0) assigned({ ...state, slot: '' }, 0);
    running(state, bit(runs.has(s.name)));
    replica({ ...state, source: s.replicaOf ?? '' }, bit(s.replicaOf !== null));
    if (s.replicaOf !== null) synced({ ...state, source: s.replicaOf }, seconds(s.syncedAt));
    for (const t of s.sentTo) sent({ ...state, remote: t.remote, target: t.name }, seconds(t.at));
  }

  const slotRunning = family('slot_running', "1 if the slot's unit is active (or starting, stopping).");
  const slotInfo = family('slot_info', 'The state a slot is assigned and its unit; always 1.');
  for (const s of facts.slots) {
    slotRunning({ slot: s.name }, bit(isRunning(s.unit)));
    slotInfo({ slot: s.name, state: s.state, unit: s.unit.unit }, 1);
  }

  const pool = { dataset: facts.parent };
  family('pool_mounted', '1 if the parent dataset of the states exists and is mounted.')(
    pool,
    bit(facts.parentExists && facts.parentMounted),
  );
  if (facts.parentAvailable !== null)
    family('pool_available_bytes', 'Bytes free for the states (zfs available of their parent dataset).')(
      pool,
      facts.parentAvailable,
    );

  if (facts.trash) {
    family('trash_entries', 'Deleted states in the trash (vm-state trash list).')(
      pool,
      facts.trash.entries.length,
    );
    family('trash_bytes', 'Bytes the trash holds (zfs used of its dataset).')(pool, facts.trash.used);
  }

  const success = family(
    'replication_last_success_timestamp_seconds',
    "When the job's last successful run began (Unix time; 0: never).",
  );
  const attempt = family(
    'replication_last_attempt_timestamp_seconds',
    "When the job's last run began, successful or not (Unix time; 0: never).",
  );
  const result = family(
    'replication_last_result',
    "The job's last result: 1 for the one that holds (never: no run recorded; unknown: record unreadable).",
  );
  const bytes = family('replication_last_sent_bytes', 'Bytes the last run of the job sent.');
  const interval = family('replication_interval_seconds', 'How often the job is meant to run (config).');
  for (const j of [...jobs].sort((a, b) => compareNames(a.job, b.job))) {
    const job = { job: j.job, remote: j.remote };
    const holds = j.unreadable !== undefined ? 'unknown' : (j.record?.result ?? 'never');
    success(job, seconds(j.record?.lastSuccess));
    attempt(job, seconds(j.record?.lastAttempt));
    for (const r of JOB_RESULTS) result({ ...job, result: r }, bit(r === holds));
    bytes(job, j.record?.bytes ?? 0);
    interval(job, parseDuration(j.interval) / 1000);
  }

  family('metrics_generated_timestamp_seconds', 'When vm-state wrote these metrics (Unix time).')(
    {},
    now.getTime() / 1000,
  );
  return families.filter((f) => f.samples.length > 0);
}

/** A label value as the format quotes it: backslash, double quote and line feed escaped. */
export const escapeLabelValue = (v: string) =>
  v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** A HELP text: backslash and line feed escaped (a double quote stands as it is). */
export const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** A sample's value: integers exactly (bytes fit in a double below 2^53), Go's spellings otherwise. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The text exposition: HELP and TYPE, then the family's samples, each family once. */
export function exposition(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(',');
      lines.push(`${f.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The `--json` document: the same samples, the time as ISO 8601. */
export const metricsDocument = (families: Family[], now: Date) => ({
  generatedAt: now.toISOString(),
  families,
});
