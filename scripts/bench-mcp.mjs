// Benchmark (not a test) of `vm-state mcp`: the round trip of an MCP `list` call to a warm server
// (the SDK's client, the server started once) against the CLI's `vm-state --json list`, and a
// ping (the protocol alone, no child), interleaved round by round, in one run; the server
// over `ssh -T` too; and how many processes each starts per call. Everything is timed inside the
// lab (no nsenter per call), on BENCH_STATES states of BENCH_SNAPSHOTS snapshots each.
// Run: npm run bench -- --mcp (LAB_NAME picks the lab, as lab/up reads it).
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 31);
const STATES = Number(process.env.BENCH_STATES ?? 20);
const SNAPSHOTS = Number(process.env.BENCH_SNAPSHOTS ?? 5);
const LAB = process.env.LAB_NAME ?? 'vmstate-lab';
const P = 'microvms/storage/states';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (!process.argv.includes('--inside')) {
  execFileSync(`${ROOT}lab/up`, [], { stdio: 'inherit' });
  execFileSync(`${ROOT}lab/reset`, [], { stdio: 'inherit' });
  process.stderr.write(`bench: ${STATES} states with ${SNAPSHOTS} snapshots each...\n`);
  const names = Array.from({ length: STATES }, (_, i) => `b${i}`);
  // zfs-fuse's zfs snapshot takes one name: -r makes each round of them, the parent's own goes again.
  const script =
    `for n in ${names.join(' ')}; do zfs create ${P}/$n; done; ` +
    `for k in $(seq 1 ${SNAPSHOTS}); do zfs snapshot -r ${P}@s$k && zfs destroy ${P}@s$k; done`;
  execFileSync(`${ROOT}lab/exec`, ['bash', '-c', script], { stdio: 'inherit' });
  // The repo is bound read-only at /opt/vm-state in the lab (lab/README.md): the SDK's client is there.
  // lab/exec passes only VM_STATE_*: the rest is said with env.
  const settings = Object.entries({
    LAB_NAME: LAB,
    BENCH_ROUNDS: ROUNDS,
    BENCH_STATES: STATES,
    BENCH_SNAPSHOTS: SNAPSHOTS,
  });
  execFileSync(
    `${ROOT}lab/exec`,
    [
      'env',
      ...settings.map(([k, v]) => `${k}=${v}`),
      'node',
      '/opt/vm-state/scripts/bench-mcp.mjs',
      '--inside',
    ],
    { stdio: 'inherit' },
  );
  execFileSync(`${ROOT}lab/reset`, [], { stdio: 'inherit' });
  process.exit(0);
}

// Inside the lab from here on.
const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');

/** A client on a server of `argv`; `trace`: VM_STATE_TRACE=1, its stderr's `+ ` lines kept. */
async function server(argv, trace = false) {
  const env = { ...process.env, ...(trace ? { VM_STATE_TRACE: '1' } : {}) };
  const transport = new StdioClientTransport({ command: argv[0], args: argv.slice(1), env, stderr: 'pipe' });
  const lines = [];
  transport.stderr?.on('data', (b) =>
    lines.push(
      ...String(b)
        .split('\n')
        .filter((l) => l.startsWith('+ ')),
    ),
  );
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  return { client, lines };
}

/** `vm-state --json list` as a program calls it: spawned, its whole output read. */
function cli(trace = false) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...(trace ? { VM_STATE_TRACE: '1' } : {}) };
    const child = spawn('vm-state', ['--json', 'list'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('close', (code) =>
      code === 0 ? resolve({ out, err }) : reject(new Error(`vm-state list: ${code} ${err}`)),
    );
  });
}

const timed = async (f) => {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
};

const direct = await server(['vm-state', 'mcp']);
const viaSsh = await server(['ssh', '-T', '-o', 'BatchMode=yes', LAB, 'vm-state', 'mcp']);
const variants = {
  'vm-state --json list (spawned, output read)': () => cli(),
  'MCP list (warm server)': () => direct.client.callTool({ name: 'list', arguments: {} }),
  'MCP list (warm server over ssh -T)': () => viaSsh.client.callTool({ name: 'list', arguments: {} }),
  'MCP ping (the protocol alone: no child)': () => direct.client.ping(),
};
const samples = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (const f of Object.values(variants)) await f(); // warm-up: compile cache, the first ssh session
for (let i = 0; i < ROUNDS; i++)
  for (const [k, f] of Object.entries(variants)) samples[k].push(await timed(f));

// The same document both ways.
const viaMcp = (await direct.client.callTool({ name: 'list', arguments: {} })).structuredContent;
const same = JSON.stringify(viaMcp) === JSON.stringify(JSON.parse((await cli()).out));

// Processes per call, each counted from the `+ ` lines the runners write with VM_STATE_TRACE=1.
const traced = await server(['vm-state', 'mcp'], true);
await traced.client.callTool({ name: 'list', arguments: {} });
await new Promise((r) => setTimeout(r, 200)); // the child's stderr, passed on
const mcpProcs = traced.lines.length;
const cliProcs = 1 + (await cli(true)).err.split('\n').filter((l) => l.startsWith('+ ')).length;
await Promise.all([direct, viaSsh, traced].map((s) => s.client.close()));

const cliMs = median(samples['vm-state --json list (spawned, output read)']);
console.log(
  `\n| in the lab, Node ${process.version}, ${STATES} states × ${SNAPSHOTS} snapshots ` +
    `| median of ${ROUNDS} |`,
);
console.log('|---|---|');
for (const [k, xs] of Object.entries(samples)) {
  const m = median(xs);
  console.log(`| ${k} | ${m.toFixed(1)} ms (${(m / cliMs).toFixed(2)}×) |`);
}
// Per round the variants ran back to back: their difference is less at the mercy of the machine's load.
const cliSamples = samples['vm-state --json list (spawned, output read)'];
const paired = (k) => median(samples[k].map((x, i) => x - cliSamples[i])).toFixed(1);
console.log(
  `| paired difference per round, MCP list − CLI (direct / over ssh) | ` +
    `${paired('MCP list (warm server)')} / ${paired('MCP list (warm server over ssh -T)')} ms |`,
);
console.log(
  `| processes started per call: CLI (vm-state, zfs, systemctl) / MCP list | ${cliProcs} / ${mcpProcs} |`,
);
console.log(`| MCP list's structuredContent equals list --json | ${same ? 'yes' : 'NO'} |`);
