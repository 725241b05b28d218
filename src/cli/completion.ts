import { COMMANDS } from '../commands/index.js';
import type { CommandSpec } from '../commands/spec.js';
import { VmStateError } from '../core/errors.js';
import { StateStore } from '../io/state-store.js';
import type { Context } from './context.js';
import { buildProgram } from './program.js';

/**
 * Shell completion. The scripts are thin: they hand the words on the command
 * line to `vm-state __complete`, which answers from the program's own
 * definition (commands, options, argument names) and the live system (slot
 * names from the configuration, state and snapshot names from one zfs call).
 */
const SCRIPTS: Record<string, string> = {
  bash: `# vm-state bash completion
_vm_state_complete() {
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(vm-state __complete "$COMP_CWORD" -- "\${COMP_WORDS[@]}" 2>/dev/null)" -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -F _vm_state_complete vm-state
`,
  zsh: `#compdef vm-state
# vm-state zsh completion
_vm_state() {
  local -a candidates
  candidates=(\${(f)"$(vm-state __complete $((CURRENT - 1)) -- "\${words[@]}" 2>/dev/null)"})
  compadd -a candidates
}
compdef _vm_state vm-state
`,
  fish: `# vm-state fish completion
complete -c vm-state -f -a '(set -l w (commandline -opc) (commandline -ct); vm-state __complete (count (commandline -opc)) -- $w 2>/dev/null)'
`,
};

export function printScript(shell: string, write: (text: string) => void): void {
  const script = SCRIPTS[shell];
  if (!script)
    throw new VmStateError('usage', `Unknown shell '${shell}'`, {
      hint: `One of: ${Object.keys(SCRIPTS).join(', ')}`,
    });
  write(script);
}

const optionNames = (options: readonly { long?: string; short?: string }[]) =>
  options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x)));

/** The command spec `words` name: `snapshot`, or `snapshot delete` when the next word says so. */
function specAt(
  words: string[],
  at: number,
  before: number,
): { spec: CommandSpec; next: number } | undefined {
  const two =
    at + 1 < before && COMMANDS.find((c) => !c.hidden && c.name === `${words[at]} ${words[at + 1]}`);
  if (two) return { spec: two, next: at + 2 };
  const one = COMMANDS.find((c) => !c.hidden && c.name === words[at]);
  return one && { spec: one, next: at + 1 };
}

/**
 * Prints the candidates for word `index` of `words` (words[0] is the program
 * name), one per line, from the command table and the live system. The shell
 * filters them by the prefix typed so far.
 */
export async function complete(index: number, words: string[], ctx: Context): Promise<void> {
  const globals = buildProgram().options;
  let found: ReturnType<typeof specAt>;
  let position = 0;
  for (let i = 1; i < index && i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('-')) {
      const opt = globals.find((o) => o.long === w || o.short === w);
      const own = found?.spec.options?.find((o) => o.flags.split(/[ ,]+/).includes(w));
      const takesValue = (opt && (opt.required || opt.optional)) || own?.flags.includes('<');
      if (takesValue && !w.includes('=')) {
        if (++i === index) return; // the cursor is on this option's value: nothing to offer
      }
      continue;
    }
    if (!found) {
      found = specAt(words, i, index);
      if (found) i = found.next - 1;
    } else position++;
  }
  const current = words[index] ?? '';
  const spec = found?.spec;
  let candidates: string[] = [];
  if (current.startsWith('-')) {
    const own = (spec?.options ?? []).flatMap((o) => o.flags.split(/[ ,]+/).filter((f) => f.startsWith('-')));
    candidates = [...optionNames(globals), ...own];
  } else if (!spec) {
    candidates = [...new Set(COMMANDS.filter((c) => !c.hidden).map((c) => c.name.split(' ')[0]!)), 'help'];
  } else {
    const arg = spec.args[position];
    if (arg?.choices) candidates = [...arg.choices];
    else if (arg?.kind === 'slot') candidates = ctx.config.slots;
    else if (arg?.kind === 'state' || arg?.kind === 'snapshot-ref') {
      const { states } = await new StateStore(ctx.runner, ctx.config).read();
      candidates =
        arg.kind === 'state'
          ? [...states.keys()]
          : [...states.values()].flatMap((s) => s.snapshots.flatMap((x) => [x.name, `${x.state}@${x.name}`]));
    }
  }
  ctx.out.text([...new Set(candidates)].sort().join('\n'));
}
