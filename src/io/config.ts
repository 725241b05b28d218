import { z } from 'zod';
import { VmStateError } from '../core/errors.js';
import { ConfigSchema, type Config } from '../schemas/config.js';
import { configInput, readJsonObject, type ConfigFlags } from './config-input.js';

/** The run's config, checked: flags over the environment over the file over the defaults. */
export function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const { path, fromFile, merged } = configInput(flags, env);
  // The file alone first: its own mistakes are named as the file's ({} has none).
  if (Object.keys(fromFile).length > 0) checkFile(path, fromFile);
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new VmStateError(
      'config',
      `Invalid configuration (file ${path}, environment or flags): ${describeIssues(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** The config file's JSON, checked on its own; `{}` when a file nobody named is missing. */
export function readConfigFile(path: string, required: boolean): Record<string, unknown> {
  return checkFile(path, readJsonObject(path, required));
}

function checkFile(path: string, json: Record<string, unknown>): Record<string, unknown> {
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success)
    throw new VmStateError('config', `Config file ${path}: ${describeIssues(parsed.error)}`);
  return json;
}

/** "field slots.2: is not a valid slot name; field pol: unknown key" */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const where = i.path.length ? `field ${i.path.join('.')}` : 'file';
      if (i.code === 'unrecognized_keys') return `unknown field(s) ${i.keys.join(', ')}`;
      return `${where}: ${i.message}`;
    })
    .join('; ');
}
