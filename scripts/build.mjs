// Bundles src/ into the files bin/vm-state runs (with Node's compile cache):
// dist/vm-state.cjs, the command line (commander and the command table, all that
// `--help` needs), and dist/run.cjs, what runs a command, which the first command
// that runs loads; dist/mcp.cjs, the server that only `vm-state mcp` loads; and
// dist/help.txt, the top-level help bin/vm-state prints itself. The Nix package
// installs the four, and no dependency is needed at run time. zod is
// never initialised by `--help` (README, "Start-up"). Deterministic: CI rebuilds
// them and compares byte for byte.
//
// CommonJS rather than an ES module: Node's compile cache serves both, but
// loading the bundle as an ES module is slower at start (README, "Start-up").
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

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

// Every file alike: one CommonJS file each, for the Node the package declares.
const bundle = (outfile, more) =>
  build({
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

await bundle('dist/mcp.cjs', { entryPoints: ['src/mcp/server.ts'], plugins: [englishOnlyZod] });

/**
 * The command line and what runs a command, in two files: `--help` reads and
 * takes in only the first. The first is src/entry.ts and all it imports; each
 * import() it makes of a module of src/ goes to dist/run.cjs, which holds every
 * other module, each started when first required. A module the first file holds
 * is never copied into the second: run.cjs takes it from vm-state.cjs, so each
 * module (its classes, for `instanceof`) exists once.
 */
const key = (path) => relative(process.cwd(), path);
const srcOf = (args) => resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts'));

// Which modules the command line holds, and which it imports later.
const later = new Set();
const { metafile } = await build({
  entryPoints: ['src/entry.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
  metafile: true,
  logLevel: 'warning',
  plugins: [
    lazyChildProcess,
    {
      name: 'imports-later',
      setup(b) {
        b.onResolve({ filter: /^\./ }, (args) => {
          if (args.kind !== 'dynamic-import') return undefined;
          later.add(key(srcOf(args)));
          return { path: args.path, external: true };
        });
      },
    },
  ],
});
const front = new Set(Object.keys(metafile.inputs).filter((p) => p.startsWith('src/')));
for (const p of front) later.delete(p);

const shared = new Set();
// dist/run.cjs: every module the command line imports later, each started when first required.
await bundle('dist/run.cjs', {
  stdin: {
    contents: [
      'const later = {',
      ...[...later].sort().map((p) => `  ${JSON.stringify(p)}: () => require('./${p}'),`),
      '};',
      'export const start = (name) => later[name]();',
    ].join('\n'),
    resolveDir: process.cwd(),
    sourcefile: 'src/run.ts',
  },
  // First, so the whole file stays strict; then the libraries' functions (see prebundle).
  banner: { js: `"use strict";\n${prebundled.join('')}` },
  plugins: [
    ...libraries,
    {
      name: 'from-the-command-line',
      setup(b) {
        b.onResolve({ filter: /^\./ }, (args) => {
          const path = key(srcOf(args));
          if (!front.has(path)) return undefined;
          shared.add(path);
          return { path, namespace: 'from-the-command-line' };
        });
        b.onResolve({ filter: /^\.\/vm-state\.cjs$/ }, () => ({ path: './vm-state.cjs', external: true }));
        b.onLoad({ filter: /.*/, namespace: 'from-the-command-line' }, (args) => ({
          contents: `module.exports = require('./vm-state.cjs').modules[${JSON.stringify(args.path)}];`,
          loader: 'js',
        }));
      },
    },
  ],
});

// dist/vm-state.cjs: the command line, and the modules of it that run.cjs takes from here, by name.
const exposed = [...shared].sort();
await bundle('dist/vm-state.cjs', {
  stdin: {
    contents: [
      ...exposed.map((p, i) => `import * as m${i} from './${p}';`),
      `export const modules = { ${exposed.map((p, i) => `${JSON.stringify(p)}: m${i}`).join(', ')} };`,
      "import './src/entry.ts';",
    ].join('\n'),
    resolveDir: process.cwd(),
    sourcefile: 'src/front.ts',
  },
  plugins: [
    lazyChildProcess,
    {
      name: 'run-later',
      setup(b) {
        b.onResolve({ filter: /^\./ }, (args) => {
          const path = key(srcOf(args));
          return args.kind === 'dynamic-import' && later.has(path)
            ? { path, namespace: 'run-later' }
            : undefined;
        });
        b.onResolve({ filter: /^\.\/run\.cjs$/ }, () => ({ path: './run.cjs', external: true }));
        b.onLoad({ filter: /.*/, namespace: 'run-later' }, (args) => ({
          contents: `module.exports = require('./run.cjs').start(${JSON.stringify(args.path)});`,
          loader: 'js',
        }));
      },
    },
  ],
});

// dist/help.txt: the command line's own `--help` off a terminal, where commander wraps
// at 80 columns: bin/vm-state prints it to a pipe or a file without loading the bundle.
const help = execFileSync(process.execPath, ['dist/vm-state.cjs', '--help'], { env: {}, encoding: 'utf8' });
writeFileSync('dist/help.txt', help);
