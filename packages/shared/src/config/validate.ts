import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError } from '../errors/index.js';
import { CONFIG_ENV_VAR, CONFIG_FILE_NAME } from './constants.js';
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

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Turns zod's "Invalid input: expected number, received string" into "expected number". */
function expectation(issue: z.core.$ZodIssue): string {
  const m = /expected (.*?)(?:, received .*)?$/i.exec(issue.message);
  if (issue.code === 'invalid_type' && m) return m[1] ?? issue.message;
  if (m) return m[1] ?? issue.message;
  return issue.message.replace(/^Invalid input:?\s*/i, '').replace(/^Too (small|big)/, (t) => t.toLowerCase());
}

/**
 * Validates a raw config (file contents merged with flag overrides), fills every default,
 * and throws one `ConfigError` listing each bad key as "key (flag): expected X, got Y".
 */
export function validateConfig(raw: unknown, overrides: readonly ConfigOverride[] = [], source = CONFIG_FILE_NAME): PipelineConfig {
  const merged = applyOverrides(raw ?? {}, overrides);
  const result = pipelineConfigSchema.safeParse(merged);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(root)';
    const flag = overrides.find((o) => o.key === key)?.flag;
    const where = flag ? `${key} (${flag})` : `${key} (${source})`;
    return `${where}: expected ${expectation(issue)}, got ${describeValue(valueAt(merged, issue.path))}`;
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
