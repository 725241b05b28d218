import { z } from 'zod';
import { nameProblem } from './names.js';

/**
 * What `vm-state send` and `vm-state serve` say to each other over ssh. The
 * request travels in the command line (`vm-state serve --request <base64url>`),
 * so that standard input is free for the zfs stream; the answer is one JSON line
 * on standard output. A change that an older peer would misread bumps PROTOCOL.
 */
export const PROTOCOL = 1;

const name = z.string().refine((n) => nameProblem(n, 255) === undefined, { message: 'is not a valid name' });
const guid = z.string().regex(/^\d{1,20}$/, 'must be a ZFS guid');
/** Where a replica comes from: the sending host and its state. */
const Source = z.object({ host: z.string().regex(/^[A-Za-z0-9_.-]{1,253}$/), state: name });

export const Request = z.discriminatedUnion('op', [
  z.object({ protocol: z.number().int(), op: z.literal('hello') }),
  /** The target's facts, and the commands a receive into it would run. */
  z.object({ protocol: z.number().int(), op: z.literal('state'), name, source: Source }),
  z.object({
    protocol: z.number().int(),
    op: z.literal('receive'),
    name,
    source: Source,
    /** The snapshot the target must have as its newest (null: the target must not exist yet). */
    base: guid.nullable(),
    /** The stream continues a cut one (`zfs send -t`): the target holds its resume token. */
    resume: z.boolean(),
    /** The newest snapshot the stream carries: the new base, held on the target. */
    snapshot: name,
  }),
  /** Drops a cut receive's partial state (`zfs receive -A`): its token no longer resumes. */
  z.object({ protocol: z.number().int(), op: z.literal('abort'), name, source: Source }),
  /**
   * `send --force` on a diverged target: keep what only the target has as a clone
   * beside it, and bring the target back to `base`.
   */
  z.object({ protocol: z.number().int(), op: z.literal('set-aside'), name, source: Source, base: guid }),
  /**
   * `migrate <state> <remote>:<slot>`: the replica, whose newest snapshot is `snapshot`,
   * becomes a live state there, assigned to `slot` and started; put back as it was if that fails.
   */
  z.object({
    protocol: z.number().int(),
    op: z.literal('promote'),
    name,
    source: Source,
    snapshot: name,
    slot: name,
  }),
]);
export type Request = z.infer<typeof Request>;
/** A request as the sender builds it (the protocol number is added on the way). */
export type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'protocol'> : never) : never;

export const SnapshotOnTarget = z.object({
  name: z.string(),
  guid,
  created: z.iso.datetime(),
  holds: z.number().int().nonnegative(),
});

export const Hello = z.object({
  version: z.string(),
  host: z.string(),
  /** pool/parent of the states. */
  parent: z.string(),
  openZfs: z.boolean(),
  states: z.number().int().nonnegative(),
  available: z.number().int().nonnegative().nullable(),
  slots: z.array(z.object({ name: z.string(), state: z.string(), running: z.boolean() })),
});

export const TargetState = z.object({
  dataset: z.string(),
  exists: z.boolean(),
  /** `host:state` when it is a replica vm-state made; null for a state of its own. */
  replicaOf: z.string().nullable(),
  readonly: z.boolean(),
  snapshots: z.array(SnapshotOnTarget),
  /** A cut receive's token (OpenZFS `receive -s`). */
  resumeToken: z.string().nullable(),
  /** Bytes written since the newest snapshot (null where ZFS cannot tell: zfs-fuse). */
  written: z.number().int().nonnegative().nullable(),
  /** Free bytes for the target. */
  available: z.number().int().nonnegative().nullable(),
  /** Slots the target is assigned to there. */
  assignedTo: z.array(z.string()),
  /** The commands a receive would run there, for --dry-run. */
  receive: z.array(z.array(z.string())),
});

export const Received = z.object({ dataset: z.string(), snapshots: z.array(z.string()) });
export const SetAside = z.object({ dataset: z.string(), keptAs: z.string(), snapshots: z.array(z.string()) });

export const ErrorReply = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
});

export const Reply = z.union([
  z.object({ protocol: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ protocol: z.number().int(), ok: z.literal(false), error: ErrorReply }),
]);
export type Reply = z.infer<typeof Reply>;

export const RESULT_OF = {
  hello: Hello,
  state: TargetState,
  receive: Received,
  abort: z.object({}),
  'set-aside': SetAside,
  promote: z.object({ dataset: z.string(), slot: z.string(), unit: z.string() }),
} as const;
export type ResultOf<Op extends keyof typeof RESULT_OF> = z.infer<(typeof RESULT_OF)[Op]>;

export const encodeRequest = (r: Request): string => Buffer.from(JSON.stringify(r)).toString('base64url');
export const decodeRequest = (text: string): unknown =>
  JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
