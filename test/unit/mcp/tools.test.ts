import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../src/commands/index.js';
import { toolsFromTable, type Tool } from '../../../src/mcp/tools.js';
import { ConfigSchema } from '../../../src/schemas/config.js';

const config = ConfigSchema.parse({ slots: ['slot1', 'slot2'] });
const tools = toolsFromTable(COMMANDS, config);
const tool = (name: string): Tool => tools.find((t) => t.name === name)!;
const json = (t: Tool) => z.toJSONSchema(t.input, { io: 'input' }) as { properties: Record<string, unknown> };

describe('tools from the command table', () => {
  it('one per view and mutation, and the actions that say what they print; none for the rest', () => {
    const names = tools.map((t) => t.name);
    for (const c of COMMANDS.filter((x) => x.kind !== 'action' && !x.hidden))
      expect(names).toContain(c.name.replace(/[ -]/g, '_'));
    expect(names).toEqual(expect.arrayContaining(['log', 'remote_list', 'remote_check', 'auto_snapshot']));
    for (const no of [
      'completion',
      'schema',
      'serve',
      'mcp',
      '__complete',
      'send',
      'doctor',
      'remote_add',
      'apply',
    ])
      expect(names).not.toContain(no);
  });

  it('annotations: views read-only, mutations write, the spec says what destroys', () => {
    expect(tool('list').annotations).toEqual({
      title: 'vm-state list',
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    });
    expect(tool('trash_list').annotations).toMatchObject({ readOnlyHint: true });
    expect(tool('remote_check').annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true });
    for (const name of [
      'delete',
      'trash_purge',
      'rollback',
      'prune',
      'snapshot_delete',
      'auto_snapshot',
      'adopt',
    ])
      expect(tool(name).annotations, name).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    for (const name of ['create', 'clone', 'restore', 'rename', 'migrate', 'assign', 'snapshot', 'undelete'])
      expect(tool(name).annotations, name).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    expect(tool('assign').annotations.idempotentHint).toBe(true);
    expect(tool('delete').annotations.idempotentHint).toBe(false);
    expect(tools.filter((t) => t.writes).every((t) => 'planToken' in t.input.shape)).toBe(true);
    expect(tools.filter((t) => !t.writes).some((t) => 'planToken' in t.input.shape)).toBe(false);
  });

  it('input: each argument kind as its rule, options as booleans, values, lists', () => {
    const ok = (t: string, v: unknown) => tool(t).input.safeParse(v).success;
    expect(ok('snapshot', { slot: 'slot1', name: 'before' })).toBe(true);
    expect(ok('snapshot', { slot: 'slot3', name: 'before' })).toBe(false); // not a configured slot
    expect(ok('snapshot', { slot: 'slot1', name: 'a..b' })).toBe(false);
    expect(ok('snapshot', { slot: 'slot1', name: 'x'.repeat(101) })).toBe(false);
    expect(ok('snapshot', { slot: 'slot1', name: 'ok', stop: 'yes' })).toBe(false);
    expect(ok('delete', { state: 'x'.repeat(255) })).toBe(true); // an existing name may be long
    expect(ok('delete', { state: '-rf' })).toBe(false);
    expect(ok('delete', { state: 'a', extra: 1 })).toBe(false);
    expect(ok('restore', { snapshot: 'dev@s1', newState: 'r' })).toBe(true);
    expect(ok('restore', { snapshot: 'dev@s1@x', newState: 'r' })).toBe(false);
    expect(ok('auto_snapshot', { state: ['a', 'b'], stop: true })).toBe(true);
    expect(ok('prune', { keep: 3 })).toBe(true);
    expect(ok('log', { since: '-2h' })).toBe(true);
    expect(ok('remote_check', { name: '--help' })).toBe(false);
    expect(json(tool('snapshot')).properties.slot).toMatchObject({ enum: ['slot1', 'slot2'] });
    expect(json(tool('delete')).properties.state).toMatchObject({ type: 'string', maxLength: 255 });
    expect(json(tool('delete')).properties.state).toHaveProperty('pattern');
  });

  it('the command line: command words, options as --name=value, then the arguments', () => {
    expect(tool('snapshot_delete').argv({ snapshot: 'dev@s1' })).toEqual(['snapshot', 'delete', 'dev@s1']);
    expect(tool('log').argv({ since: '-2h', lines: 5 })).toEqual(['log', '--since=-2h', '--lines=5']);
    expect(tool('auto_snapshot').argv({ state: ['a', 'b'], stop: true })).toEqual([
      'auto-snapshot',
      '--stop',
      'a',
      'b',
    ]);
    expect(tool('rollback').argv({ slot: 'slot1', snapshot: 's', destroyNewer: false })).toEqual([
      'rollback',
      'slot1',
      's',
    ]);
  });

  it("output: the view's document, or the plan with its token", () => {
    expect(tool('list').output.shape).toHaveProperty('slots');
    expect(tool('delete').output.shape).toHaveProperty('planToken');
    expect(tool('delete').output.shape).toHaveProperty('steps');
    for (const t of tools) expect((z.toJSONSchema(t.output) as { type: string }).type, t.name).toBe('object');
  });
});
