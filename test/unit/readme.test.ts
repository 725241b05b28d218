import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS, readmeRows } from '../../src/commands/index.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the README', () => {
  it("lists every command as the command table describes it, in the table's order", () => {
    const lines = README.split('\n');
    const start = lines.indexOf('| command | what it does |') + 2;
    const end = lines.findIndex((l, i) => i >= start && !l.startsWith('|'));
    expect(lines.slice(start, end)).toEqual(readmeRows());
  });

  it('has a row for every command that is not hidden', () => {
    for (const c of COMMANDS.filter((x) => !x.hidden)) expect(c.readme.length, c.name).toBeGreaterThan(0);
  });
});
