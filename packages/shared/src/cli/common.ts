import { Command } from 'commander';
import { isAbsolute, resolve } from 'node:path';
import type { ConfigOverride, PipelineConfig } from '../config/index.js';
import { loadConfig } from '../config/index.js';
import type { ConfigFlag } from './flags.js';
import { addConfigFlags, configOverrides } from './flags.js';
import { MANIFEST_ENV_VAR, MANIFEST_FILE_NAME } from '../manifest/constants.js';
import { isPostgresLocation } from '../manifest/location.js';

/** Flags every stage takes. */
export const COMMON_FLAGS: readonly ConfigFlag[] = [
  {
    flags: '--data-dir <dir>',
    key: 'dataDir',
    description: 'working directory of the manifest and artifacts (default: data/)',
    kind: 'string',
  },
  { flags: '--backend <name>', key: 'backend', description: 'TensorFlow.js backend: auto|node-gpu|node|wasm|cpu', kind: 'string' },
  { flags: '--workers <n>', key: 'workers', description: 'worker threads for CPU work', kind: 'number' },
];

/** `--dataset`: which of the manifest's datasets `datasets`, `train`, `eval` and `predict` work on (see `resolveDataset`). */
export const DATASET_FLAG: ConfigFlag = {
  flags: '--dataset <name>',
  key: 'dataset',
  description: "which of the manifest's datasets (default: the only one; required when it holds several)",
  kind: 'string',
};

export interface StageContext {
  config: PipelineConfig;
  /** Absolute data directory. */
  dataDir: string;
  /**
   * Where the manifest is: `$PTHNET_MANIFEST_URL`, else the config's `manifest`, else
   * `<dataDir>/manifest.sqlite`; a `postgres://` URL or an absolute SQLite file path.
   */
  manifest: string;
}

/** A stage command with `--config`, the common flags and the stage's own config flags. */
export function stageCommand(name: string, summary: string, flags: readonly ConfigFlag[] = []): Command {
  const cmd = new Command(name)
    .description(summary)
    .option('--config <file>', 'config file (default: pthnet.config.json in the current directory)');
  addConfigFlags(cmd, [...COMMON_FLAGS, ...flags]);
  cmd.showHelpAfterError('(run with --help for usage)');
  return cmd;
}

/** Loads and validates the config with the given flags applied; resolves the data directory. */
export function stageContext(cmd: Command, flags: readonly ConfigFlag[] = [], extra: readonly ConfigOverride[] = []): StageContext {
  const opts = cmd.opts<Record<string, unknown>>();
  const overrides = [...configOverrides(opts, [...COMMON_FLAGS, ...flags], cmd), ...extra];
  const configPath = typeof opts.config === 'string' ? opts.config : undefined;
  const config = loadConfig({ ...(configPath !== undefined ? { path: configPath } : {}), overrides });
  const dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(process.cwd(), config.dataDir);
  return { config, dataDir, manifest: manifestLocation(config, dataDir) };
}

/** See `StageContext.manifest`. */
export function manifestLocation(config: PipelineConfig, dataDir: string): string {
  const chosen = process.env[MANIFEST_ENV_VAR] || config.manifest;
  if (chosen === null || chosen === undefined) return resolve(dataDir, MANIFEST_FILE_NAME);
  return isPostgresLocation(chosen) ? chosen : resolve(process.cwd(), chosen);
}
