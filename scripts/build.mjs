// Bundles src/ into the single file dist/vm-state.mjs that bin/vm-state runs
// and the Nix package installs; no dependency is needed at run time. The
// command actions are imported lazily, so `--help` never initialises zod or
// execa. Deterministic: CI rebuilds it and compares byte for byte.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

await build({
  entryPoints: ['src/entry.ts'],
  outfile: 'dist/vm-state.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'eof',
  define: { __VM_STATE_VERSION__: JSON.stringify(version) },
  // cli-table3 and proper-lockfile are CommonJS and call require() for Node's own modules.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
