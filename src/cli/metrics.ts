import { VmStateError } from '../core/errors.js';
import { exposition, metricFamilies, metricsDocument, type Family } from '../core/metrics.js';
import { writeFileAtomic } from '../io/atomic-file.js';
import { readJobStatuses } from '../io/replication-records.js';
import { System } from '../io/system.js';
import { MetricsOut } from '../schemas/output.js';
import type { Context } from './context.js';

/**
 * What the metrics say now: the facts as `list` reads them (one `zfs get -r`, one `systemctl
 * show`), the replication jobs' records, the time. Read-only: no lock, so a run never waits for
 * (or delays) a change.
 */
async function gather(ctx: Context): Promise<{ families: Family[]; now: Date }> {
  const facts = await new System(ctx.runner, ctx.config).facts();
  const jobs = readJobStatuses(ctx.config);
  for (const j of jobs) if (j.unreadable) ctx.out.warn(`Replication job ${j.job}: ${j.unreadable}`);
  const now = new Date();
  return { families: metricFamilies(facts, jobs, now), now };
}

/**
 * Replaces `path` whole (temp file in its directory, fsync, rename): node_exporter's textfile
 * collector, reading `*.prom` at any moment, sees the old file or the new one, never half of one.
 */
function writeMetricsFile(path: string, text: string): void {
  try {
    writeFileAtomic(path, text);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new VmStateError(
      err.code === 'ENOENT' ? 'not-found' : err.code === 'EACCES' ? 'permission' : 'failed',
      `Cannot write the metrics file ${path}: ${err.message}`,
    );
  }
}

/** `vm-state metrics [--output FILE]`: the exposition on stdout or into FILE; --json: the samples. */
export async function metrics(
  ctx: Context,
  output: string | undefined,
  write: (text: string) => void,
): Promise<void> {
  const { families, now } = await gather(ctx);
  const text = exposition(families);
  if (output !== undefined && ctx.dryRun) ctx.out.info(`--dry-run: ${output} is left as it is`);
  if (output !== undefined && !ctx.dryRun) writeMetricsFile(output, text);
  if (ctx.out.json) ctx.out.document(MetricsOut, metricsDocument(families, now));
  else if (output === undefined || ctx.dryRun) write(text);
}

/**
 * After a mutating command (done or undone), the metrics file (config `metricsFile`) is written
 * anew from facts read again, so it never shows what was before the change for a timer's period.
 * Best effort: a failure is a warning, never the command's failure.
 */
export async function refreshMetricsFile(ctx: Context): Promise<void> {
  const file = ctx.config.metricsFile;
  if (file === undefined || ctx.dryRun) return;
  try {
    writeMetricsFile(file, exposition((await gather(ctx)).families));
  } catch (e) {
    ctx.out.warn(`The metrics file was not refreshed: ${(e as Error).message}`);
  }
}
