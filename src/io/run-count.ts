/** How many commands this process has run: bin/vm-state caches compiled code only after a run that ran some. */
export const commandsRun = { count: 0 };
