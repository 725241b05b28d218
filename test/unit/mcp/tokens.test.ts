import { describe, expect, it } from 'vitest';
import { PlanTokens } from '../../../src/mcp/tokens.js';

describe('plan tokens', () => {
  const clock = { t: 1_000_000 };
  const tokens = () => new PlanTokens(60_000, () => clock.t);

  it('runs a plan once, for the call it was issued for', () => {
    const t = tokens();
    t.issue('T1', 'delete', { state: 'a' });
    expect(t.take('T1', 'delete', { state: 'b' })).toBe('other-call');
    expect(t.take('T1', 'snapshot_delete', { state: 'a' })).toBe('other-call');
    expect(t.take('T2', 'delete', { state: 'a' })).toBe('unknown');
    expect(t.take('T1', 'delete', { state: 'a' })).toBeUndefined();
    expect(t.take('T1', 'delete', { state: 'a' })).toBe('used');
  });

  it('the same arguments in another order, or with an absent key, are the same call', () => {
    const t = tokens();
    t.issue('T', 'prune', { state: 'a', keep: '2', stop: undefined });
    expect(t.take('T', 'prune', { keep: '2', state: 'a' })).toBeUndefined();
  });

  it('expires, and is refused as expired for a while after', () => {
    const t = tokens();
    const at = t.issue('T', 'create', { name: 'x' });
    expect(at.getTime()).toBe(clock.t + 60_000);
    clock.t += 60_000;
    expect(t.take('T', 'create', { name: 'x' })).toBe('expired');
    t.issue('U', 'create', { name: 'y' }); // tidies what expired a ttl ago, not T yet
    expect(t.take('T', 'create', { name: 'x' })).toBe('expired');
    clock.t += 60_000;
    t.issue('V', 'create', { name: 'z' });
    expect(t.take('T', 'create', { name: 'x' })).toBe('unknown');
  });
});
