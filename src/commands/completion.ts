import type { ActionSpec } from './spec.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

export const completion: ActionSpec = {
  kind: 'action',
  name: 'completion',
  args: [{ name: 'shell', kind: 'word', choices: SHELLS }],
  description:
    'print a completion script: bash, zsh or fish (e.g. vm-state completion bash > /etc/bash_completion.d/vm-state)',
  readme: [
    {
      usage: '`vm-state completion bash\\|zsh\\|fish`',
      text: 'a completion script: commands, options, slots, and live state and snapshot names (one zfs call)',
    },
  ],
  run: async (_ctx, input, write) =>
    (await import('../cli/completion.js')).printScript(String(input.shell), write),
};

/** What the shell scripts call: the candidates for word `index` of the command line. */
export const complete: ActionSpec = {
  kind: 'action',
  name: '__complete',
  hidden: true,
  args: [
    { name: 'index', kind: 'word' },
    { name: 'words...', kind: 'word', optional: true },
  ],
  description: 'completion candidates',
  readme: [],
  run: async (ctx, input) => {
    const words = (input.words as unknown as string[] | undefined) ?? [];
    await (await import('../cli/completion.js')).complete(Number(input.index), words, ctx());
  },
};
