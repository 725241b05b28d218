import type { ActionSpec } from './spec.js';

/** The remotes' commands: they read and write the config's `remotes`, and `check` asks the remote itself. */
const load = () => import('../remote/remote-commands.js');

export const remoteAdd: ActionSpec = {
  kind: 'action',
  name: 'remote add',
  args: [
    { name: 'name', kind: 'word' },
    { name: 'destination', kind: 'word' },
  ],
  options: [
    { flags: '--port <n>', description: 'ssh port (else ssh_config decides)' },
    { flags: '--identity <file>', description: 'ssh key to use (else ssh_config decides)' },
    { flags: '--ssh-option <key=value>', description: 'an ssh -o option (repeatable)', repeatable: true },
  ],
  description: 'add (or change) a remote: another hypervisor reached with ssh',
  readme: [
    {
      usage:
        '`vm-state remote add <name> <ssh-destination> [--port N] [--identity FILE] [--ssh-option K=V]...`',
      text: "records the remote in the config file's `remotes` (`--dry-run` prints the new file); ssh runs with `BatchMode=yes` and the user's ssh_config",
    },
  ],
  run: async (ctx, input, write) => (await load()).remoteAdd(ctx(), input, write),
};

export const remoteList: ActionSpec = {
  kind: 'action',
  name: 'remote list',
  agent: { output: 'remotes' },
  args: [],
  description: 'the remotes in the config',
  readme: [{ usage: '`vm-state remote list`', text: 'each remote and how ssh reaches it' }],
  run: async (ctx) => (await load()).remoteList(ctx()),
};

export const remoteRemove: ActionSpec = {
  kind: 'action',
  name: 'remote remove',
  args: [{ name: 'name', kind: 'word' }],
  description: 'remove a remote from the config (its replicas there stay)',
  readme: [{ usage: '`vm-state remote remove <name>`', text: 'forgets the remote; nothing changes on it' }],
  run: async (ctx, input, write) => (await load()).remoteRemove(ctx(), input, write),
};

export const remoteCheck: ActionSpec = {
  kind: 'action',
  name: 'remote check',
  agent: { output: 'remote-check', openWorld: true },
  args: [{ name: 'name', kind: 'word' }],
  description: "reach a remote: its vm-state's version, pool, states, free space and slots",
  readme: [
    {
      usage: '`vm-state remote check <name>`',
      text: "reaches it over ssh and reports its vm-state's version and protocol, parent dataset, states, free space and slots (exit 8 if it cannot)",
    },
  ],
  run: async (ctx, input) => (await load()).remoteCheck(ctx(), input),
};
