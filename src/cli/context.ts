import type { Config } from '../schemas/config.js';
import type { Invoker } from '../core/journal.js';
import type { JournalWriter } from '../io/journal.js';
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
  /** --expect-plan: run only the plan of this token (a mutation of the command table). */
  expectPlan?: string;
  /** --plan-out: write the plan to this file (implies dryRun). */
  planOut?: string;
  yes: boolean;
  waitSeconds: number;
  euid: number;
  stdin?: NodeJS.ReadStream;
  /** Where a mutating command's entry goes (none: not logged), and who it says ran the command. */
  journal?: JournalWriter;
  invoker?: Invoker;
}
