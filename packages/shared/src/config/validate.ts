import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors/index.js';
import { CONFIG_ENV_VAR, CONFIG_FILE_NAME } from './constants.js';
import { configIssues } from './issues.js';
import type { PipelineConfig } from './schema.js';
import { pipelineConfigSchema } from './schema.js';

/** A value set from the command line, remembered so an error can name the flag. */
export interface ConfigOverride {
  /** Dotted config key, e.g. `train.lr`. */
  key: string;
  value: unknown;
  /** The flag that set it, e.g. `--lr`. */
  flag?: string;
}

/**
 * Validates a raw config (file contents merged with flag overrides), fills every default,
 * and throws one `ConfigError` listing each bad key as "key (flag): expected X, got Y".
 */
export function validateConfig(raw: unknown, overrides: readonly ConfigOverride[] = [], source = CONFIG_FILE_NAME): PipelineConfig {
  const merged = applyOverrides(raw ?? {}, overrides);
  const result = pipelineConfigSchema.safeParse(merged);
  if (result.success) return result.data;
  const lines = configIssues(result.error, merged, { schema: pipelineConfigSchema }).map(({ key, text }) => {
    // a flag sets a whole key: `--milestones 5,a` is to blame for train.milestones.1
    const flag = overrides.find((o) => o.key === key || key.startsWith(`${o.key}.`))?.flag;
    return `${key} (${flag ?? source}): ${text}`;
  });
  throw new ConfigError(`invalid config:\n  ${lines.join('\n  ')}`, { cause: result.error });
}

/** Returns a deep copy of `raw` with each override written at its dotted key. */
export function applyOverrides(raw: unknown, overrides: readonly ConfigOverride[]): Record<string, unknown> {
  const out = structuredClone((raw ?? {}) as Record<string, unknown>);
  for (const { key, value } of overrides) {
    if (value === undefined) continue;
    const parts = key.split('.');
    let cur: Record<string, unknown> = out;
    for (const p of parts.slice(0, -1)) {
      const next = cur[p];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[p] = {};
      cur = cur[p] as Record<string, unknown>;
    }
    // biome-ignore lint/style/noNonNullAssertion: String.split always returns at least one element
    cur[parts[parts.length - 1]!] = value;
  }
  return out;
}

/**
 * Reads the config file (`path`, else `$PTHNET_CONFIG`, else `pthnet.config.json` in `cwd`;
 * a missing default file means all defaults)
 * and validates it with the overrides applied.
 */
export function loadConfig(options: { path?: string; cwd?: string; overrides?: readonly ConfigOverride[] } = {}): PipelineConfig {
  const cwd = options.cwd ?? process.cwd();
  // PTHNET_CONFIG carries a --config choice into the stages that turbo starts.
  const chosen = options.path ?? process.env[CONFIG_ENV_VAR];
  const explicit = chosen !== undefined && chosen !== '';
  const path = resolve(cwd, explicit ? chosen : CONFIG_FILE_NAME);
  let raw: unknown = {};
  if (existsSync(path)) {
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (cause) {
      throw new ConfigError(`config file ${path}: expected valid JSON, got a parse error (${(cause as Error).message})`, { cause });
    }
  } else if (explicit) {
    throw new ConfigError(`config file ${path}: expected an existing file, got nothing at that path`);
  }
  return validateConfig(raw, options.overrides ?? [], path);
}
