import { describe, expect, it, vi } from 'vitest';
import { colorLevel, Output } from '../../src/cli/output.js';

const capture = (tty: boolean) => {
  const s = { out: '', err: '' };
  return {
    s,
    io: {
      stdout: { write: (x: string) => ((s.out += x), true), isTTY: tty },
      stderr: { write: (x: string) => ((s.err += x), true), isTTY: tty },
    },
  };
};

describe('output', () => {
  it('colour only on a terminal; NO_COLOR, --no-color and --json turn it off; FORCE_COLOR turns it on', () => {
    expect(colorLevel({ json: false, quiet: false }, {}, true)).toBe(1);
    expect(colorLevel({ json: false, quiet: false }, {}, false)).toBe(0);
    expect(colorLevel({ json: false, quiet: false }, { NO_COLOR: '1' }, true)).toBe(0);
    expect(colorLevel({ json: false, quiet: false, color: false }, {}, true)).toBe(0);
    expect(colorLevel({ json: true, quiet: false }, { FORCE_COLOR: '1' }, true)).toBe(0);
    expect(colorLevel({ json: false, quiet: false }, { FORCE_COLOR: '1' }, false)).toBe(1);
  });

  it('results on stdout, warnings on stderr, --quiet keeps only warnings', () => {
    const { s, io } = capture(false);
    const out = new Output({ json: false, quiet: true }, io, {});
    out.info('i');
    out.ok('o');
    out.warn('w');
    expect(s.out).toBe('');
    expect(s.err).toBe('[WARN] w\n');
  });

  it('progress counts seconds on a terminal only, and erases itself', () => {
    vi.useFakeTimers();
    try {
      const tty = capture(true);
      const p = new Output({ json: false, quiet: false }, tty.io, {}).progress();
      p.start('waiting for u to stop');
      vi.advanceTimersByTime(2100);
      p.stop();
      expect(tty.s.err).toContain('waiting for u to stop: 2s');
      expect(tty.s.err.endsWith('\r\x1b[K')).toBe(true);

      const pipe = capture(false);
      const q = new Output({ json: false, quiet: false }, pipe.io, {}).progress();
      q.start('x');
      vi.advanceTimersByTime(3000);
      q.stop();
      expect(pipe.s.err).toBe('');
    } finally {
      vi.useRealTimers();
    }
  });
});
