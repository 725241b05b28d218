import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { VmStateError } from '../core/errors.js';
import {
  CONFIG_FILE_ENV,
  ConfigSchema,
  DEFAULT_CONFIG_FILE,
  ENV_FOR,
  type Config,
} from '../schemas/config.js';

export type ConfigOverrides = Partial<Record<keyof typeof ENV_FOR, string>>;

/** Precedence: command-line flags > VM_STATE_* environment > config file > defaults. */
export function loadConfig(
  flags: ConfigOverrides & { config?: string },
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const explicitPath = flags.config ?? env[CONFIG_FILE_ENV];
  const path = configFileOf(flags, env);
  const fromFile = readConfigFile(path, explicitPath !== undefined);

  const merged: Record<string, unknown> = { ...fromFile };
  for (const [key, envName] of Object.entries(ENV_FOR) as [keyof typeof ENV_FOR, string][]) {
    const raw = flags[key] ?? env[envName];
    if (raw === undefined || raw === '') continue;
    merged[key] =
      key === 'slots'
        ? raw
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : raw;
  }

  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new VmStateError(
      'config',
      `Invalid configuration (file ${path}, environment or flags): ${describeIssues(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** The config file a run reads: --config, then VM_STATE_CONFIG, then the default. */
export const configFileOf = (flags: { config?: string }, env: NodeJS.ProcessEnv = process.env): string =>
  flags.config ?? env[CONFIG_FILE_ENV] ?? DEFAULT_CONFIG_FILE;

export function readConfigFile(path: string, required: boolean): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !required) return {};
    throw new VmStateError(
      required ? 'not-found' : 'config',
      `Cannot read config file ${path}: ${(e as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new VmStateError('config', `Config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new VmStateError('config', `Config file ${path} must hold a JSON object`);
  }
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success)
    throw new VmStateError('config', `Config file ${path}: ${describeIssues(parsed.error)}`);
  return json as Record<string, unknown>;
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
