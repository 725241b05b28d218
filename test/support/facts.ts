import { expect } from 'vitest';
import type { Input, MutationSpec, ViewIO, ViewSpec } from '../../src/commands/spec.js';
import { now } from '../../src/core/clock.js';
import { VmStateError, type ErrorCode } from '../../src/core/errors.js';
import type { Facts, LinkFact, SlotFact, SnapshotFact, StateFact } from '../../src/core/facts.js';
import { parseEntryId, type TrashEntry } from '../../src/core/trash.js';
import { describeStep, type Plan } from '../../src/core/plan.js';
import { ConfigSchema, type Config } from '../../src/schemas/config.js';

/**
 * Literal facts for the pure planners and views: what the system looks like,
 * written the way an operator would say it, with a config whose names are short
 * enough to read in an expected step.
 */

/** Pool `tank`, states under `tank/states` mounted at /states, slot directories in /vms. */
export const config: Config = ConfigSchema.parse({
  pool: 'tank',
  dataset: 'states',
  statesDir: '/states',
  slotsDir: '/vms',
  assignmentsFile: '/etc/assignments.json',
});

export const PARENT = 'tank/states';

/** A snapshot by name, or with its used bytes and creation time (ISO-8601) chosen. */
export type SnapSpec =
  string | { name: string; used?: number; created?: string; guid?: string; holds?: number };

export interface StateSpec {
  name: string;
  /** Oldest first. */
  snapshots?: SnapSpec[];
  /** The snapshot it was cloned from: `base@s1` (a state's) or a full name. */
  origin?: string;
  /** Default true. */
  mounted?: boolean;
  /** Default statesDir/<name>. */
  mountpoint?: string;
  /** A plain directory under statesDir, not a dataset. */
  directory?: boolean;
  /** `host:state` for a replica. */
  replicaOf?: string;
}

/**
 * A slot's data.img: a state's name (a symlink to that state's image, which exists), `missing`, `file`
 * (a regular file), or the link itself in full.
 */
export type LinkSpec = string | Partial<LinkFact>;

/** A deleted state in the trash: its id (`web.20261201T131500Z`), what it holds. */
export interface TrashSpec {
  id: string;
  snapshots?: SnapSpec[];
  /** As a state's: `base@s1`, `.trash/<id>@s1`, or a full name. */
  origin?: string;
  by?: string;
  used?: number;
  /** `host:state`: a replica was deleted. */
  replicaOf?: string;
}

export interface FactsSpec {
  states?: StateSpec[];
  /** The trash's entries; the trash exists when this is given. */
  trash?: TrashSpec[];
  /** Slots whose unit is active. */
  running?: string[];
  /** The assignments file; a slot without an entry runs the state of its own name. */
  assignments?: Record<string, string>;
  /** The state each slot's VM was recorded as started on. */
  startedOn?: Record<string, string>;
  /** Each slot's data.img; default: none yet. */
  links?: Record<string, LinkSpec>;
  /** Default true. */
  parentExists?: boolean;
  /** Default true. */
  parentMounted?: boolean;
}

/** Creation times: one minute apart, in the order the snapshots and states are written. */
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** A stable made-up guid per snapshot name, so that the same name means the same snapshot. */
export const guidOf = (name: string) =>
  String([...name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) % 1_000_000_007, 7));

const fullName = (name: string) =>
  name.startsWith('.trash/') || !name.includes('/') ? `${PARENT}/${name}` : name;

function linkOf(c: Config, slot: string, spec: LinkSpec | undefined): LinkFact {
  const path = `${c.slotsDir}/${slot}/data.img`;
  if (spec === undefined || spec === 'missing')
    return { path, kind: 'missing', target: null, resolves: false };
  if (spec === 'file') return { path, kind: 'file', target: null, resolves: true };
  if (typeof spec === 'string') {
    const target = `${c.statesDir}/${spec}/data.img`;
    return { path, kind: 'symlink', target, resolves: true, targetKind: 'file' };
  }
  return { path, kind: 'symlink', target: null, resolves: true, targetKind: 'file', ...spec };
}

/** The facts a read of such a system gives (clones derived from the origins, as the real read does). */
export function facts(spec: FactsSpec = {}, c: Config = config): Facts {
  let minute = 0;
  const at = (iso?: string) => (iso ? new Date(iso) : new Date(T0 + ++minute * 60_000));
  /** A snapshot of `state` (a state's name, or a trash entry's id) at `dataset`. */
  const snapshotFact = (x: SnapSpec, state: string, dataset: string): SnapshotFact => {
    const snap = typeof x === 'string' ? { name: x } : x;
    return {
      name: snap.name,
      state,
      fullName: `${dataset}@${snap.name}`,
      created: at(snap.created),
      used: snap.used ?? 0,
      referenced: 1024,
      clones: [],
      guid: snap.guid ?? guidOf(`${dataset}@${snap.name}`),
      holds: snap.holds ?? 0,
    };
  };
  const states = new Map<string, StateFact>();
  for (const s of spec.states ?? []) {
    const dataset = `${PARENT}/${s.name}`;
    const mountpoint = s.mountpoint ?? `${c.statesDir}/${s.name}`;
    if (s.directory) {
      states.set(s.name, {
        name: s.name,
        kind: 'directory',
        dataset,
        mountpoint,
        mounted: false,
        used: null,
        available: null,
        referenced: null,
        origin: null,
        created: null,
        guid: null,
        snapshots: [],
        replicaOf: null,
        syncedAt: null,
        sentTo: [],
      });
      continue;
    }
    const snapshots = (s.snapshots ?? []).map((x) => snapshotFact(x, s.name, dataset));
    states.set(s.name, {
      name: s.name,
      kind: 'dataset',
      dataset,
      mountpoint,
      mounted: s.mounted ?? true,
      used: 2048,
      available: 9000,
      referenced: 1024,
      origin: s.origin ? fullName(s.origin) : null,
      created: at(),
      guid: guidOf(dataset),
      snapshots,
      replicaOf: s.replicaOf ?? null,
      syncedAt: null,
      sentTo: [],
    });
  }
  const entries = (spec.trash ?? []).map((t): TrashEntry => {
    const dataset = `${PARENT}/.trash/${t.id}`;
    const made = parseEntryId(t.id);
    return {
      name: t.id,
      kind: 'dataset',
      dataset,
      mountpoint: `${c.statesDir}/${t.id}`,
      guid: guidOf(dataset),
      mounted: false,
      used: t.used ?? 4096,
      available: 9000,
      referenced: 1024,
      origin: t.origin ? fullName(t.origin) : null,
      created: at(),
      snapshots: (t.snapshots ?? []).map((x) => snapshotFact(x, t.id, dataset)),
      replicaOf: t.replicaOf ?? null,
      syncedAt: null,
      sentTo: [],
      original: made?.original ?? t.id,
      trashedAt: made?.at ?? null,
      trashedBy: t.by ?? null,
    };
  });
  const every = [...states.values(), ...entries];
  for (const s of every) {
    if (!s.origin) continue;
    const snap = every.flatMap((x) => x.snapshots).find((x) => x.fullName === s.origin);
    snap?.clones.push(s.dataset);
  }
  const assignments = spec.assignments ?? {};
  const running = new Set(spec.running ?? []);
  const slots = c.slots.map((name): SlotFact => {
    const on = running.has(name);
    return {
      name,
      state: assignments[name] ?? name,
      explicit: name in assignments,
      unit: {
        unit: c.unitTemplate.replace('%s', name),
        loadState: 'loaded',
        activeState: on ? 'active' : 'inactive',
        subState: on ? 'running' : 'dead',
        mainPid: on ? 4242 : 0,
        result: 'success',
        startedAtMicros: 0,
      },
      link: linkOf(c, name, spec.links?.[name]),
      startedOn: spec.startedOn?.[name] ?? null,
    };
  });
  return {
    parent: PARENT,
    parentExists: spec.parentExists ?? true,
    parentMounted: spec.parentMounted ?? true,
    parentAvailable: (spec.parentExists ?? true) ? 9000 : null,
    states,
    trash: {
      dataset: `${PARENT}/.trash`,
      exists: spec.trash !== undefined,
      used: entries.reduce((n, e) => n + (e.used ?? 0), 0),
      entries,
    },
    slots,
    assignments,
  };
}

/**
 * A refusal: its code, a fragment of its message (and of its hint); `input`: refused before any fact is read.
 */
export interface Refusal {
  code: ErrorCode;
  message: string;
  hint?: string;
  details?: unknown;
  input?: boolean;
}

/** The error `run` throws, which must be a VmStateError. */
export function refusal(run: () => unknown): VmStateError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(VmStateError);
    return e as VmStateError;
  }
  throw new Error('expected a refusal, but it went through');
}

export function expectRefusal(run: () => unknown, want: Refusal): void {
  const e = refusal(run);
  expect(e.code, e.message).toBe(want.code);
  expect(e.message).toContain(want.message);
  if (want.hint !== undefined) expect(e.hint).toContain(want.hint);
  if (want.details !== undefined) expect(e.details).toEqual(want.details);
}

/** Each line contains its fragment, and there are as many lines as fragments. */
export function expectLines(actual: string[], fragments: string[]): void {
  expect(actual, actual.join('\n')).toHaveLength(fragments.length);
  fragments.forEach((f, i) => expect(actual[i]).toContain(f));
}

/**
 * A row of a planner's table: facts and input in; the steps (as --dry-run prints them), warnings, notes, or a
 * refusal out.
 */
export interface PlanRow {
  name: string;
  facts: Facts;
  input: Input;
  steps?: string[];
  /** Fragments, one per warning (`[]`: none). */
  warnings?: string[];
  /** Fragments, one per note. */
  notes?: string[];
  summary?: string;
  error?: Refusal;
}

/** A time to decide at, for a test that calls a planner itself and does not care when. */
export const DECIDED_AT = new Date('2026-06-01T12:00:00Z');

/** The planner's decision for `input` on `f`, made now (VM_STATE_NOW, when a test sets it). */
export const decide = (spec: MutationSpec, input: Input, f: Facts, c: Config = config): Plan =>
  spec.plan(c, input, { at: now() })(f);

/** The steps as `--dry-run` prints them. */
export const described = (plan: Plan) => plan.steps.map(describeStep);

/** Checks one row against a planner: `plan(input)` validates the input, then decides from the facts. */
export function expectPlan(row: PlanRow, plan: (input: Input) => (f: Facts) => Plan): void {
  if (row.error) {
    if (row.error.input) expectRefusal(() => plan(row.input), row.error);
    else expectRefusal(() => plan(row.input)(row.facts), row.error);
    return;
  }
  const p = plan(row.input)(row.facts);
  if (row.steps) expect(described(p)).toEqual(row.steps);
  if (row.warnings) expectLines(p.warnings, row.warnings);
  if (row.notes) expectLines(p.notes, row.notes);
  if (row.summary) expect(p.summary).toContain(row.summary);
}

/** The spec's planner with the test config. */
export const planner =
  (spec: MutationSpec, c: Config = config) =>
  (input: Input) =>
    spec.plan(c, input, { at: now() });

/** A view's document for `input` on `f`; no state has an image unless `images` says so. */
export function view(
  spec: ViewSpec,
  input: Input,
  f: Facts,
  images: Record<string, number> = {},
  c: Config = config,
) {
  const io: ViewIO = {
    readImage: (path) =>
      path in images
        ? { exists: true, size: images[path]!, allocated: images[path]! }
        : { exists: false, size: null, allocated: null },
  };
  return spec.view(c, input)(f, io);
}

/**
 * A row of a view's table: facts and input in; the document (as much of it as the row names) or a refusal
 * out.
 */
export interface ViewRow {
  name: string;
  facts: Facts;
  input: Input;
  /** Image sizes by path; any other image is missing. */
  images?: Record<string, number>;
  doc?: object;
  error?: Refusal;
}

export function expectView(row: ViewRow, spec: ViewSpec): void {
  if (row.error?.input) return expectRefusal(() => spec.view(config, row.input), row.error);
  if (row.error) return expectRefusal(() => view(spec, row.input, row.facts, row.images), row.error);
  expect(view(spec, row.input, row.facts, row.images)).toMatchObject(row.doc ?? {});
}
