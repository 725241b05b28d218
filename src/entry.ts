import { main } from './main.js';
import { commandsRun } from './io/run-count.js';

/**
 * For bin/vm-state: whether this run read the system. Only such a run compiles
 * the code every command needs (config, zod, execa, the parsers), so only its
 * compiled code is worth caching; `--help` or a usage error compiles a third.
 */
export const worthCaching = () => commandsRun.count > 0;

// `vm-state list | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

// A promise chain, not top-level await: the bundle is a CommonJS script (see scripts/build.mjs).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
