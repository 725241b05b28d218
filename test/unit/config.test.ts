import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VmStateError } from '../../src/core/errors.js';
import { loadConfig } from '../../src/io/config.js';

const file = (content: string) => {
  const p = join(mkdtempSync(join(tmpdir(), 'vm-state-config-')), 'config.json');
  writeFileSync(p, content);
  return p;
};

describe('configuration', () => {
  it('defaults are the hypervisor layout', () => {
    const c = loadConfig({ config: file('{}') }, {});
    expect(c).toMatchObject({
      pool: 'microvms',
      dataset: 'storage/states',
      statesDir: '/var/lib/microvms/states',
      slotsDir: '/var/lib/microvms',
      assignmentsFile: '/etc/vm-state-assignments.json',
      slots: ['slot1', 'slot2', 'slot3', 'slot4', 'slot5'],
      unitTemplate: 'microvm@%s.service',
      owner: 'microvm',
      group: 'kvm',
    });
  });

  it('flags > environment > file > defaults', () => {
    const f = file('{"pool":"filepool","dataset":"file/ds","owner":"fileuser"}');
    const env = { VM_STATE_CONFIG: f, VM_STATE_POOL: 'envpool', VM_STATE_SLOTS: 'a, b' };
    const c = loadConfig({ dataset: 'flag/ds' }, env);
    expect(c.pool).toBe('envpool');
    expect(c.dataset).toBe('flag/ds');
    expect(c.owner).toBe('fileuser');
    expect(c.slots).toEqual(['a', 'b']);
    expect(loadConfig({ pool: 'flagpool' }, env).pool).toBe('flagpool');
  });

  it('a missing default file is fine; a missing named file is an error', () => {
    expect(() => loadConfig({ config: '/nonexistent/vm-state.json' }, {})).toThrow(/Cannot read config file/);
  });

  it.each([
    ['not json', '{pool:', /not valid JSON/],
    ['an array', '[]', /must hold a JSON object/],
    ['a typo', '{"pol":"x"}', /unknown field\(s\) pol/],
    ['a relative path', '{"statesDir":"var/lib"}', /field statesDir: must be an absolute path/],
    ['a bad slot', '{"slots":["slot1","../x"]}', /field slots\.1/],
    ['a template without %s', '{"unitTemplate":"microvm.service"}', /field unitTemplate/],
  ])('a bad file (%s) is an error naming the file and the field', (_what, content, message) => {
    const p = file(content);
    try {
      loadConfig({ config: p }, {});
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(VmStateError);
      expect((e as VmStateError).exitCode).toBe(2);
      expect((e as VmStateError).message).toContain(p);
      expect((e as VmStateError).message).toMatch(message);
    }
  });
});
