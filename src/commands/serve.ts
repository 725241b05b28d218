import type { ActionSpec } from './spec.js';

export const serve: ActionSpec = {
  kind: 'action',
  name: 'serve',
  args: [],
  options: [{ flags: '--request <base64url>', description: 'the request (vm-state send writes it)' }],
  description: 'the far end of send, run over ssh; safe as an authorized_keys forced command',
  readme: [
    {
      usage: '`vm-state serve`',
      text:
        "what `send` runs on the remote over ssh: one request, validated there, under that host's lock; " +
        'safe as the forced command of a key: `command="vm-state serve",restrict ssh-ed25519 AAAA...`',
    },
  ],
  run: async (ctx, input, write) =>
    (await import('../remote/serve-command.js')).serveCommand(ctx, input, write),
};
