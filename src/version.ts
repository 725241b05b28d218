declare const __VM_STATE_VERSION__: string | undefined;

/** Set by the bundler from package.json; 'dev' when run from source. */
export const VERSION = typeof __VM_STATE_VERSION__ === 'string' ? __VM_STATE_VERSION__ : 'dev';
