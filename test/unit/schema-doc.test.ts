import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeWorld } from '../support/world.js';

describe('docs/json-schema.json', () => {
  it('is exactly what `vm-state schema` prints (regenerate: npm run docs)', async () => {
    const r = await runCli(['schema'], makeWorld());
    expect(r.code).toBe(0);
    expect(readFileSync(new URL('../../docs/json-schema.json', import.meta.url), 'utf8')).toBe(r.stdout);
  });
});
