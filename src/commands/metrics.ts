import type { ActionSpec } from './spec.js';

/** Prometheus metrics; the renderer is src/core/metrics.ts, the run src/cli/metrics.ts. */
export const metrics: ActionSpec = {
  kind: 'action',
  name: 'metrics',
  args: [],
  options: [
    {
      flags: '--output <file>',
      description:
        "write into FILE instead (temp file, fsync, rename: for node_exporter's textfile collector, *.prom)",
    },
  ],
  description: 'Prometheus metrics of the states, slots, pool and replication jobs (text format 0.0.4)',
  readme: [
    {
      usage: '`vm-state metrics [--output FILE]`',
      text:
        'Prometheus text exposition of every state (space, snapshots, newest snapshot, slots, running, ' +
        'replica), slot, the pool and each replication job, on standard output or atomically into FILE; ' +
        'read-only, no lock, the two reads `list` makes; `--json`: the same samples (see "Metrics")',
    },
  ],
  run: async (ctx, input, write) =>
    (await import('../cli/metrics.js')).metrics(ctx(), input.output as string | undefined, write),
};
