import { readFileSync } from 'node:fs';
import { VmStateError } from '../core/errors.js';
import { CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE, ENV_FOR } from '../schemas/config-sources.js';

/**
 * A run's config as given, before it is checked: the file's JSON with the
 * environment and the flags over it. No zod here (io/config.ts checks it).
 */

export type ConfigOverrides = Partial<Record<keyof typeof ENV_FOR, string>>;
export type ConfigFlags = ConfigOverrides & { config?: string };

/** The config file a run reads: --config, then VM_STATE_CONFIG, then the default. */
export const configFileOf = (flags: { config?: string }, env: NodeJS.ProcessEnv = process.env): string =>
  flags.config ?? env[CONFIG_FILE_ENV] ?? DEFAULT_CONFIG_FILE;

/** Precedence: command-line flags > VM_STATE_* environment > config file (> the schema's defaults). */
export function configInput(
  flags: ConfigFlags,
  env: NodeJS.ProcessEnv,
): { path: string; fromFile: Record<string, unknown>; merged: Record<string, unknown> } {
  const path = configFileOf(flags, env);
  const fromFile = readJsonObject(path, (flags.config ?? env[CONFIG_FILE_ENV]) !== undefined);
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
  return { path, fromFile, merged };
}

/** The file's JSON object; `{}` when a file nobody named is missing. */
export function readJsonObject(path: string, required: boolean): Record<string, unknown> {
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
  return json as Record<string, unknown>;
}
