// Bundles src/ into the single file dist/vm-state.cjs that bin/vm-state runs
// (with Node's compile cache) and the Nix package installs; no dependency is
// needed at run time. The command actions are imported lazily, so `--help`
// never initialises zod or execa. Deterministic: CI rebuilds it and compares
// byte for byte.
//
// CommonJS rather than an ES module: Node's compile cache serves both, but
// loading the bundle as an ES module is slower at start (README, "Start-up").
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// zod bundles the messages of every language (60% of its size); we speak English only.
const englishOnlyZod = {
  name: 'english-only-zod',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes('/node_modules/zod/')
        ? { path: 'zod-locales', namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, () => ({
      contents: "export { default as en } from 'zod/v4/locales/en.js';",
      resolveDir: process.cwd(),
    }));
  },
};

await build({
  entryPoints: ['src/entry.ts'],
  outfile: 'dist/vm-state.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minify: true,
  legalComments: 'eof',
  define: { __VM_STATE_VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
  plugins: [englishOnlyZod],
});
