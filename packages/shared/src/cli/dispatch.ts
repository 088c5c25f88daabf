/**
 * Runs `pthnet <stage> [flags]` over a table of stages. The table is the caller's: the dispatcher
 * at the top of the workspace (`packages/cli`) passes every package's stages, a package's own
 * tests pass that package's, so this module knows no stage and imports no package above `shared`.
 */
import { PthnetError } from '../errors/index.js';
import type { StageEntry, StageModule } from './types.js';

export function defineStage(name: string, summary: string, load: () => Promise<StageModule>): StageEntry {
  return { name, summary, load };
}

export function stagesUsage(stages: readonly StageEntry[]): string {
  const width = Math.max(...stages.map((s) => s.name.length));
  return [
    'Usage: pnpm pthnet <stage> [flags]',
    '',
    'Stages:',
    ...stages.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`),
    '',
    'Run `pnpm pthnet <stage> --help` for the flags of a stage.',
  ].join('\n');
}

/** Runs `argv` (`<stage> [flags]`) against `stages`; resolves to the process exit code. */
export async function dispatch(stages: readonly StageEntry[], argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(stagesUsage(stages));
    return name === undefined ? 1 : 0;
  }
  const entry = stages.find((s) => s.name === name);
  if (!entry) {
    console.error(`pthnet: unknown stage "${name}"; expected one of ${stages.map((s) => s.name).join(', ')}\n\n${stagesUsage(stages)}`);
    return 2;
  }
  const cmd = (await entry.load()).command();
  cmd.name(`pthnet ${entry.name}`);
  cmd.exitOverride();
  // the code is this command's: a stage sets it (failed items, Ctrl-C), an earlier command in this process does not count
  process.exitCode = undefined;
  try {
    await cmd.parseAsync([...rest], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 2;
    if (err instanceof PthnetError) {
      console.error(`pthnet ${entry.name}: ${err.message}`);
      if (process.env.PTHNET_DEBUG && err.cause) console.error(err.cause);
      return 1;
    }
    throw err;
  }
}
