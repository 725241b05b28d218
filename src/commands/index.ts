import { adopt } from './adopt.js';
import { apply } from './apply.js';
import { autoSnapshot } from './auto-snapshot.js';
import { assign } from './assign.js';
import { clone } from './clone.js';
import { complete, completion } from './completion.js';
import { create } from './create.js';
import { deleteState } from './delete.js';
import { doctor } from './doctor.js';
import { list } from './list.js';
import { metrics } from './metrics.js';
import { log } from './log.js';
import { mcp } from './mcp.js';
import { migrate } from './migrate.js';
import { preflight } from './preflight.js';
import { prune } from './prune.js';
import { rename } from './rename.js';
import { restore } from './restore.js';
import { rollback } from './rollback.js';
import { schema } from './schema.js';
import { remoteAdd, remoteCheck, remoteList, remoteRemove } from './remote.js';
import { send } from './send.js';
import { replicate } from './replicate.js';
import { serve } from './serve.js';
import { show } from './show.js';
import { snapshot } from './snapshot.js';
import { snapshotDelete } from './snapshot-delete.js';
import { snapshots } from './snapshots.js';
import { trashList } from './trash-list.js';
import { trashPurge } from './trash-purge.js';
import { undelete } from './undelete.js';
import type { CommandSpec, ReadmeRow } from './spec.js';

/**
 * Every command, in the order `--help` and the README list them. A new
 * command is one module in this folder and one line here.
 */
export const COMMANDS: readonly CommandSpec[] = [
  list,
  create,
  snapshot,
  snapshotDelete,
  assign,
  clone,
  deleteState,
  undelete,
  trashList,
  trashPurge,
  migrate,
  restore,
  snapshots,
  show,
  log,
  rollback,
  prune,
  autoSnapshot,
  rename,
  adopt,
  preflight,
  doctor,
  apply,
  metrics,
  remoteAdd,
  remoteList,
  remoteRemove,
  remoteCheck,
  send,
  replicate,
  serve,
  mcp,
  completion,
  schema,
  complete,
];

/** Nouns whose subcommands are in the table, with what `--help` says of them. */
export const GROUPS: Readonly<Record<string, string>> = {
  remote: 'other hypervisors that states are sent to (add, list, remove, check)',
  trash: 'deleted states, kept for trash.keep (list, purge)',
};

/** commander's own help, the README's last row. */
const HELP_ROW: ReadmeRow = {
  usage: '`vm-state help`, `--help`, `-h`, `--version`',
  text: 'usage with examples, exit codes',
};

/** The README's command table, one row per line, as the test compares it. */
export const readmeRows = (): string[] =>
  [...COMMANDS.flatMap((c) => c.readme), HELP_ROW].map((r) => `| ${r.usage} | ${r.text} |`);
