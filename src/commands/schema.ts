import type { ActionSpec } from './spec.js';

export const schema: ActionSpec = {
  kind: 'action',
  name: 'schema',
  args: [{ name: 'name', kind: 'word', optional: true }],
  description: 'print the JSON Schema of the --json documents (vm-state schema lists them)',
  readme: [
    { usage: '`vm-state schema [list\\|result\\|error]`', text: 'JSON Schema of the `--json` documents' },
  ],
  run: async (_ctx, input, write) =>
    (await import('../cli/actions.js')).schema(input.name as string | undefined, write),
};
