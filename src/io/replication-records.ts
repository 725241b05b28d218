import { readFileSync } from 'node:fs';
import type { JobStatus } from '../core/metrics.js';
import { compareNames } from '../core/names.js';
import { jobRecordFile } from '../remote/replicate-command.js';
import type { Config } from '../schemas/config.js';
import { JobRecord } from '../schemas/output.js';

/**
 * Each replication job of the config with its last run's record (`vm-state replicate` writes it):
 * none when the file is missing (the job never ran), and why when it cannot be read or is not a
 * record (it ran, but what it did is unknown). Records of jobs no longer in the config are not read.
 */
export function readJobStatuses(c: Config): JobStatus[] {
  return Object.entries(c.replication)
    .sort(([a], [b]) => compareNames(a, b))
    .map(([job, j]) => {
      const base = { job, remote: j.remote, interval: j.interval };
      const path = jobRecordFile(c, job);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ...base, record: null };
        return { ...base, record: null, unreadable: `${path}: ${(e as Error).message}` };
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        return { ...base, record: null, unreadable: `${path} is not JSON: ${(e as Error).message}` };
      }
      const parsed = JobRecord.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const where = issue.path.length ? `field ${issue.path.join('.')}` : 'the record';
        return { ...base, record: null, unreadable: `${path}: ${where}: ${issue.message}` };
      }
      return { ...base, record: parsed.data };
    });
}
