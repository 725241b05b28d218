import type { ActionSpec } from './spec.js';

export const send: ActionSpec = {
  kind: 'action',
  name: 'send',

  args: [
    { name: 'state', kind: 'state', optional: true },
    { name: 'destination', kind: 'word', optional: true },
  ],
  options: [
    { flags: '--all', description: 'send every state (not the replicas here): vm-state send --all <remote>' },
    {
      flags: '--force',
      description: 'a diverged target: keep what only it has as a clone there, then send',
    },
  ],
  description: 'send a state to another hypervisor (<remote>[:<name>]): incremental, resumable, held',
  readme: [
    {
      usage: '`vm-state send --all <remote>`',
      text: 'sends every state (replicas of other hosts excepted) in turn, under its own name; a failed one does not stop the rest, and the exit status says it failed',
    },
    {
      usage: '`vm-state send <state> <remote>[:<name>]`',
      text:
        'snapshots `vmstate-repl-<UTC>` and sends it (`zfs send -I` from the newest snapshot both sides have, ' +
        'matched by guid; the first send carries every snapshot) into a read-only, unmounted replica there; holds ' +
        'the base on both sides; resumes a cut send (OpenZFS); refuses a diverged target (exit 5) unless `--force`, ' +
        'which keeps what only the target has as `<name>.diverged-<time>` there; refuses a target without room',
    },
  ],
  run: async (ctx, input) => (await import('../remote/send-command.js')).sendCommand(ctx(), input),
};
