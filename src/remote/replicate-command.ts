import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Context } from '../cli/context.js';
import type { Input } from '../commands/spec.js';
import { now, parseDuration } from '../core/clock.js';
import { VmStateError } from '../core/errors.js';
import { statesByName } from '../core/facts.js';
import { validateName } from '../core/names.js';
import { writeFileAtomic } from '../io/atomic-file.js';
import { withLock } from '../io/lock.js';
import { System } from '../io/system.js';
import type { Config } from '../schemas/config.js';
import { JobRecord, ReplicateOut } from '../schemas/output.js';
import type { z } from 'zod';
import { linkTo, sendRounds } from './send-command.js';
import { refreshMetricsFile } from '../cli/metrics.js';
import { thisHost } from './send-facts.js';

type Record_ = z.infer<typeof JobRecord>;
type Outcome = z.infer<typeof ReplicateOut>['jobs'][number];

/** Where a job's last result is kept (metrics reads it). */
export const jobRecordFile = (c: Config, job: string) => join(c.stateDir, 'replication', `${job}.json`);

function readRecord(c: Config, job: string): Record_ | undefined {
  try {
    const r = JobRecord.safeParse(JSON.parse(readFileSync(jobRecordFile(c, job), 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Due: never ran, the last attempt failed, or the interval has passed since the last success. */
export function isDue(record: Record_ | undefined, intervalMs: number, at: Date): boolean {
  if (!record || record.result !== 'ok' || record.lastSuccess === null) return true;
  return at.getTime() - Date.parse(record.lastSuccess) >= intervalMs;
}

export async function replicateCommand(ctx: Context, input: Input): Promise<void> {
  const c = ctx.config;
  const named = ((input.job as string[] | undefined) ?? []).map((j) => validateName('state', j));
  for (const j of named)
    if (!(j in c.replication))
      throw new VmStateError('config', `No replication job '${j}' in the configuration`, {
        hint: `Jobs: ${Object.keys(c.replication).join(', ') || 'none'}`,
      });
  const jobs = named.length ? named : Object.keys(c.replication);
  const at = now();
  const outcomes: Outcome[] = [];
  for (const job of jobs) outcomes.push(await runJob(ctx, job, named.includes(job), at));
  // The sends refreshed it before the job records were written: once more, with them.
  if (!ctx.dryRun) await refreshMetricsFile(ctx);
  if (ctx.out.json) ctx.out.document(ReplicateOut, { dryRun: ctx.dryRun, jobs: outcomes });
  const failed = outcomes.filter((o) => o.result === 'failed');
  if (failed.length)
    throw new VmStateError(
      'failed',
      `Replication failed: ${failed.map((o) => `${o.job} (${o.error})`).join('; ')}`,
      {
        hint: 'The next run retries them',
      },
    );
  if (!ctx.out.json) {
    const ran = outcomes.filter((o) => o.result === 'ok').map((o) => o.job);
    ctx.out.ok(ran.length ? `Replicated: ${ran.join(', ')}` : 'No replication job was due');
  }
}

async function runJob(ctx: Context, job: string, asked: boolean, at: Date): Promise<Outcome> {
  const c = ctx.config;
  const spec = c.replication[job]!;
  const record = readRecord(c, job);
  if (!asked && !isDue(record, parseDuration(spec.interval), at))
    return { job, result: 'skipped', why: 'not due', bytes: 0, states: [] };
  try {
    mkdirSync(c.runDir, { recursive: true });
    // Its own lock, taken at once or not at all: a job still running from the last timer is left to finish.
    return await withLock(join(c.runDir, `replicate-${job}.lock`), 0, `vm-state replicate ${job}`, () =>
      sendJob(ctx, job, at, record),
    );
  } catch (e) {
    if (e instanceof VmStateError && e.code === 'busy')
      return { job, result: 'skipped', why: 'still running', bytes: 0, states: [] };
    throw e;
  }
}

async function sendJob(ctx: Context, job: string, at: Date, before: Record_ | undefined): Promise<Outcome> {
  const c = ctx.config;
  const spec = c.replication[job]!;
  const link = linkTo(ctx, spec.remote);
  const states: Outcome['states'] = [];
  let bytes = 0;
  try {
    const names = spec.states.includes('*')
      ? statesByName(await new System(ctx.runner, c).facts())
          .filter((s) => s.kind === 'dataset' && s.replicaOf === null)
          .map((s) => s.name)
      : spec.states;
    for (const state of names) {
      const request = {
        state,
        remote: spec.remote,
        target: state,
        host: thisHost(),
        force: false,
        now: now(),
      };
      try {
        bytes += await sendRounds(ctx, link, request, { quiet: true });
        states.push({ state, ok: true });
      } catch (e) {
        states.push({ state, ok: false, error: (e as Error).message });
        if (!ctx.out.json) ctx.out.warn(`${job}: ${state}: ${(e as Error).message}`);
      }
    }
  } finally {
    await link.close();
  }
  const bad = states.filter((s) => !s.ok);
  const outcome: Outcome = {
    job,
    result: bad.length ? 'failed' : 'ok',
    ...(bad.length
      ? {
          error: `${bad.length} of ${states.length} state(s) not sent: ${bad.map((s) => s.state).join(', ')}`,
        }
      : {}),
    bytes,
    states,
  };
  if (!ctx.dryRun) {
    const rec: Record_ = {
      job,
      remote: spec.remote,
      lastAttempt: at.toISOString(),
      lastSuccess: bad.length ? (before?.lastSuccess ?? null) : at.toISOString(),
      result: bad.length ? 'failed' : 'ok',
      ...(outcome.error ? { error: outcome.error } : {}),
      bytes,
      states,
    };
    const file = jobRecordFile(c, job);
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomic(file, `${JSON.stringify(rec, null, 2)}\n`);
  }
  return outcome;
}
