import type { Context } from '../cli/context.js';
import type { Input } from '../commands/spec.js';
import { VmStateError } from '../core/errors.js';
import type { Request } from '../schemas/protocol.js';
import { parseRequest, replyError, replyOk, requestText, Server } from './serve.js';
import { journalServe, recordingChanges } from './serve-journal.js';

/**
 * One request in, one JSON line out (an error too, and then its exit code). A request that
 * changes this host gets its journal entry here, as the sender's command gets one there.
 */
export async function serveCommand(ctx: () => Context, input: Input, write: (text: string) => void) {
  let request: Request | undefined;
  let c: Context | undefined;
  const ran: string[] = [];
  try {
    request = parseRequest(requestText(input.request as string | undefined, process.env));
    c = ctx();
    const result = await new Server(recordingChanges(c.runner, ran), c.config, c.waitSeconds).handle(request);
    await journalServe(c, request, ran);
    write(`${JSON.stringify(replyOk(result))}\n`);
  } catch (e) {
    const err =
      e instanceof VmStateError ? e : new VmStateError('failed', (e as Error).message, { cause: e });
    if (request && c) await journalServe(c, request, ran, err);
    write(`${JSON.stringify(replyError(err))}\n`);
    throw err;
  }
}
