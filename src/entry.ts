import { main } from './main.js';

// `vm-state list | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

// A promise chain, not top-level await: the bundle is CommonJS (see scripts/build.mjs).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
