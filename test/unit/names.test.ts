import { describe, expect, it } from 'vitest';
import { VmStateError } from '../../src/core/errors.js';
import { nameProblem, parseSnapshotRef, validateName, validateSlot } from '../../src/core/names.js';
import { BAD_NAMES } from '../support/bad-names.js';

describe('state and snapshot names', () => {
  it.each(BAD_NAMES.map((n) => [JSON.stringify(n), n]))('rejects %s', (_label, name) => {
    expect(nameProblem(name)).toBeDefined();
    expect(() => validateName('state', name)).toThrow(VmStateError);
    try {
      validateName('state', name);
    } catch (e) {
      expect((e as VmStateError).exitCode).toBe(2);
      expect((e as VmStateError).message).not.toMatch(/[\n\0]/);
    }
  });

  it.each(['slot1', 'dev-env', 'test_state', 'v1.2', 'a:b', 'A9', '_x', 'x'.repeat(100)])(
    'accepts %s',
    (name) => {
      expect(validateName('snapshot', name)).toBe(name);
    },
  );

  it('a new name is at most 100 characters; a reference to an existing one may be as long as ZFS allows', () => {
    expect(() => validateName('state', 'x'.repeat(101))).toThrow(/at most 100/);
    expect(validateName('state', 'x'.repeat(200), 255)).toHaveLength(200);
    expect(parseSnapshotRef(`${'a'.repeat(120)}@${'b'.repeat(120)}`).snapshot).toHaveLength(120);
  });

  it('accepts only configured slots', () => {
    expect(validateSlot('slot1', ['slot1', 'slot2'])).toBe('slot1');
    for (const bad of ['slot9', 'slot1 ; rm', 'SLOT1', '', '../slot1']) {
      expect(() => validateSlot(bad, ['slot1', 'slot2'])).toThrow(/Invalid slot name/);
    }
  });

  it('parses snap and state@snap', () => {
    expect(parseSnapshotRef('snap1')).toEqual({ snapshot: 'snap1' });
    expect(parseSnapshotRef('dev@snap1')).toEqual({ state: 'dev', snapshot: 'snap1' });
    expect(() => parseSnapshotRef('a@b@c')).toThrow(/contains '@'/);
    expect(() => parseSnapshotRef('../a@b')).toThrow(VmStateError);
  });
});
