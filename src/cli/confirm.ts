import { createInterface } from 'node:readline';
import { VmStateError } from '../core/errors.js';

/**
 * The typed confirmation of destructive commands. A terminal gets a prompt; a
 * pipe is read as well, because callers of the old script did
 * `echo DELETE | vm-state delete x`.
 */
export async function confirmTyped(
  word: string,
  opts: { yes: boolean; json: boolean; stdin?: NodeJS.ReadStream },
): Promise<void> {
  if (opts.yes) return;
  const stdin = opts.stdin ?? process.stdin;
  if (stdin.isTTY && opts.json) {
    throw new VmStateError('aborted', 'Confirmation required and no prompts in --json mode', {
      hint: 'Pass --yes to confirm',
    });
  }
  const answer = await readLine(stdin, stdin.isTTY ? `Type '${word}' to confirm: ` : undefined);
  if (answer === undefined) {
    throw new VmStateError('aborted', `Confirmation required: type '${word}' on standard input`, {
      hint: `Pass --yes to skip it, or pipe it: echo ${word} | vm-state …`,
    });
  }
  if (answer.trim() !== word) throw new VmStateError('aborted', `Aborted: confirmation was not '${word}'`);
}

function readLine(stdin: NodeJS.ReadStream, prompt?: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = createInterface({
      input: stdin,
      output: prompt ? process.stderr : undefined,
      terminal: Boolean(prompt),
    });
    let done = false;
    rl.once('line', (line) => {
      done = true;
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      if (!done) resolve(undefined);
    });
    if (prompt) (rl.setPrompt(prompt), rl.prompt());
  });
}
