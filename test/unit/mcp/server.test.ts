import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../src/commands/index.js';
import { serveMcp, type McpOptions } from '../../../src/mcp/server.js';
import { ConfigSchema } from '../../../src/schemas/config.js';

const FAKE = fileURLToPath(new URL('../../fixtures/mcp/fake-cli.mjs', import.meta.url));

/** The client's end of the server's standard input and output. */
class StreamTransport implements Transport {
  onmessage?: (m: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (e: Error) => void;
  private readonly buffer = new ReadBuffer();
  constructor(
    private readonly from: PassThrough,
    private readonly to: PassThrough,
  ) {}
  async start() {
    this.from.on('data', (chunk: Buffer) => {
      this.buffer.append(chunk);
      for (let m = this.buffer.readMessage(); m; m = this.buffer.readMessage()) this.onmessage?.(m);
    });
  }
  async send(m: JSONRPCMessage) {
    this.to.write(serializeMessage(m));
  }
  async close() {
    this.to.end();
    this.onclose?.();
  }
}

/** Each server's input, and its end: the client going away ends it. */
let servers: { stdin: PassThrough; ended: Promise<unknown> }[] = [];
afterEach(async () => {
  for (const s of servers) s.stdin.end();
  await Promise.all(servers.map((s) => s.ended));
  servers = [];
});

/** A server on streams, running the fake CLI; and a client on it. */
async function start(opts: Partial<McpOptions> = {}) {
  const log = join(mkdtempSync(join(tmpdir(), 'vm-state-mcp-')), 'argv');
  process.env.FAKE_LOG = log;
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const said: string[] = [];
  const ended = serveMcp(
    { allowWrites: false, planTtlSeconds: 600, ...opts },
    {
      config: ConfigSchema.parse({}),
      commands: COMMANDS,
      cli: [process.execPath, FAKE],
      globals: ['--config', '/etc/x.json'],
      stdin,
      stdout,
      stderr: { write: (s: string) => said.push(s) },
      usageError: (message) => new Error(message),
    },
  );
  servers.push({ stdin, ended: ended.catch(() => {}) });
  const client = new Client({ name: 'unit', version: '1' });
  // A server that refuses to start ends before it answers.
  await Promise.race([client.connect(new StreamTransport(stdout, stdin)), ended]);
  const argvs = () =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);
  return { client, argvs, said, stdin };
}

type Result = { content: { text: string }[]; isError?: boolean; structuredContent?: Record<string, unknown> };
const call = async (c: Client, name: string, args: Record<string, unknown> = {}) =>
  (await c.callTool({ name, arguments: args })) as Result;

describe('vm-state mcp, against a stand-in vm-state', () => {
  it('runs a read-only tool as `vm-state --json`, its document as structuredContent and text', async () => {
    const { client, argvs, said } = await start();
    const r = await call(client, 'list');
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({
      parent: 'p/s',
      parentExists: true,
      slots: [],
      states: [],
      snapshots: [],
      trash: { entries: 0, used: 0 },
    });
    expect(r.content[0]!.text.split('\n')[0]).toBe('0 slots, 0 states, 0 snapshots');
    expect(argvs()).toEqual([['--json', '--config', '/etc/x.json', 'list']]);
    expect(said.join('')).toMatch(/writes are off/);
    await client.close();
  });

  it('a mutation: --dry-run gives plan and token, the token runs it: --expect-plan --yes', async () => {
    const { client, argvs } = await start({ allowWrites: true });
    const plan = await call(client, 'delete', { state: 'dev' });
    const token = plan.structuredContent!.planToken as string;
    expect(token).toMatch(/^vsp1\./);
    expect(plan.structuredContent).toMatchObject({ dryRun: true, token, planExpiresAt: expect.any(String) });
    expect(plan.content[0]!.text).toMatch(
      /^Plan, nothing done yet: delete dev\n {2}1\. zfs destroy p\/s\/dev/,
    );
    const done = await call(client, 'delete', { state: 'dev', planToken: token });
    expect(done.structuredContent).toMatchObject({ dryRun: false, ok: true });
    expect(done.content[0]!.text).toMatch(/^Done: delete dev\ndone dev/);
    expect(argvs()).toEqual([
      ['--json', '--dry-run', '--config', '/etc/x.json', 'delete', 'dev'],
      ['--json', '--yes', '--expect-plan', token, '--config', '/etc/x.json', 'delete', 'dev'],
    ]);
    const again = await call(client, 'delete', { state: 'dev', planToken: token });
    expect(again.isError).toBe(true);
    expect(again.content[0]!.text).toMatch(/used already/);
    expect(argvs()).toHaveLength(2); // refused before anything ran
    await client.close();
  });

  it("a stale plan: the CLI's refusal, and the token is used up all the same", async () => {
    const { client } = await start({ allowWrites: true });
    const token = (await call(client, 'delete', { state: 'stale' })).structuredContent!.planToken;
    const r = await call(client, 'delete', { state: 'stale', planToken: token });
    expect(r.isError).toBe(true);
    expect(JSON.parse(r.content[0]!.text.split('\n').at(-1)!)).toEqual({
      error: { code: 'conflict', exitCode: 5, message: expect.stringMatching(/^plan is stale/) },
    });
    expect((await call(client, 'delete', { state: 'stale', planToken: token })).content[0]!.text).toMatch(
      /used/,
    );
    await client.close();
  });

  it('a command that fails, crashes or prints no document fails that call only', async () => {
    const { client } = await start();
    const missing = await call(client, 'show', { state: 'missing' });
    expect(missing.isError).toBe(true);
    expect(missing.content[0]!.text).toMatch(
      /^State 'missing' does not exist\n\{"error":\{"code":"not-found","exitCode":3/,
    );
    const crash = await call(client, 'show', { state: 'crash' });
    expect(crash.isError).toBe(true);
    expect(crash.content[0]!.text).toMatch(/exited 139/);
    expect((await call(client, 'show', { state: 'junk' })).content[0]!.text).toMatch(/schema refuses/);
    expect((await call(client, 'list')).isError).toBeFalsy();
    await client.close();
  });

  it('an expired token is refused before anything runs', async () => {
    const { client, argvs } = await start({ allowWrites: true, planTtlSeconds: 1 });
    const token = (await call(client, 'create', { name: 'n' })).structuredContent!.planToken;
    await new Promise((r) => setTimeout(r, 1100));
    const r = await call(client, 'create', { name: 'n', planToken: token });
    expect(r.content[0]!.text).toMatch(/expired/);
    expect(argvs()).toHaveLength(1);
    await client.close();
  });

  it('--tools: only those; an unknown name is refused at start', async () => {
    const { client } = await start({ allowWrites: true, tools: ['list', 'snapshot delete'] });
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['list', 'snapshot_delete']);
    await client.close();
    await expect(start({ tools: ['list', 'rm'] })).rejects.toThrow(/--tools: no tool rm/);
  });
});
