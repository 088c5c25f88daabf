import type { ParseArgsConfig } from 'node:util';
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors/index.js';

type BenchOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * A benchmark script's flags (`pnpm bench <name> [flags]`): `-h`/`--help` prints `usage` and exits;
 * the rest are parsed by `options` (an unknown flag is an error).
 */
export function benchFlags<O extends BenchOptions>(usage: string, options: O) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return parseArgs({ options }).values;
}

/** `--<flag> <n>` of a benchmark: a positive integer, or a `ConfigError` naming the flag. */
export function positiveIntegerFlag(flag: string, text: string): number {
  const n = Number(text);
  if (!(Number.isInteger(n) && n >= 1)) throw new ConfigError(`--${flag}: expected a positive integer, got "${text}"`);
  return n;
}
