import { describe, expect, it } from 'vitest';
import { ErrorOut, HelpOut } from '../../src/schemas/output.js';
import { runCli } from '../support/cli.js';
import { makeWorld } from '../support/world.js';

/** The program as a whole: commands it does not know, --help, --json errors, vm-state schema. */

describe('the command line', () => {
  it('an unknown command is a usage error with a hint', async () => {
    const w = makeWorld();
    const r = await runCli(['frobnicate'], w);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown command.*frobnicate/);
    expect(r.stderr).toContain('vm-state help');
    expect(w.runner.calls).toEqual([]);
  });

  it('--json --help describes every command, its arguments and options, and the exit codes', async () => {
    const w = makeWorld();
    for (const argv of [
      ['--json', '--help'],
      ['--json', 'help'],
    ]) {
      const r = await runCli(argv, w);
      expect(r.code).toBe(0);
      const doc = HelpOut.parse(JSON.parse(r.stdout));
      const migrate = doc.commands.find((c) => c.name === 'migrate')!;
      expect(migrate.arguments.map((a) => a.name)).toEqual(['state', 'slot']);
      expect(doc.globalOptions.map((o) => o.flags)).toContain('-n, --dry-run');
      expect(doc.exitCodes).toMatchObject({ ok: 0, usage: 2, busy: 6, permission: 7 });
    }
    expect(w.runner.calls).toEqual([]);
  });

  it('errors are one JSON document on stderr with the exit code', async () => {
    const w = makeWorld();
    const r = await runCli(['--json', 'snapshot', 'slot9', 'x'], w);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const doc = ErrorOut.parse(JSON.parse(r.stderr));
    expect(doc.error).toMatchObject({ code: 'invalid-name', exitCode: 2 });
  });

  it('lists the new commands and snapshot delete', async () => {
    const w = makeWorld();
    const h = await runCli(['--help'], w);
    for (const c of [
      'snapshots [state]',
      'show <state>',
      'rollback [options] <slot> <snapshot>',
      'prune [options] [state]',
      'rename <old> <new>',
    ])
      expect(h.stdout).toContain(c);
    const s = await runCli(['snapshot', '--help'], w);
    expect(s.stdout).toContain('--stop');
    expect(s.stdout).toContain('delete <snapshot>');
  });

  it('vm-state schema prints the snapshots and show documents', async () => {
    const w = makeWorld();
    for (const name of ['snapshots', 'show']) {
      const r = await runCli(['schema', name], w);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).type).toBe('object');
    }
  });
});
