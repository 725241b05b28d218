import type { Config } from '../schemas/config.js';
import type { Runner } from '../io/runner.js';
import type { Output } from './output.js';

/** What every command handler gets: settings, the runner, the output, and the run's flags. */
export interface Context {
  config: Config;
  /** The file the config was read from (it may not exist). */
  configFile: string;
  runner: Runner;
  out: Output;
  dryRun: boolean;
  yes: boolean;
  waitSeconds: number;
  euid: number;
  stdin?: NodeJS.ReadStream;
}
