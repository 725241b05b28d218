// `vm-state mcp` for real: the SDK's own client starts the server in the lab as a child process
// (lab/exec, and once through ssh to the lab's own sshd), lists the tools, calls them, and checks
// every result against the output schemas; writes need --allow-writes and a plan token.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { OUTPUT_SCHEMAS, ResultOut } from '../../src/schemas/output.js';
import { costly, datasetExists, ok, P, resetLab, slow, vm } from './lab.js';

const LAB_EXEC = fileURLToPath(new URL('../../lab/exec', import.meta.url));
/** The lab's own name is a Host of its ssh_config (lab/README.md, "Two labs"). */
const LAB = process.env.LAB_NAME ?? 'vmstate-lab';

type Result = Awaited<ReturnType<Client['callTool']>>;
const clients: Client[] = [];

/** An SDK client on `vm-state mcp ARGS` started in the lab: directly, or as `ssh -T LAB vm-state mcp`. */
async function connect(args: string[], via: 'exec' | 'ssh' = 'exec'): Promise<Client> {
  const command = ['vm-state', 'mcp', ...args];
  const transport = new StdioClientTransport({
    command: LAB_EXEC,
    args: via === 'ssh' ? ['ssh', '-T', '-o', 'BatchMode=yes', LAB, ...command] : command,
    env: { ...(process.env as Record<string, string>), NO_COLOR: '1' },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'vm-state-e2e', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

const text = (r: Result) => (r.content as { type: string; text: string }[]).map((c) => c.text).join('\n');
/** An error result's document: the CLI's error (code, exitCode, message), or the server's refusal. */
const errorOf = (r: Result) => {
  expect(r.isError, text(r)).toBe(true);
  const last = text(r).trim().split('\n').at(-1)!;
  return OUTPUT_SCHEMAS.error.parse(JSON.parse(last)).error;
};
/** The SDK's 60 s per request is not enough for a change on OpenZFS under TCG (a run costs seconds). */
const TIMEOUT = slow ? 600_000 : 60_000;
const call = (c: Client, name: string, args: Record<string, unknown> = {}) =>
  c.callTool({ name, arguments: args }, undefined, { timeout: TIMEOUT }) as Promise<Result>;

describe('vm-state mcp', () => {
  let reader: Client;
  let writer: Client;

  beforeAll(async () => {
    await resetLab();
    await ok(['vm-state', 'create', 'mcp-a']);
    await ok(['vm-state', 'assign', 'slot1', 'mcp-a']);
    await ok(['vm-state', 'snapshot', 'slot1', 'first']);
    // A remote the lab reaches over its own sshd: remote check has something to check.
    await ok(['vm-state', 'remote', 'add', 'self', LAB]);
    [reader, writer] = await Promise.all([connect([]), connect(['--allow-writes'])]);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await resetLab();
  });

  costly('the MCP protocol and the CLI it runs: the same whatever the ZFS')(
    'lists the tools of the command table with their schemas and annotations',
    async () => {
      const { tools } = await writer.listTools();
      const names = tools.map((t) => t.name);
      expect(names).toEqual(
        expect.arrayContaining(['list', 'show', 'snapshots', 'log', 'remote_list', 'remote_check']),
      );
      expect(names).toEqual(expect.arrayContaining(['create', 'snapshot', 'snapshot_delete', 'delete']));
      // What makes no sense as a tool is not one.
      for (const no of ['completion', 'schema', 'serve', 'mcp', '__complete', 'send', 'doctor', 'apply'])
        expect(names).not.toContain(no);
      for (const t of tools) {
        expect(t.inputSchema.type).toBe('object');
        expect(t.outputSchema?.type).toBe('object');
        expect(t.description).toBeTruthy();
      }
      const by = (n: string) => tools.find((t) => t.name === n)!;
      expect(by('list').annotations).toMatchObject({ readOnlyHint: true, idempotentHint: true });
      expect(by('delete').annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
      expect(by('create').annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
      expect(by('prune').annotations).toMatchObject({ destructiveHint: true, idempotentHint: true });
      expect(by('delete').inputSchema.required).toEqual(['state']);
      expect(Object.keys(by('delete').inputSchema.properties ?? {})).toEqual(['state', 'now', 'planToken']);
      expect(by('snapshot').inputSchema.properties).toHaveProperty(
        'stop',
        expect.objectContaining({ type: 'boolean' }),
      );

      // Without --allow-writes: only the read-only ones.
      const readOnly = (await reader.listTools()).tools;
      expect(readOnly.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
      expect(readOnly.map((t) => t.name).sort()).toEqual(
        ['list', 'log', 'remote_check', 'remote_list', 'show', 'snapshots', 'trash_list'].sort(),
      );
    },
  );

  costly('the MCP protocol and the CLI it runs: the same whatever the ZFS')(
    'calls every read-only tool; each result is its --json document, valid against its schema',
    async () => {
      const calls: [string, Record<string, unknown>, keyof typeof OUTPUT_SCHEMAS][] = [
        ['list', {}, 'list'],
        ['show', { state: 'mcp-a' }, 'show'],
        ['snapshots', {}, 'snapshots'],
        ['snapshots', { state: 'mcp-a' }, 'snapshots'],
        ['log', { lines: 5 }, 'log'],
        ['remote_list', {}, 'remotes'],
        ['remote_check', { name: 'self' }, 'remote-check'],
      ];
      for (const [name, args, schema] of calls) {
        const r = await call(reader, name, args);
        expect(r.isError, `${name}: ${text(r)}`).toBeFalsy();
        const doc = OUTPUT_SCHEMAS[schema].parse(r.structuredContent);
        // The same document the CLI prints (times and the journal move on: list is the one compared).
        if (name === 'list') expect(doc).toEqual(JSON.parse(await ok(['vm-state', '--json', 'list'])));
      }
      const show = OUTPUT_SCHEMAS.show.parse(
        (await call(reader, 'show', { state: 'mcp-a' })).structuredContent,
      );
      expect(show.snapshots.map((s) => s.name)).toEqual(['first']);
      // A command's refusal comes back as the CLI said it: message, code, exit code.
      const missing = errorOf(await call(reader, 'show', { state: 'no-such-state' }));
      expect(missing).toMatchObject({ code: 'not-found', exitCode: 3 });
    },
  );

  costly('the MCP protocol and the CLI it runs: the same whatever the ZFS')(
    'refuses a write without --allow-writes, and changes nothing',
    async () => {
      const r = await call(reader, 'delete', { state: 'mcp-a' });
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/changes the system.*--allow-writes/s);
      expect(await datasetExists(`${P}/mcp-a`)).toBe(true);
    },
  );

  costly('the MCP protocol and the CLI it runs: the same whatever the ZFS')(
    'delete: a plan and a token first, then that token runs it, once',
    async () => {
      await ok(['vm-state', 'create', 'mcp-b']);
      const plan = await call(writer, 'delete', { state: 'mcp-b' });
      expect(plan.isError, text(plan)).toBeFalsy();
      const doc = ResultOut.extend({}).parse(plan.structuredContent);
      expect(doc).toMatchObject({ command: 'delete', dryRun: true });
      // The exact zfs steps, whatever they are (a destroy, or a move to the trash).
      expect(doc.steps.some((s) => s.command.startsWith('zfs ') && s.command.includes(`${P}/mcp-b`))).toBe(
        true,
      );
      const token = (plan.structuredContent as { planToken: string }).planToken;
      expect(token).toMatch(/^vsp1\.\d+\.[0-9a-f]{64}$/);
      expect(text(plan)).toContain(token);
      expect(await datasetExists(`${P}/mcp-b`)).toBe(true); // a plan changes nothing

      const done = await call(writer, 'delete', { state: 'mcp-b', planToken: token });
      expect(done.isError, text(done)).toBeFalsy();
      expect(ResultOut.parse(done.structuredContent)).toMatchObject({
        command: 'delete',
        dryRun: false,
        ok: true,
      });
      expect(await datasetExists(`${P}/mcp-b`)).toBe(false);

      const again = errorOf(await call(writer, 'delete', { state: 'mcp-b', planToken: token }));
      expect(again.message).toMatch(/used already/);
    },
  );

  costly('the MCP protocol and the CLI it runs: the same whatever the ZFS')(
    'a token is refused when its facts changed (another command ran), or for another call',
    async () => {
      await ok(['vm-state', 'create', 'mcp-c']);
      const plan = await call(writer, 'delete', { state: 'mcp-c' });
      const token = (plan.structuredContent as { planToken: string }).planToken;
      expect(token).toBeTruthy();
      // For another state: refused by the server, before anything runs (and the token is not used up).
      const other = errorOf(await call(writer, 'delete', { state: 'mcp-a', planToken: token }));
      expect(other.message).toMatch(/another call/);
      // Another command ran: mcp-c now has a snapshot (and a clone), so its delete would be another plan.
      await ok(['vm-state', 'clone', 'mcp-c', 'mcp-d']);
      const stale = errorOf(await call(writer, 'delete', { state: 'mcp-c', planToken: token }));
      expect(stale).toMatchObject({ code: 'conflict', exitCode: 5 });
      expect(stale.message).toMatch(/plan is stale/);
      expect(await datasetExists(`${P}/mcp-c`)).toBe(true);
      expect(await datasetExists(`${P}/mcp-d`)).toBe(true);
      // And a token that this server never issued.
      const made = errorOf(
        await call(writer, 'delete', { state: 'mcp-c', planToken: `vsp1.1.${'0'.repeat(64)}` }),
      );
      expect(made.message).toMatch(/not issued by this server/);
    },
  );

  costly('the MCP protocol and the CLI it runs: the same whatever the ZFS')(
    'arguments that fail the schema: a clear error, nothing run, nothing changed',
    async () => {
      const before = await ok(['zfs', 'list', '-H', '-t', 'all', '-o', 'name', '-r', P]);
      const bad: [string, Record<string, unknown>, RegExp][] = [
        ['show', { state: '../../etc' }, /state: letters, digits/],
        ['show', {}, /state: /],
        ['create', { name: '-rf' }, /name: /],
        ['delete', { state: 'mcp-a', force: true }, /force|unrecognized/i],
        ['snapshot', { slot: 'slot9', name: 'x' }, /slot: /],
        ['prune', { keep: [3] }, /keep: /],
        ['delete', { state: 'mcp-a', planToken: 42 }, /planToken: /],
      ];
      for (const [name, args, why] of bad) {
        const e = errorOf(await call(writer, name, args));
        expect(e.message, name).toMatch(/^Invalid arguments for/);
        expect(e.message, name).toMatch(why);
        expect(e).toMatchObject({ code: 'usage', exitCode: 2 });
      }
      // An unknown tool is a protocol error; the server answers the next request all the same.
      await expect(call(writer, 'format_disk', {})).rejects.toThrow(/Unknown tool/);
      expect((await call(writer, 'list')).isError).toBeFalsy();
      expect(await ok(['zfs', 'list', '-H', '-t', 'all', '-o', 'name', '-r', P])).toBe(before);
    },
  );

  costly('the MCP protocol and the CLI it runs: the same whatever the ZFS')(
    '--tools narrows what is offered',
    async () => {
      const c = await connect(['--allow-writes', '--tools', 'list,show,snapshot']);
      expect((await c.listTools()).tools.map((t) => t.name)).toEqual(['list', 'snapshot', 'show']);
      expect(text(await call(c, 'delete', { state: 'mcp-a' }))).toMatch(/not offered by this server/);
      const bad = await vm(['mcp', '--tools', 'list,nope']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/no tool nope/);
    },
  );

  costly('the MCP protocol and the CLI it runs: the same whatever the ZFS')(
    'over ssh: ssh -T HOST vm-state mcp',
    async () => {
      const c = await connect([], 'ssh');
      const { tools } = await c.listTools();
      expect(tools.map((t) => t.name)).toContain('list');
      const r = await call(c, 'list');
      expect(r.isError, text(r)).toBeFalsy();
      expect(OUTPUT_SCHEMAS.list.parse(r.structuredContent).states.map((s) => s.name)).toContain('mcp-a');
    },
  );

  costly('the MCP protocol and the CLI it runs: the same whatever the ZFS')(
    'a key held to the server: its forced command decides the flags, whatever the client asks',
    async () => {
      const key = '/root/.ssh/mcp_test';
      await ok(['rm', '-f', key, `${key}.pub`]);
      await ok(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key]);
      const pub = (await ok(['cat', `${key}.pub`])).trim();
      // lab/reset (afterAll) puts the lab's own authorized_keys back.
      await ok(['sh', '-c', 'cat >> "$0"', '/root/.ssh/authorized_keys'], {
        input: `command="vm-state mcp --tools list,show",restrict ${pub}\n`,
      });
      const transport = new StdioClientTransport({
        command: LAB_EXEC,
        args: [
          'ssh',
          '-T',
          '-o',
          'BatchMode=yes',
          '-o',
          'IdentitiesOnly=yes',
          '-i',
          key,
          LAB,
          'vm-state',
          'mcp',
          '--allow-writes',
        ],
        env: process.env as Record<string, string>, // LAB_NAME: the lab lab/exec enters
        stderr: 'pipe',
      });
      const c = new Client({ name: 'vm-state-e2e', version: '1.0.0' });
      await c.connect(transport);
      clients.push(c);
      expect((await c.listTools()).tools.map((t) => t.name)).toEqual(['list', 'show']);
      expect(text(await call(c, 'delete', { state: 'mcp-a' }))).toMatch(/--allow-writes/);
    },
  );

  costly('the MCP protocol and the CLI it runs: the same whatever the ZFS')(
    'garbage on its input: JSON-RPC errors, and the server answers the next request',
    async () => {
      const child = spawn(LAB_EXEC, ['vm-state', 'mcp'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const lines: Record<string, unknown>[] = [];
      let buffered = '';
      child.stdout.on('data', (b: Buffer) => {
        buffered += b.toString();
        for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
          lines.push(JSON.parse(buffered.slice(0, i)) as Record<string, unknown>);
          buffered = buffered.slice(i + 1);
        }
      });
      const send = (s: string) => child.stdin.write(`${s}\n`);
      const answer = async (id: number) => {
        for (let i = 0; i < TIMEOUT / 50 && !lines.some((l) => l.id === id); i++)
          await new Promise((r) => setTimeout(r, 50));
        return lines.find((l) => l.id === id);
      };
      send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'raw', version: '1' },
          },
        }),
      );
      expect(await answer(1)).toHaveProperty('result.serverInfo.name', 'vm-state');
      send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
      send('this is not JSON {');
      send('{"jsonrpc": "1.0", "what": []}');
      send('\u0000\u00ff\u00fe');
      send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'no/such/method' }));
      send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 42 } }));
      send(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list' }));
      const list = await answer(4);
      expect((list as { result: { tools: unknown[] } }).result.tools.length).toBeGreaterThan(0);
      expect(await answer(2)).toHaveProperty('error.code', -32601);
      expect(await answer(3)).toHaveProperty('error.code', -32602);
      const errors = lines.filter((l) => l.id === null).map((l) => (l.error as { code: number }).code);
      expect(errors).toEqual([-32700, -32600, -32700]);
      expect(child.exitCode).toBeNull(); // still up
      child.stdin.end(); // the client going away ends it
      const code = await new Promise((r) => child.on('exit', r));
      expect(code).toBe(0);
    },
  );
});
