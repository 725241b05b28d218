// Rewrites the README's command table from the command table (src/commands/index.ts),
// which test/unit/readme.test.ts holds it to: run after changing a spec's readme rows.
import { buildSync } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('../', import.meta.url);
const built = buildSync({
  entryPoints: [new URL('src/commands/index.ts', root).pathname],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
});
const mod = { exports: {} };
new Function('module', 'exports', 'require', built.outputFiles[0].text)(
  mod,
  mod.exports,
  createRequire(root),
);
const readme = new URL('README.md', root);
const lines = readFileSync(readme, 'utf8').split('\n');
const start = lines.indexOf('| command | what it does |') + 2;
const end = lines.findIndex((l, i) => i >= start && !l.startsWith('|'));
lines.splice(start, end - start, ...mod.exports.readmeRows());
writeFileSync(readme, lines.join('\n'));
