import type { Context } from '../cli/context.js';
import type { Input } from '../commands/spec.js';
import { VmStateError } from '../core/errors.js';
import { parseRequest, replyError, replyOk, requestText, Server } from './serve.js';

/** One request in, one JSON line out (an error too, and then its exit code). */
export async function serveCommand(ctx: () => Context, input: Input, write: (text: string) => void) {
  try {
    const request = parseRequest(requestText(input.request as string | undefined, process.env));
    const c = ctx();
    const result = await new Server(c.runner, c.config, c.waitSeconds).handle(request);
    write(`${JSON.stringify(replyOk(result))}\n`);
  } catch (e) {
    const err =
      e instanceof VmStateError ? e : new VmStateError('failed', (e as Error).message, { cause: e });
    write(`${JSON.stringify(replyError(err))}\n`);
    throw err;
  }
}
