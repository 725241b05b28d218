import type { ActionSpec } from './spec.js';

export const replicate: ActionSpec = {
  kind: 'action',
  name: 'replicate',
  args: [{ name: 'job...', kind: 'word', optional: true }],
  description: "run the config's replication jobs that are due (or those named): the timer runs it",
  readme: [
    {
      usage: '`vm-state replicate [job...]`',
      text:
        "runs the sends of the config's `replication` jobs that are due (interval passed, or the last run failed), " +
        'or the jobs named; each job under its own lock (one still running is skipped), a failed job does not stop ' +
        'the others; each result recorded in `stateDir/replication/<job>.json` (for `metrics`)',
    },
  ],
  run: async (ctx, input) => (await import('../remote/replicate-command.js')).replicateCommand(ctx(), input),
};
