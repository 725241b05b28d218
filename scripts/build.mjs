// Bundles src/ into the file dist/vm-state.cjs that bin/vm-state runs (with Node's
// compile cache), and dist/mcp.cjs, the server that only `vm-state mcp` loads; the Nix
// package installs both, and no dependency is needed at run time. The command actions are imported lazily, so `--help`
// never initialises zod (README, "Start-up"). Deterministic: CI rebuilds it and
// compares byte for byte.
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

// commander loads node:child_process (and with it net, dgram and the streams) for
// subcommands that are programs of their own, which vm-state has none of: only a
// command that spawns should pay for it, not --help.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      args.importer.includes('/node_modules/commander/')
        ? { path: 'cp', namespace: 'lazy-child-process' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-child-process' }, () => ({
      contents: "module.exports = { spawn: (...a) => require('node:child_process').spawn(...a) };",
    }));
  },
};

/**
 * Libraries bundled on their own first, each into one function that the bundle's
 * start defines, in parentheses, and calls when the library is first required.
 * V8 compiles a function in parentheses with the file, so Node's compile cache holds
 * the library's top-level code; and it runs only for the commands that need it. In
 * the bundle's own module graph a library's top-level code either runs at every start
 * (zod's ES modules define thousands of getters there, which --help paid for) or is
 * compiled afresh at every run (CommonJS: the cache holds only what V8 compiled with
 * the file). README, "Start-up". `names`: what src/ imports from it (a name not listed fails
 * the build); only those, as an ES module, so an import does not copy the whole library's
 * exports into getters of its own.
 */
const prebundled = [];
async function prebundle(pkg, names, plugins) {
  const { outputFiles } = await build({
    stdin: { contents: `export { ${names.join(', ')} } from '${pkg}';`, resolveDir: process.cwd() },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: true,
    write: false,
    logLevel: 'warning',
    plugins,
  });
  const name = `__vmState_${pkg}`;
  prebundled.push(`var ${name} = (function (exports, module) {\n${outputFiles[0].text}});\n`);
  return {
    name: `prebundled-${pkg}`,
    setup(b) {
      b.onResolve({ filter: new RegExp(`^${pkg}$`) }, () => ({ path: pkg, namespace: 'prebundled' }));
      b.onLoad({ filter: new RegExp(`^${pkg}$`), namespace: 'prebundled' }, () => ({
        contents: `const m = { exports: {} };\n${name}(m.exports, m);\nexport const { ${names.join(', ')} } = m.exports;`,
        loader: 'js',
      }));
    },
  };
}
// `vm-state mcp`'s server, with the MCP SDK (and its zod and ajv), is needed by that command alone:
// it is a file of its own, dist/mcp.cjs, which the bundle requires only when the command starts.
const mcpApart = {
  name: 'mcp-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\/server\.js$/ }, (args) =>
      args.importer.endsWith('/src/mcp/start.ts') ? { path: './mcp.cjs', external: true } : undefined,
    );
  },
};
const libraries = [await prebundle('zod', ['z'], [englishOnlyZod]), lazyChildProcess, mcpApart];

// Both files alike: one CommonJS file each, for the Node the package declares.
const bundle = (entry, outfile, more) =>
  build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: true,
    legalComments: 'eof',
    define: { __VM_STATE_VERSION__: JSON.stringify(version) },
    logLevel: 'warning',
    ...more,
  });

await bundle('src/mcp/server.ts', 'dist/mcp.cjs', { plugins: [englishOnlyZod] });
await bundle('src/entry.ts', 'dist/vm-state.cjs', {
  // First, so the whole file stays strict; then the libraries' functions (see prebundle).
  banner: { js: `"use strict";\n${prebundled.join('')}` },
  plugins: libraries,
});
