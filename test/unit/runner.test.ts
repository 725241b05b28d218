import { describe, expect, it } from 'vitest';
import { ProcessRunner } from '../../src/io/runner.js';

/** The runner's pipe with real processes: the stream goes child to child, dd counts it. */
describe('ProcessRunner.pipe', () => {
  const runner = new ProcessRunner();

  it('streams the producer into the consumer and counts the bytes, with progress', async () => {
    const seen: number[] = [];
    const r = await runner.pipe(['head', '-c', '3000000', '/dev/zero'], ['wc', '-c'], {
      onBytes: (n) => seen.push(n),
    });
    expect(r.producer.exitCode).toBe(0);
    expect(r.consumer).toMatchObject({ exitCode: 0, stdout: '3000000\n' });
    expect(r.bytes).toBe(3_000_000);
    expect(seen.at(-1)).toBe(3_000_000);
  });

  it('a consumer that stops early ends the producer too (EPIPE), and nothing hangs', async () => {
    const r = await runner.pipe(['yes'], ['head', '-c', '10']);
    expect(r.consumer).toMatchObject({ exitCode: 0, stdout: 'y\ny\ny\ny\ny\n' });
    // yes dies of SIGPIPE once no one reads: a failed producer, as a shell would say.
    expect(r.producer.exitCode).not.toBe(0);
  });

  it('each side says how it failed; one that cannot start is exit 127', async () => {
    const failing = await runner.pipe(['sh', '-c', 'echo oops >&2; exit 3'], ['cat']);
    expect(failing.producer).toMatchObject({ exitCode: 3, stderr: 'oops\n' });
    expect(failing.consumer.exitCode).toBe(0);
    const missing = await runner.pipe(['true'], ['/nonexistent/receiver']);
    expect(missing.consumer.exitCode).toBe(127);
  });
});
