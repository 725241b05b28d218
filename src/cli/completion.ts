import type { Command, Option } from 'commander';
import { VmStateError } from '../core/errors.js';
import { StateStore } from '../io/state-store.js';
import type { Context } from './context.js';
import type { Streams } from './output.js';

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

export function printScript(shell: string, io: Streams): void {
  const script = SCRIPTS[shell];
  if (!script) throw new VmStateError('usage', `Unknown shell '${shell}'`, { hint: `One of: ${Object.keys(SCRIPTS).join(', ')}` });
  io.stdout.write(script);
}

/** What an argument completes to, from its name in the usage line. */
const KIND_OF_ARG: Record<string, 'slots' | 'states' | 'snapshots'> = {
  slot: 'slots',
  state: 'states',
  source: 'states',
  old: 'states',
  snapshot: 'snapshots',
};

const takesValue = (o: Option) => o.required || o.optional;
const optionNames = (cmd: Command) => cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x)));

/**
 * Prints the candidates for word `index` of `words` (words[0] is the program
 * name), one per line. The shell filters them by the prefix typed so far.
 */
export async function complete(program: Command, index: number, words: string[], ctx: Context): Promise<void> {
  const visible = program.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden);
  let sub: Command | undefined;
  let position = 0;
  for (let i = 1; i < index && i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('-')) {
      const opt = [...program.options, ...(sub?.options ?? [])].find((o) => o.long === w || o.short === w);
      if (opt && takesValue(opt) && !w.includes('=')) {
        if (++i === index) return; // the cursor is on this option's value: nothing to offer
      }
      continue;
    }
    if (!sub) sub = visible.find((c) => c.name() === w);
    else position++;
  }
  const current = words[index] ?? '';
  let candidates: string[] = [];
  if (current.startsWith('-')) candidates = [...optionNames(program), ...(sub ? optionNames(sub) : [])];
  else if (!sub) candidates = [...visible.map((c) => c.name()), 'help'];
  else {
    const arg = sub.registeredArguments[position]?.name();
    const kind = arg ? KIND_OF_ARG[arg] : undefined;
    if (sub.name() === 'completion') candidates = Object.keys(SCRIPTS);
    else if (kind === 'slots') candidates = ctx.config.slots;
    else if (kind) {
      const { states } = await new StateStore(ctx.runner, ctx.config).read();
      candidates =
        kind === 'states'
          ? [...states.keys()]
          : [...states.values()].flatMap((s) => s.snapshots.flatMap((x) => [x.name, `${x.state}@${x.name}`]));
    }
  }
  ctx.out.text([...new Set(candidates)].sort().join('\n'));
}
